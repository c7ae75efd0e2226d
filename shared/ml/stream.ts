/**
 * The streaming detector core: one numeric series in, one anomaly score per row out. It is what
 * `npm run eval:nab` runs on a metric, and what the per-service ML detector runs on each of a
 * service's window features (shared/ml/detector.ts). Causal: a row's score uses only rows up to
 * and including it (tests/unit/ml/stream.test.ts changes later rows and checks earlier scores).
 *
 * Per row it measures, in robust standard deviations of the recent past (rows before this one):
 *   - spike:    the value against the baseline median;
 *   - level:    the mean of the last `shortRows` values against the baseline (a level shift);
 *   - drift:    the mean of the last `driftRows` values against the baseline (a slow move);
 *   - variance: the spread of the last `shortRows` values against their usual spread (log ratio);
 *   - seasonal: when autocorrelation finds a period, the value against the same phase of the
 *               previous periods (a broken pattern);
 *   - seasonal_level: the mean of the last `shortRows` of those seasonal residuals (a shift on a
 *               seasonal series, which the overall median cannot see for the daily swing).
 * Each measure is divided by its own limit (how many deviations count as "surely anomalous"), the
 * largest is the row's strength, and `strength / (strength + 1)` is the raw score in [0, 1): 0.5
 * means the strongest measure sits exactly at its limit.
 *
 * Suppression after a detection (after ARTime): once the raw score passes `alarmScore`, the
 * following `refractoryRows` rows are damped unless they beat the alarm's strength by
 * `escapeFactor`, so one incident reports once and a worse one still gets through. Any row whose
 * score (damped or not) reaches `alarmScore` is an alarm and restarts the period.
 *
 * The baseline (median, scale, usual spread) is refreshed every `refreshEvery` rows from the last
 * `historyRows` values; between refreshes a row is compared against a baseline built from rows
 * strictly before it, which keeps the detector causal and cheap (a sort every few rows).
 */

import { InputError } from "../errors.js";

export const ANOMALY_KINDS = ["spike", "level", "drift", "variance", "seasonal", "seasonal_level"] as const;
export type AnomalyKind = (typeof ANOMALY_KINDS)[number];
const KIND_COUNT = ANOMALY_KINDS.length;

export interface StreamOptions {
  /** Values kept for the baseline (median, scale, seasonal profile). */
  historyRows: number;
  /** Rows in the short context (level and variance). */
  shortRows: number;
  /** Rows in the drift context. */
  driftRows: number;
  /** No score (0) before this many rows. */
  minRows: number;
  /** Baseline refreshed every this many rows. */
  refreshEvery: number;
  /**
   * Per kind (spike, level, drift, variance, seasonal, seasonal_level): how many times its usual extreme (the
   * `tailQuantile` of its own recent history) a measure must reach to count as anomalous.
   */
  limits: readonly number[];
  tailQuantile: number;
  /** Smallest scale assumed, absolute and relative to |median| (a flat series is not infinitely sensitive). */
  scaleFloor: number;
  scaleFloorRelative: number;
  /** Candidate seasonal periods in rows (0 = none); the one with the highest autocorrelation above `seasonMinCorrelation` wins. */
  periods: readonly number[];
  seasonMinCorrelation: number;
  /**
   * Recurring events: a spike, level or drift measure is reduced by the smallest, over the last
   * `recurrenceCycles` candidate periods, of the largest same measure within `recurrenceSlack` rows
   * of the same phase (a nightly job starts at 03:10 one day and 04:30 another). A job that spikes
   * every day at 02:00 stops alarming on its third day. 0 cycles turns it off.
   */
  recurrenceCycles: number;
  recurrenceSlack: number;
  /**
   * A spike is reduced by this many times its recurring part: a daily peak varies in height from
   * day to day (10-20% on the NAB CPU series), so a peak only a little above yesterday's is still
   * the same job, while one twice the usual daily peak still alarms.
   */
  recurrenceSpikeMargin: number;
  /** Rows after an alarm during which scores are damped. */
  refractoryRows: number;
  /** A raw score at or above this opens a refractory period. */
  alarmScore: number;
  /** Within a refractory period, a row whose strength is this many times the alarm's still scores in full. */
  escapeFactor: number;
}

/**
 * The default configuration, one for every series. Chosen among STREAM_CANDIDATES by NAB's standard
 * profile on the kit's 17 files; the held-out figure (leave-one-file-out over the candidates) is
 * in docs/ml.md and printed by `npm run eval:nab`.
 */
export const DEFAULT_STREAM: StreamOptions = {
  historyRows: 2000,
  shortRows: 12,
  driftRows: 48,
  minRows: 60,
  refreshEvery: 12,
  limits: [1.5, 1, 1, 3, 1.5, 1.5],
  tailQuantile: 0.99,
  scaleFloor: 1e-6,
  scaleFloorRelative: 0.001,
  periods: [288],
  seasonMinCorrelation: 0.6,
  recurrenceCycles: 2,
  recurrenceSlack: 24,
  recurrenceSpikeMargin: 1.5,
  refractoryRows: 200,
  alarmScore: 0.5,
  escapeFactor: 2,
};

/**
 * The small grid the held-out protocol chooses from: how far from the same phase a recurring event
 * may fall (30 minutes or 2 hours at 5-minute rows), and two sensitivities.
 */
export const STREAM_CANDIDATES: readonly { name: string; options: StreamOptions }[] = [6, 24].flatMap(
  (recurrenceSlack) =>
    [1, 4 / 3].map((factor) => ({
      name: `recurrence slack ${recurrenceSlack}, limits x${factor.toFixed(2)}`,
      options: {
        ...DEFAULT_STREAM,
        recurrenceSlack,
        limits: DEFAULT_STREAM.limits.map((l, k) => (k === 3 ? l : l * factor)),
      },
    })),
);

/** Linear-interpolated quantile of a sorted array. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return 0;
  const pos = (n - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (pos - lo);
}

/**
 * The same value as quantileSorted on the sorted array, found in O(n) on average by selection
 * (quickselect, median-of-three pivot, three-way partition); reorders `values` in place. A refresh needs a few
 * quantiles of a few thousand numbers, and sorting them was most of the core's time.
 */
export function quantileSelect(values: Float64Array, q: number): number {
  const n = values.length;
  if (n === 0) return 0;
  const pos = (n - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const a = select(values, lo);
  if (pos === lo || lo + 1 >= n) return a;
  // After selecting lo, everything right of it is >= it: the next order statistic is their minimum.
  let b = Number.POSITIVE_INFINITY;
  for (let i = lo + 1; i < n; i++) if ((values[i] as number) < b) b = values[i] as number;
  return a + (b - a) * (pos - lo);
}

function select(values: Float64Array, k: number): number {
  let left = 0;
  let right = values.length - 1;
  while (right > left) {
    const x = values[left] as number;
    const y = values[(left + right) >>> 1] as number;
    const z = values[right] as number;
    // Median of three as the pivot.
    const pivot = Math.max(Math.min(x, y), Math.min(Math.max(x, y), z));
    // Three-way partition (less, equal, greater): runs of equal values (a feature that is
    // usually 0) end in one step instead of one element per step.
    let lt = left;
    let gt = right;
    let i = left;
    while (i <= gt) {
      const v = values[i] as number;
      if (v < pivot) {
        values[i] = values[lt] as number;
        values[lt] = v;
        lt++;
        i++;
      } else if (v > pivot) {
        values[i] = values[gt] as number;
        values[gt] = v;
        gt--;
      } else {
        i++;
      }
    }
    if (k < lt) right = lt - 1;
    else if (k > gt) left = gt + 1;
    else return pivot;
  }
  return values[k] as number;
}

/** A fixed-capacity ring of numbers, oldest first by `at(0)`. */
class Ring {
  readonly data: Float64Array;
  private start = 0;
  length = 0;
  /** Whether the last push dropped the oldest value, and that value: what undoPush() puts back. */
  private dropped = false;
  private droppedValue = 0;
  /** `data`, when given, is the ring's storage (at least `capacity` long, e.g. a slice of a shared buffer). */
  constructor(
    readonly capacity: number,
    data?: Float64Array,
  ) {
    this.data = data ?? new Float64Array(Math.max(1, capacity));
  }
  push(value: number): void {
    if (this.length < this.capacity) {
      this.data[(this.start + this.length) % this.capacity] = value;
      this.length++;
      this.dropped = false;
    } else {
      this.dropped = true;
      this.droppedValue = this.data[this.start] as number;
      this.data[this.start] = value;
      this.start = (this.start + 1) % this.capacity;
    }
  }
  /** Takes back the last push (once: the ring remembers one dropped value). */
  undoPush(): void {
    if (!this.dropped) {
      this.length--;
      return;
    }
    this.start = (this.start - 1 + this.capacity) % this.capacity;
    this.data[this.start] = this.droppedValue;
    this.dropped = false;
  }
  /** The values oldest first. */
  toArray(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.length; i++) out.push(this.at(i));
    return out;
  }
  /** Empties the ring and pushes `values` (oldest first; only the newest `capacity` are kept). */
  load(values: readonly number[]): void {
    this.start = 0;
    this.length = 0;
    for (const v of values) this.push(v);
    this.dropped = false;
  }
  /** i = 0 is the oldest; i = length - 1 the newest. */
  at(i: number): number {
    return this.data[(this.start + i) % this.capacity] as number;
  }
  /** The value `back` rows before the newest (0 = newest). */
  back(back: number): number {
    return this.at(this.length - 1 - back);
  }
  /**
   * back(0) + back(1) + ... + back(count - 1), added in that order, or with `mean` the same sum of
   * (back(i) - mean) ** 2: the short and drift contexts of every row, walked without a modulo per
   * value (a service's restore replays 149 rows per feature).
   */
  sumBack(count: number, mean?: number): number {
    const data = this.data;
    const last = this.capacity - 1;
    let at = (this.start + this.length - 1) % this.capacity;
    let sum = 0;
    if (mean === undefined) {
      for (let i = 0; i < count; i++) {
        sum += data[at] as number;
        at = at === 0 ? last : at - 1;
      }
    } else {
      for (let i = 0; i < count; i++) {
        sum += ((data[at] as number) - mean) ** 2;
        at = at === 0 ? last : at - 1;
      }
    }
    return sum;
  }
  copyTo(out: Float64Array): number {
    for (let i = 0; i < this.length; i++) out[i] = this.at(i);
    return this.length;
  }
}

export interface StreamScore {
  /** Score after suppression, in [0, 1). */
  score: number;
  /** Score before suppression. */
  raw: number;
  /** The measure that drove the score. */
  kind: AnomalyKind;
  /** That measure, in robust standard deviations (variance: log ratio of spreads). */
  deviation: number;
  /** Baseline median and scale the row was measured against. */
  median: number;
  scale: number;
}

/**
 * A StreamDetector's state as plain JSON-safe data (see StreamDetector.toState), for a detector
 * without seasonal periods. It holds the values but none of the rings derived from them: the
 * measures and spreads are recomputed from the values and the baselines they were measured
 * against, which is what lets the per-service detector store a service's history as rows it
 * mostly already stores (shared/ml/feature-streams.ts). `tails` null stands for "no usual
 * extreme yet" (infinite), `sinceRefresh` null for "never refreshed", `lastAlarmRow` null for
 * "no alarm yet".
 */
export interface StreamState {
  /** The last values kept, oldest first: min(rows, the values ring's capacity) of them. */
  values: number[];
  /**
   * [first row, median, usual spread] of each baseline the measures still in the rings were
   * taken against, oldest first; the last is the current one.
   */
  baselines: [number, number, number][];
  tails: (number | null)[];
  rows: number;
  sinceRefresh: number | null;
  scale: number;
  lastAlarmRow: number | null;
  lastAlarmStrength: number;
}

/**
 * Values a detector keeps. Without a period, also the rows the oldest kept measures were taken
 * over (the short and drift contexts before them): fromState() rebuilds the measure rings from
 * the values.
 */
export function valueCapacity(options: StreamOptions): number {
  const longestPeriod = Math.max(0, ...options.periods);
  const lead = longestPeriod > 0 ? 0 : Math.max(options.driftRows, options.shortRows) - 1;
  return Math.max(options.historyRows + lead, 3 * longestPeriod + 1, options.driftRows + 1);
}

interface Baseline {
  row: number;
  median: number;
  usualSpread: number;
}

/** Bit per ring in StreamDetector's record of what the last next() pushed (see forget()). */
const PUSHED_VALUES = 1;
const PUSHED_SPREADS = 2;
const PUSHED_RESIDUALS = 4;
const PUSHED_MEASURE = 8;

export class StreamDetector {
  private readonly values: Ring;
  private readonly spreads: Ring;
  /** Each kind's recent measures (unsigned), for its usual extreme. */
  private measures: Ring[];
  private readonly tails = new Float64Array(KIND_COUNT).fill(Number.POSITIVE_INFINITY);
  private readonly work: Float64Array;
  private rows = 0;
  private sinceRefresh = Number.POSITIVE_INFINITY;
  private median = 0;
  private scale = 1;
  private usualSpread = 1;
  private period = 0;
  private lastAlarmRow = Number.NEGATIVE_INFINITY;
  private lastAlarmStrength = 0;
  private lastValue = 0;
  private readonly measure = new Float64Array(KIND_COUNT);
  /** Recent seasonal residuals (value minus the same phase of earlier periods), signed. */
  private residuals: Ring;
  private readonly strength = new Float64Array(KIND_COUNT);
  /**
   * The baselines the measures in the rings were taken against, oldest first, each with the row
   * (index among kept rows) it applies from; the last is the current one (see StreamState).
   */
  private baselines: Baseline[] = [{ row: 0, median: 0, usualSpread: 1 }];
  /** What the last next() changed, for forget(): the rings it pushed to and the counters before it. */
  private pushed = 0;
  private readonly before = { rows: 0, sinceRefresh: 0, lastValue: 0, lastAlarmRow: 0, lastAlarmStrength: 0 };

  /** The largest candidate period (0: none, no seasonality to look for). */
  private readonly longestPeriod: number;

  constructor(readonly options: StreamOptions = DEFAULT_STREAM) {
    const longestPeriod = Math.max(0, ...options.periods);
    this.longestPeriod = longestPeriod;
    // Every ring is a slice of one buffer: the per-service ML detector holds six of these per
    // service, and a thousand services' worth of separate typed arrays (sixty each) was external
    // memory the collector answered with full collections inside single events. Without a
    // candidate period the seasonal rings are never written and get one slot.
    const valueRows = valueCapacity(options);
    const seasonalRows = longestPeriod > 0 ? options.historyRows : 1;
    const residualRows = longestPeriod > 0 ? options.shortRows : 1;
    const sizes = [
      valueRows,
      options.historyRows,
      ...ANOMALY_KINDS.map((_, k) => (k < 4 ? options.historyRows : seasonalRows)),
    ];
    const storage = new Float64Array(
      sizes.reduce((sum, n) => sum + Math.max(1, n), 0) + residualRows + valueRows,
    );
    let used = 0;
    const take = (rows: number): Float64Array => {
      const slice = storage.subarray(used, used + Math.max(1, rows));
      used += Math.max(1, rows);
      return slice;
    };
    this.values = new Ring(valueRows, take(valueRows));
    this.spreads = new Ring(options.historyRows, take(options.historyRows));
    this.measures = sizes.slice(2).map((rows) => new Ring(rows, take(rows)));
    this.residuals = new Ring(residualRows, take(residualRows));
    this.work = take(valueRows);
  }

  /** Rows seen so far. */
  get seen(): number {
    return this.rows;
  }

  /** Scores the next value. A non-finite value repeats the last one (counted by the caller). */
  next(input: number): StreamScore {
    const o = this.options;
    const x = Number.isFinite(input) ? input : this.lastValue;
    // From the second row on: a measure taken against no baseline (median 0) would sit in the
    // history of usual extremes for historyRows rows.
    if (this.rows >= 1 && this.sinceRefresh >= o.refreshEvery) this.refresh();
    const before = this.before;
    before.rows = this.rows;
    before.sinceRefresh = this.sinceRefresh;
    before.lastValue = this.lastValue;
    before.lastAlarmRow = this.lastAlarmRow;
    before.lastAlarmStrength = this.lastAlarmStrength;
    this.pushed = PUSHED_VALUES;
    this.lastValue = x;
    this.values.push(x);
    this.rows++;
    this.sinceRefresh++;
    const n = this.values.length;

    const m = this.measure;
    const floor = this.floor();
    const shortSpread = this.measureRow(x, n, floor);
    const seasonalReady = this.period > 0 && n > 3 * this.period;
    m[4] = 0;
    m[5] = 0;
    if (seasonalReady) {
      const residual = x - this.seasonalExpected(0);
      this.residuals.push(residual);
      this.pushed |= PUSHED_RESIDUALS;
      m[4] = Math.abs(residual);
      const count = Math.min(o.shortRows, this.residuals.length);
      let sum = 0;
      for (let i = 0; i < count; i++) sum += this.residuals.back(i);
      m[5] = Math.abs(sum / count);
    }
    const recurring = this.recurringMeasures(m);
    const s = this.strength;
    for (let k = 0; k < KIND_COUNT; k++) {
      const usual = Math.max(this.tails[k] as number, k === 3 ? 0.05 : floor);
      const margin = k === 0 ? o.recurrenceSpikeMargin : 1;
      const measure =
        k < 3 ? Math.max(0, (m[k] as number) - margin * (recurring[k] as number)) : (m[k] as number);
      s[k] = measure / usual / (o.limits[k] as number);
    }
    const ready = this.rows > o.minRows;
    this.pushMeasures(n, seasonalReady, shortSpread);
    if (!ready)
      return { score: 0, raw: 0, kind: "spike", deviation: 0, median: this.median, scale: this.scale };

    let kind = 0;
    for (let k = 1; k < KIND_COUNT; k++) if ((s[k] as number) > (s[kind] as number)) kind = k;
    let strength = s[kind] as number;
    // A seasonal series moves far from its overall median every day: there a spike, level or
    // drift is only believed as far as the seasonal residual (or the spread) agrees.
    if (this.period > 0 && kind < 3 && n > 3 * this.period) {
      strength = Math.min(strength, Math.max(s[4] as number, s[5] as number, s[3] as number));
    }
    const raw = strength / (strength + 1);
    const since = this.rows - this.lastAlarmRow;
    let score = raw;
    const escapes = strength >= this.lastAlarmStrength * o.escapeFactor;
    if (since <= o.refractoryRows && !escapes) score = raw * (since / (o.refractoryRows + 1));
    // A damped row that still reaches the alarm level is a new alarm and restarts the period: the
    // damping fades linearly, and a change that stays strong (a level that stays shifted) would
    // otherwise report on every row near the end of the period.
    if (score >= o.alarmScore) {
      this.lastAlarmRow = this.rows;
      this.lastAlarmStrength = strength;
    }
    return {
      score,
      raw,
      kind: ANOMALY_KINDS[kind] as AnomalyKind,
      deviation: m[kind] as number,
      median: this.median,
      scale: this.scale,
    };
  }

  /** Smallest usual extreme assumed at the current baseline (see StreamOptions.scaleFloor). */
  private floor(): number {
    return Math.max(this.options.scaleFloor, this.options.scaleFloorRelative * Math.abs(this.median));
  }

  /**
   * The spike, level, drift and variance measures of the newest value `x` (already in the values
   * ring, which holds `n`) against the current baseline, into `measure`; returns the short spread.
   * next() and fromState()'s rebuild share it, so a rebuilt ring holds the very same numbers.
   */
  private measureRow(x: number, n: number, floor: number): number {
    const o = this.options;
    const short = Math.min(o.shortRows, n);
    const shortMean = this.values.sumBack(short) / short;
    const shortSpread = Math.sqrt(this.values.sumBack(short, shortMean) / short);
    const drift = Math.min(o.driftRows, n);
    const driftSum = this.values.sumBack(drift);
    const m = this.measure;
    m[0] = Math.abs(x - this.median);
    m[1] = Math.abs(shortMean - this.median);
    m[2] = Math.abs(driftSum / drift - this.median);
    m[3] = Math.abs(Math.log((shortSpread + floor) / (this.usualSpread + floor)));
    return shortSpread;
  }

  /** Pushes the row's measures and short spread to their rings (recorded for forget()). */
  private pushMeasures(n: number, seasonalReady: boolean, shortSpread: number): void {
    const o = this.options;
    for (let k = 0; k < KIND_COUNT; k++) {
      if (k === 3 && n < o.shortRows) continue;
      if (k >= 4 && !seasonalReady) continue;
      this.measures[k]?.push(this.measure[k] as number);
      this.pushed |= PUSHED_MEASURE << k;
    }
    if (n >= o.shortRows) {
      this.spreads.push(shortSpread);
      this.pushed |= PUSHED_SPREADS;
    }
  }

  /**
   * Takes back the row the last next() scored: the history continues as if that row never came,
   * while a baseline refresh that row triggered stays (it used only earlier rows). For a caller
   * that keeps an incident out of what "normal" looks like, as the per-service detector keeps
   * anomalous windows out of its training. Does nothing when called twice or before any row.
   */
  forget(): void {
    if (this.pushed === 0) return;
    if (this.pushed & PUSHED_VALUES) this.values.undoPush();
    if (this.pushed & PUSHED_SPREADS) this.spreads.undoPush();
    if (this.pushed & PUSHED_RESIDUALS) this.residuals.undoPush();
    for (let k = 0; k < KIND_COUNT; k++)
      if (this.pushed & (PUSHED_MEASURE << k)) this.measures[k]?.undoPush();
    this.pushed = 0;
    const before = this.before;
    this.rows = before.rows;
    this.sinceRefresh = before.sinceRefresh;
    this.lastValue = before.lastValue;
    this.lastAlarmRow = before.lastAlarmRow;
    this.lastAlarmStrength = before.lastAlarmStrength;
  }

  /**
   * The state as JSON-safe data: a detector built by fromState() on it scores the next rows
   * identically. Only for a detector without seasonal periods (the seasonal rings are not derived
   * from the values alone); throws InputError otherwise.
   */
  toState(): StreamState {
    if (this.longestPeriod > 0)
      throw new InputError("stream state is kept only for a detector without periods");
    const finiteOrNull = (v: number) => (Number.isFinite(v) ? v : null);
    return {
      values: this.values.toArray(),
      baselines: this.baselines.slice(this.firstBaselineInUse()).map((b) => [b.row, b.median, b.usualSpread]),
      tails: Array.from(this.tails, finiteOrNull),
      rows: this.rows,
      sinceRefresh: finiteOrNull(this.sinceRefresh),
      scale: this.scale,
      lastAlarmRow: finiteOrNull(this.lastAlarmRow),
      lastAlarmStrength: this.lastAlarmStrength,
    };
  }

  /**
   * A detector with `options` (without periods) continuing from `state`, as toState() wrote it:
   * the values are replayed against their recorded baselines to rebuild the measure and spread
   * rings. Checks every field and throws InputError naming the first bad one.
   */
  static fromState(options: StreamOptions, state: unknown): StreamDetector {
    const bad = (field: string): never => {
      throw new InputError(`stream state field ${field} is missing or invalid`);
    };
    if (options.periods.some((p) => p > 0)) bad("(options: periods)");
    if (typeof state !== "object" || state === null || Array.isArray(state)) bad("(root)");
    const record = state as Record<string, unknown>;
    const finiteNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
    const finite = (field: string): number => {
      const v = record[field];
      return finiteNumber(v) ? v : bad(field);
    };
    const finiteOr = (field: string, missing: number): number =>
      record[field] === null ? missing : finite(field);
    const detector = new StreamDetector(options);
    const rows = finite("rows");
    if (!Number.isInteger(rows) || rows < 0) bad("rows");
    const values = record.values;
    if (
      !Array.isArray(values) ||
      values.length !== Math.min(rows, detector.values.capacity) ||
      !values.every(finiteNumber)
    )
      bad("values");
    const baselines = record.baselines;
    if (!Array.isArray(baselines) || baselines.length === 0) bad("baselines");
    const parsed = (baselines as unknown[]).map((entry, i): Baseline => {
      const previous = i > 0 ? (baselines as [number][])[i - 1]?.[0] : -1;
      if (
        !Array.isArray(entry) ||
        entry.length !== 3 ||
        !entry.every(finiteNumber) ||
        !Number.isInteger(entry[0]) ||
        (entry[0] as number) <= (previous as number)
      )
        bad(`baselines[${i}]`);
      const [row, median, usualSpread] = entry as [number, number, number];
      return { row, median, usualSpread };
    });
    if (!Array.isArray(record.tails) || record.tails.length !== KIND_COUNT) bad("tails");
    (record.tails as unknown[]).forEach((t, k) => {
      if (t === null) detector.tails[k] = Number.POSITIVE_INFINITY;
      else if (finiteNumber(t)) detector.tails[k] = t;
      else bad(`tails[${k}]`);
    });
    // The rebuild: each value measured against the baseline of its row, as next() measured it. The
    // oldest values (the lead, before the measures the rings keep) only fill the short and drift
    // contexts: their own measures leave the rings before the end.
    const kept = values as number[];
    const firstRow = rows - kept.length;
    let b = 0;
    for (let i = 0; i < kept.length; i++) {
      while (b + 1 < parsed.length && (parsed[b + 1] as Baseline).row <= firstRow + i) b++;
      const baseline = parsed[b] as Baseline;
      detector.median = baseline.median;
      detector.usualSpread = baseline.usualSpread;
      const x = kept[i] as number;
      detector.values.push(x);
      const n = detector.values.length;
      detector.pushMeasures(n, false, detector.measureRow(x, n, detector.floor()));
    }
    detector.pushed = 0;
    detector.baselines = parsed;
    const current = parsed[parsed.length - 1] as Baseline;
    detector.median = current.median;
    detector.usualSpread = current.usualSpread;
    detector.rows = rows;
    detector.sinceRefresh = finiteOr("sinceRefresh", Number.POSITIVE_INFINITY);
    detector.scale = finite("scale");
    detector.lastAlarmRow = finiteOr("lastAlarmRow", Number.NEGATIVE_INFINITY);
    detector.lastAlarmStrength = finite("lastAlarmStrength");
    detector.lastValue = kept.length > 0 ? (kept[kept.length - 1] as number) : 0;
    return detector;
  }

  private readonly recurring = new Float64Array(3);

  /** Per kind (spike, level, drift): the part of this row's measure that recurs at the same phase of earlier periods. */
  private recurringMeasures(m: Float64Array): Float64Array {
    const o = this.options;
    const out = this.recurring;
    out.fill(0);
    if (o.recurrenceCycles <= 0) return out;
    for (let k = 0; k < 3; k++) {
      const ring = this.measures[k] as Ring;
      let bestPeriod = 0;
      for (const p of o.periods) {
        // The ring holds measures of earlier rows: back(0) is the previous row's.
        if (p <= 0 || ring.length < o.recurrenceCycles * p + o.recurrenceSlack) continue;
        let smallest = Number.POSITIVE_INFINITY;
        for (let c = 1; c <= o.recurrenceCycles; c++) {
          let largest = 0;
          for (let d = -o.recurrenceSlack; d <= o.recurrenceSlack; d++) {
            const value = ring.back(c * p - 1 + d);
            if (value > largest) largest = value;
          }
          if (largest < smallest) smallest = largest;
        }
        if (smallest > bestPeriod) bestPeriod = smallest;
      }
      out[k] = Math.min(bestPeriod, m[k] as number);
    }
    return out;
  }

  /** Median of the same phase over the previous three periods (`back` rows before the newest). */
  private seasonalExpected(back: number): number {
    const p = this.period;
    const a = this.values.back(back + p);
    const b = this.values.back(back + 2 * p);
    const c = this.values.back(back + 3 * p);
    return Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
  }

  private refresh(): void {
    const o = this.options;
    this.sinceRefresh = 0;
    const total = this.values.length;
    const used = Math.min(total, o.historyRows);
    const window = this.work.subarray(0, used);
    for (let i = 0; i < used; i++) window[i] = this.values.at(total - used + i);
    const median = quantileSelect(window, 0.5);
    for (let i = 0; i < used; i++) window[i] = Math.abs((window[i] as number) - median);
    this.median = median;
    this.scale = Math.max(1.4826 * quantileSelect(window, 0.5), o.scaleFloor);
    if (this.spreads.length > 0) this.usualSpread = this.medianOf(this.spreads);
    this.recordBaseline();
    for (let k = 0; k < KIND_COUNT; k++) {
      const ring = this.measures[k] as Ring;
      if (ring.length < 10) continue;
      const c = ring.copyTo(this.work);
      const measures = this.work.subarray(0, c);
      this.tails[k] = quantileSelect(measures, o.tailQuantile);
    }
    // Seasonality: re-chosen about once a period, by autocorrelation at each candidate lag. Without
    // a candidate there is nothing to choose (the per-feature streams of the ML detector).
    if (this.longestPeriod > 0 && this.rows % this.longestPeriod < o.refreshEvery) this.choosePeriod();
  }

  /**
   * Notes the baseline a refresh set, from the row being scored on. Only a detector without
   * periods keeps state (toState).
   */
  private recordBaseline(): void {
    if (this.longestPeriod > 0) return;
    const baselines = this.baselines;
    baselines.splice(0, this.firstBaselineInUse());
    const last = baselines[baselines.length - 1] as Baseline;
    // A second refresh at the same row (never in practice) replaces the first.
    if (last.row === this.rows) baselines.pop();
    baselines.push({ row: this.rows, median: this.median, usualSpread: this.usualSpread });
  }

  /**
   * Index of the oldest baseline a measure in the rings was taken against: the one in effect at
   * the oldest measured row. Those before it are unused (a forget() brings back at most one row,
   * which a refresh's own row count already covers).
   */
  private firstBaselineInUse(): number {
    const oldestMeasured = this.rows - this.options.historyRows;
    let first = 0;
    while (first + 1 < this.baselines.length && (this.baselines[first + 1] as Baseline).row <= oldestMeasured)
      first++;
    return first;
  }

  private medianOf(ring: Ring): number {
    const c = ring.copyTo(this.work);
    const s = this.work.subarray(0, c);
    return quantileSelect(s, 0.5);
  }

  private choosePeriod(): void {
    const o = this.options;
    const n = this.values.length;
    let best = 0;
    let bestCorrelation = o.seasonMinCorrelation;
    let mean = 0;
    for (let i = 0; i < n; i++) mean += this.values.at(i);
    mean /= n;
    let variance = 0;
    for (let i = 0; i < n; i++) variance += (this.values.at(i) - mean) ** 2;
    if (variance > 0) {
      for (const p of o.periods) {
        if (p <= 0 || n < 3 * p + 1) continue;
        let sum = 0;
        for (let i = p; i < n; i++) sum += (this.values.at(i) - mean) * (this.values.at(i - p) - mean);
        const correlation = sum / variance;
        if (correlation > bestCorrelation) {
          bestCorrelation = correlation;
          best = p;
        }
      }
    }
    if (best !== this.period) {
      this.measures[4] = new Ring(o.historyRows);
      this.measures[5] = new Ring(o.historyRows);
      this.residuals = new Ring(o.shortRows);
    }
    this.period = best;
  }
}
