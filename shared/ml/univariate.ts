import { IsolationForest } from "./isolation-forest.js";

/**
 * Causal streaming anomaly scorer for one univariate series (used by `npm run eval:nab`).
 * Each row becomes a small feature vector built from a sliding window of recent values; an
 * isolation forest trained on recent vectors scores it; the forest is refitted every
 * `retrainEvery` rows on the last `trainingRows` vectors. A row's score uses only rows up to it.
 *
 * Score post-processing (documented in docs/ml.md): NAB rewards the first detection in a window
 * and charges every later one outside it, so after a row scores high, the following rows are
 * damped for `refractoryRows` unless they are even more anomalous.
 */

export interface UnivariateOptions {
  /** Rows of history in the short context (level and spread). */
  shortWindow: number;
  /** Rows of history in the long context (baseline level and spread). */
  longWindow: number;
  trainingRows: number;
  retrainEvery: number;
  /** No score (0) before this many rows. */
  minRows: number;
  trees: number;
  sampleSize: number;
  seed: number;
  refractoryRows: number;
  /** Within a refractory period, a raw score must beat the alarm's by this much to stay high. */
  escapeMargin: number;
  /** A damped score at or above this opens a new refractory period. */
  alarmLevel: number;
  /** Smooth raw scores into an anomaly likelihood (Numenta-style) before the refractory step. */
  likelihoodShort: number;
  likelihoodLong: number;
}

export const DEFAULT_UNIVARIATE: UnivariateOptions = {
  shortWindow: 12,
  longWindow: 2000,
  trainingRows: 2000,
  retrainEvery: 288,
  minRows: 300,
  trees: 100,
  sampleSize: 256,
  seed: 1,
  refractoryRows: 100,
  escapeMargin: 0.05,
  alarmLevel: 0.6,
  likelihoodShort: 0,
  likelihoodLong: 1000,
};

export const UNIVARIATE_FEATURES = ["level_z", "short_mean_z", "step_z", "short_spread_ratio"] as const;
const N_FEATURES = UNIVARIATE_FEATURES.length;

export class UnivariateScorer {
  private readonly values: number[] = [];
  private readonly features: number[] = [];
  private forest: IsolationForest | null = null;
  private rowsSinceFit = 0;
  private lastAlarmRow = Number.NEGATIVE_INFINITY;
  private lastAlarmScore = 0;
  private readonly row = new Float64Array(N_FEATURES);

  constructor(private readonly options: UnivariateOptions = DEFAULT_UNIVARIATE) {}

  /** Score of the newest value, in [0, 1]. */
  next(value: number): number {
    const o = this.options;
    const x = Number.isFinite(value) ? value : (this.values[this.values.length - 1] ?? 0);
    this.values.push(x);
    if (this.values.length > o.longWindow + 1) this.values.shift();
    const n = this.values.length;
    if (n < o.shortWindow + 2) return 0;
    const history = this.values.slice(0, n - 1);
    const sorted = history.slice().sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)] as number;
    const deviations = sorted.map((v) => Math.abs(v - median)).sort((a, b) => a - b);
    const mad = deviations[Math.floor(deviations.length / 2)] as number;
    const range = (sorted[sorted.length - 1] as number) - (sorted[0] as number);
    const scale = Math.max(1.4826 * mad, range * 0.01, 1e-9);
    const recent = this.values.slice(n - o.shortWindow);
    const shortMean = recent.reduce((a, b) => a + b, 0) / recent.length;
    const shortSpread = Math.sqrt(recent.reduce((a, b) => a + (b - shortMean) ** 2, 0) / recent.length);
    const previous = this.values[n - 2] as number;
    this.row[0] = (x - median) / scale;
    this.row[1] = (shortMean - median) / scale;
    this.row[2] = (x - previous) / scale;
    this.row[3] = shortSpread / scale;
    for (let f = 0; f < N_FEATURES; f++) this.features.push(this.row[f] as number);
    if (this.features.length > o.trainingRows * N_FEATURES) this.features.splice(0, N_FEATURES);

    const rowIndex = this.rowsSeen++;
    let raw = 0;
    if (this.forest) raw = this.forest.score(this.row);
    this.rowsSinceFit++;
    if (rowIndex + 1 >= o.minRows && (this.forest === null || this.rowsSinceFit >= o.retrainEvery)) {
      this.forest = IsolationForest.fit(Float64Array.from(this.features), N_FEATURES, {
        trees: o.trees,
        sampleSize: o.sampleSize,
        seed: o.seed + this.fits++,
        extrapolate: true,
      });
      this.rowsSinceFit = 0;
    }
    if (raw === 0) return 0;
    if (o.likelihoodShort > 0) raw = this.likelihood(raw);
    // Refractory damping: within refractoryRows of an alarm only a stronger score stays high.
    const since = rowIndex - this.lastAlarmRow;
    let score = raw;
    const escapes = raw > this.lastAlarmScore + o.escapeMargin;
    if (since < o.refractoryRows && !escapes) score = raw * (since / o.refractoryRows);
    if (score >= o.alarmLevel && (since >= o.refractoryRows || escapes)) {
      this.lastAlarmRow = rowIndex;
      this.lastAlarmScore = raw;
    }
    return score;
  }

  private readonly rawHistory: number[] = [];

  /**
   * How unusual the recent mean raw score is against the long-run raw scores: the normal CDF of
   * its z-score. Sustained oddities rise, single noisy rows fade.
   */
  private likelihood(raw: number): number {
    const o = this.options;
    const history = this.rawHistory;
    history.push(raw);
    if (history.length > o.likelihoodLong) history.shift();
    if (history.length < Math.max(o.likelihoodShort * 2, 50)) return 0;
    let mean = 0;
    for (const v of history) mean += v;
    mean /= history.length;
    let variance = 0;
    for (const v of history) variance += (v - mean) ** 2;
    const sd = Math.max(Math.sqrt(variance / history.length), 1e-6);
    let shortMean = 0;
    for (let i = history.length - o.likelihoodShort; i < history.length; i++)
      shortMean += history[i] as number;
    shortMean /= o.likelihoodShort;
    return normalCdf((shortMean - mean) / sd);
  }

  private rowsSeen = 0;
  private fits = 0;
}

/** Standard normal CDF (Abramowitz-Stegun 7.1.26 via erf), accurate to ~1e-7. */
function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}
