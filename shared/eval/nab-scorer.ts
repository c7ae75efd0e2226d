import { InputError } from "../errors.js";
/**
 * The Numenta Anomaly Benchmark scorer, from the benchmark's own definition (../shared/README.md
 * in the kit): probation, labelled windows, sigmoid-weighted early detection, false positives
 * weighted by their distance after the previous window, three cost profiles, one threshold per
 * profile optimised over all files, and normalisation against the perfect and the null detector.
 * Pure: callers read the files and pass rows in.
 */

export interface NabProfile {
  name: "standard" | "reward_low_FP_rate" | "reward_low_FN_rate";
  tp: number;
  fn: number;
  fp: number;
}

export const NAB_PROFILES: readonly NabProfile[] = [
  { name: "standard", tp: 1, fn: 1, fp: 0.11 },
  { name: "reward_low_FP_rate", tp: 1, fn: 1, fp: 0.22 },
  { name: "reward_low_FN_rate", tp: 1, fn: 2, fp: 0.11 },
];

/** One scored series: row timestamps in file order, the detector's scores, and its label windows. */
export interface NabSeries {
  name: string;
  timestamps: readonly string[];
  scores: ArrayLike<number>;
  /** [start, end] timestamps, inclusive, in time order. */
  windows: readonly (readonly [string, string])[];
}

/** NAB's scaled sigmoid: 2 / (1 + e^(5y)) - 1, and -1 beyond y = 3. */
export function scaledSigmoid(y: number): number {
  if (y > 3) return -1;
  return 2 / (1 + Math.exp(5 * y)) - 1;
}

/** Rows not scored at the start of a file of n rows. */
export function probationRows(n: number): number {
  return Math.min(Math.floor(0.15 * n), 750);
}

/** NAB writes "2014-02-26 13:45:00.000000"; data files omit the fraction. */
export function normaliseTimestamp(text: string): string {
  return text.trim().replace("T", " ").replace(/\.0+$/, "");
}

/**
 * Per-row scoring facts that do not depend on the threshold. For a row inside window w,
 * `window[i] = w` and `weight[i]` is its true-positive weight sigma(-(R-i+1)/W) / sigma(-1)
 * (1 at the left edge, near 0 at the right). Outside windows, `window[i] = -1` and `weight[i]`
 * is the unweighted false-positive value in [-1, 0]: -1 before the first window, otherwise
 * sigma(|R_prev - i| / (W_prev - 1)), close to 0 just after a window and -1 far from it.
 */
export interface PreparedSeries {
  name: string;
  scores: Float64Array;
  window: Int32Array;
  weight: Float64Array;
  windowCount: number;
  probation: number;
}

export function prepareSeries(series: NabSeries): PreparedSeries {
  const n = series.timestamps.length;
  if (series.scores.length !== n) {
    throw new InputError(`${series.name}: ${series.scores.length} scores for ${n} rows`);
  }
  const times = series.timestamps.map(normaliseTimestamp);
  const window = new Int32Array(n).fill(-1);
  const weight = new Float64Array(n);
  const bounds: { first: number; last: number }[] = [];
  series.windows.forEach(([startText, endText], w) => {
    const start = normaliseTimestamp(startText);
    const end = normaliseTimestamp(endText);
    if (!(start <= end)) throw new InputError(`${series.name}: window ${w} ends before it starts`);
    let first = -1;
    let last = -1;
    for (let i = 0; i < n; i++) {
      const t = times[i] as string;
      if (t >= start && t <= end) {
        if (first < 0) first = i;
        last = i;
        window[i] = w;
      }
    }
    if (first < 0) throw new InputError(`${series.name}: window ${start}..${end} holds no rows`);
    bounds.push({ first, last });
  });
  const tpNorm = scaledSigmoid(-1);
  let previous: { first: number; last: number } | null = null;
  let next = 0;
  for (let i = 0; i < n; i++) {
    const w = window[i] as number;
    if (w >= 0) {
      const bound = bounds[w] as { first: number; last: number };
      const width = bound.last - bound.first + 1;
      weight[i] = scaledSigmoid(-(bound.last - i + 1) / width) / tpNorm;
      previous = bound;
      next = w + 1;
      continue;
    }
    while (next < bounds.length && (bounds[next]?.last ?? n) < i) previous = bounds[next++] ?? previous;
    if (previous === null) {
      weight[i] = -1;
    } else {
      const width = previous.last - previous.first + 1;
      // A one-row window would divide by zero; NAB's windows are far wider, treat it as width 2.
      weight[i] = scaledSigmoid(Math.abs(previous.last - i) / Math.max(1, width - 1));
    }
  }
  const scores = Float64Array.from(series.scores, (s) => (Number.isFinite(s) ? s : 0));
  return {
    name: series.name,
    scores,
    window,
    weight,
    windowCount: bounds.length,
    probation: probationRows(n),
  };
}

export interface NabResult {
  profile: NabProfile["name"];
  threshold: number;
  raw: number;
  normalised: number;
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
}

function totalWindows(series: readonly PreparedSeries[]): number {
  return series.reduce((sum, s) => sum + s.windowCount, 0);
}

export function normalise(raw: number, windows: number, profile: NabProfile): number {
  const perfect = profile.tp * windows;
  const nothing = -profile.fn * windows;
  if (perfect === nothing) return 0;
  return (100 * (raw - nothing)) / (perfect - nothing);
}

/** Raw NAB score of all series at one threshold (a row detects when its score >= threshold). */
export function scoreAtThreshold(
  series: readonly PreparedSeries[],
  profile: NabProfile,
  threshold: number,
): NabResult {
  let raw = 0;
  let truePositives = 0;
  let falsePositives = 0;
  let falseNegatives = 0;
  for (const s of series) {
    const best = new Float64Array(s.windowCount).fill(Number.NEGATIVE_INFINITY);
    for (let i = s.probation; i < s.scores.length; i++) {
      if (!((s.scores[i] as number) >= threshold)) continue;
      const w = s.window[i] as number;
      if (w >= 0) best[w] = Math.max(best[w] as number, s.weight[i] as number);
      else {
        raw += profile.fp * (s.weight[i] as number);
        falsePositives++;
      }
    }
    for (const b of best) {
      if (b === Number.NEGATIVE_INFINITY) {
        raw -= profile.fn;
        falseNegatives++;
      } else {
        raw += profile.tp * b;
        truePositives++;
      }
    }
  }
  const normalised = normalise(raw, totalWindows(series), profile);
  return { profile: profile.name, threshold, raw, normalised, truePositives, falsePositives, falseNegatives };
}

/**
 * The threshold that maximises the summed raw score over all series, found in one sweep: rows
 * sorted by score, descending, are admitted one distinct score at a time while the total is
 * updated incrementally (a window's value changes only when a better detection joins it).
 */
export function optimiseThreshold(series: readonly PreparedSeries[], profile: NabProfile): NabResult {
  const entries: { score: number; series: number; row: number }[] = [];
  series.forEach((s, si) => {
    for (let i = s.probation; i < s.scores.length; i++)
      entries.push({ score: s.scores[i] as number, series: si, row: i });
  });
  entries.sort((a, b) => b.score - a.score);
  const windowOffset: number[] = [];
  let offset = 0;
  for (const s of series) {
    windowOffset.push(offset);
    offset += s.windowCount;
  }
  const best = new Float64Array(offset).fill(Number.NEGATIVE_INFINITY);
  let raw = -profile.fn * offset;
  // Above every score nothing is detected: the null detector.
  let bestRaw = raw;
  let bestThreshold = entries.length > 0 ? (entries[0]?.score ?? 0) + 1 : 1;
  for (let k = 0; k < entries.length; ) {
    const score = (entries[k] as { score: number }).score;
    while (k < entries.length && (entries[k] as { score: number }).score === score) {
      const entry = entries[k] as { series: number; row: number };
      const s = series[entry.series] as PreparedSeries;
      const w = s.window[entry.row] as number;
      const value = s.weight[entry.row] as number;
      if (w < 0) raw += profile.fp * value;
      else {
        const slot = (windowOffset[entry.series] as number) + w;
        const previous = best[slot] as number;
        if (value > previous) {
          raw +=
            profile.tp * value -
            (previous === Number.NEGATIVE_INFINITY ? -profile.fn : profile.tp * previous);
          best[slot] = value;
        }
      }
      k++;
    }
    if (raw > bestRaw + 1e-12) {
      bestRaw = raw;
      bestThreshold = score;
    }
  }
  return scoreAtThreshold(series, profile, bestThreshold);
}

export interface HeldOutResult {
  profile: NabProfile["name"];
  /** Normalised score summed over the held-out files, each scored with what the others chose. */
  normalised: number;
  /** Per held-out file: the candidate and threshold chosen on the other files. */
  folds: { name: string; candidate: number; threshold: number; raw: number }[];
}

/**
 * Leave-one-file-out: for each file, the candidate configuration and threshold that maximise the
 * raw score on every other file are applied to the held-out file; the held-out raw scores are summed
 * and normalised. `candidates[c][f]` is file f scored by candidate c (same files, same order).
 * A figure no file's own labels helped choose, unlike optimiseThreshold over all files.
 */
export function leaveOneFileOut(
  candidates: readonly (readonly PreparedSeries[])[],
  profile: NabProfile,
): HeldOutResult {
  const files = candidates[0]?.length ?? 0;
  if (files < 2 || candidates.some((c) => c.length !== files)) {
    throw new InputError(`leave-one-file-out needs at least 2 files scored by every candidate`);
  }
  let raw = 0;
  let windows = 0;
  const folds: HeldOutResult["folds"] = [];
  for (let f = 0; f < files; f++) {
    let best = { candidate: 0, threshold: 1, raw: Number.NEGATIVE_INFINITY };
    candidates.forEach((series, c) => {
      const chosen = optimiseThreshold(
        series.filter((_, i) => i !== f),
        profile,
      );
      if (chosen.raw > best.raw) best = { candidate: c, threshold: chosen.threshold, raw: chosen.raw };
    });
    const held = (candidates[best.candidate] as readonly PreparedSeries[])[f] as PreparedSeries;
    const result = scoreAtThreshold([held], profile, best.threshold);
    raw += result.raw;
    windows += held.windowCount;
    folds.push({ name: held.name, candidate: best.candidate, threshold: best.threshold, raw: result.raw });
  }
  return { profile: profile.name, normalised: normalise(raw, windows, profile), folds };
}
