import type { DetectorFinding, FeatureContribution } from "../alerts/types.js";
import type { MlConfig } from "../config/types.js";
import { CapacityGuard } from "../detectors/capacity.js";
import { type Detector, NO_FINDINGS } from "../detectors/detector.js";
import { ActivityMap } from "../detectors/state.js";
import { MIN_STALE_MS } from "../detectors/threshold.js";
import { InputError, StateError } from "../errors.js";
import { FNV32_OFFSET_BASIS, fnv1a32 } from "../hash.js";
import type { LogEvent } from "../log/schema.js";
import { type FeatureAlarm, FeatureStreams } from "./feature-streams.js";
import {
  addEvent,
  FEATURE_COUNT,
  FEATURE_NAMES,
  FEATURE_UNITS,
  type FeatureName,
  newWindow,
  resetWindow,
  samplesFor,
  type WindowState,
  windowFeatures,
} from "./features.js";
import { IsolationForest } from "./isolation-forest.js";
import { quantileSelect } from "./stream.js";

/**
 * Per-service isolation-forest detector. Each service's events are cut into fixed windows of
 * `window_s` (aligned to the epoch, by event time); each closed window becomes one feature
 * vector. After `warmup_windows` the service gets its own forest and threshold; windows that
 * score above the threshold `for_windows` times in a row fire one "ml_anomaly" finding, and
 * `for_windows` normal windows in a row resolve it. The model is retrained every
 * `retrain_every_windows` on recent windows that were not anomalous, so the baseline follows
 * slow drift but an incident does not teach the model that it is normal.
 *
 * A firing service that then sends nothing resolves after the stale period (as the rule detectors
 * do), with `details.reason = "no_data"`; otherwise its alert would stay open forever. At most
 * `MAX_SERVICES` services are tracked (`max_services` in the config). A new one beyond that takes
 * the place of the least recently seen only if that one has been quiet for the stale period: a
 * model is expensive to rebuild, so while every tracked service is active the newcomer is refused
 * and counted in a `pipeline_capacity` alert instead.
 */

const DETECTOR_NAME = "ml";
const SNAPSHOT_VERSION = 1;

/** A retrain replaces 1 / RENEW_SHARE of the trees. */
const RENEW_SHARE = 4;

/**
 * Fits run per observe() or advance() call at most. Windows of services that started together
 * close together, and so would their warm-ups and retrains: 1,000 services fitting in the event
 * that closes their windows would stall that event for seconds. Due fits wait in a queue instead,
 * and each call pays for at most this many (see `npm run bench -- ml`).
 */
export const FITS_PER_CALL = 1;
/**
 * A call that closed more windows than this already paid for that many scores and runs no fit, nor
 * does the call after it (the pipeline's tick and the event that crossed it come together): the
 * queue waits.
 */
const MAX_CLOSES_WITH_FITS = 16;

/** Services tracked at once; each holds a model and up to max_training_windows rows. */
export const MAX_SERVICES = 1000;

interface ServiceModel {
  forest: IsolationForest;
  threshold: number;
  /** Windows scoring above this (threshold without margin) are kept out of training. */
  trainingGate: number;
  /** Per-feature training median, 1st and 99th percentile: "what normal looked like". */
  median: number[];
  low: number[];
  high: number[];
  trainedOn: number;
}

/**
 * A service's recent calm feature vectors, oldest first, at most `capacity` of them: one flat ring
 * of numbers rather than an array per window. At a thousand services the per-window arrays were
 * half a million small objects for the garbage collector to mark on every full collection.
 */
export class TrainingRows {
  private data: Float64Array;
  private start = 0;
  length = 0;

  constructor(readonly capacity: number) {
    // Grows by doubling up to capacity: a service that never finishes its warm-up stays small.
    this.data = new Float64Array(Math.min(capacity, 64) * FEATURE_COUNT);
  }

  private get rowsHeld(): number {
    return this.data.length / FEATURE_COUNT;
  }

  push(vector: ArrayLike<number>): void {
    if (this.length === this.rowsHeld && this.length < this.capacity) {
      const grown = new Float64Array(Math.min(this.capacity, 2 * this.rowsHeld) * FEATURE_COUNT);
      grown.set(this.toMatrix());
      this.data = grown;
      this.start = 0;
    }
    const held = this.rowsHeld;
    let at: number;
    if (this.length < held) {
      at = (this.start + this.length) % held;
      this.length++;
    } else {
      at = this.start;
      this.start = (this.start + 1) % held;
    }
    for (let f = 0; f < FEATURE_COUNT; f++) this.data[at * FEATURE_COUNT + f] = vector[f] as number;
  }

  /** The rows oldest first, as a new row-major matrix of `length` rows. */
  toMatrix(): Float64Array {
    const out = new Float64Array(this.length * FEATURE_COUNT);
    const held = this.rowsHeld;
    const first = Math.min(this.length, held - this.start);
    out.set(this.data.subarray(this.start * FEATURE_COUNT, (this.start + first) * FEATURE_COUNT));
    if (first < this.length)
      out.set(this.data.subarray(0, (this.length - first) * FEATURE_COUNT), first * FEATURE_COUNT);
    return out;
  }

  /** Replaces the rows with those of `matrix` (oldest first), keeping the newest `capacity`. */
  assign(matrix: Float64Array): void {
    const n = Math.min(this.capacity, matrix.length / FEATURE_COUNT);
    const held = Math.max(this.rowsHeld, Math.min(this.capacity, n));
    if (held !== this.rowsHeld) this.data = new Float64Array(held * FEATURE_COUNT);
    this.data.set(matrix.subarray(matrix.length - n * FEATURE_COUNT));
    this.start = 0;
    this.length = n;
  }

  /** The rows oldest first as arrays, for snapshots. */
  toArrays(): number[][] {
    const matrix = this.toMatrix();
    const rows: number[][] = [];
    for (let i = 0; i < this.length; i++)
      rows.push(Array.from(matrix.subarray(i * FEATURE_COUNT, (i + 1) * FEATURE_COUNT)));
    return rows;
  }
}

interface ServiceState {
  window: WindowState | null;
  /**
   * The last closed window, emptied, for the next one to reuse (see resetWindow). Not part of the
   * snapshot.
   */
  spare: WindowState | null;
  windowsSeen: number;
  windowsSinceTrain: number;
  trainings: number;
  /** Recent normal feature vectors, oldest first, at most max_training_windows. */
  training: TrainingRows;
  /**
   * Scores of the windows that went into `training`, as the model of the day scored them, oldest
   * first: the threshold is their quantile, so a retrain never re-scores the training set.
   */
  scores: number[];
  model: ServiceModel | null;
  /** The streaming core on each window feature (shared/ml/feature-streams.ts). */
  streams: FeatureStreams;
  anomalousStreak: number;
  normalStreak: number;
  firing: boolean;
  /** Start of the first anomalous window of the current streak or incident. */
  sinceMs: number;
  lastScore: number;
  /** Event time of the latest event. */
  lastSeenMs: number;
  /** The service's name, for closing its window from the list of open ones. Not part of the snapshot. */
  name: string;
  /**
   * When it was last touched, counted in calls: services whose windows close together close in
   * this order, least recently seen first (the order of the activity map). Not part of the snapshot.
   */
  touchSeq: number;
}

function newService(name: string, timeMs: number, trainingCapacity: number): ServiceState {
  return {
    lastSeenMs: timeMs,
    name,
    touchSeq: 0,
    window: null,
    spare: null,
    windowsSeen: 0,
    windowsSinceTrain: 0,
    trainings: 0,
    training: new TrainingRows(trainingCapacity),
    scores: [],
    model: null,
    streams: FeatureStreams.create(),
    anomalousStreak: 0,
    normalStreak: 0,
    firing: false,
    sinceMs: 0,
    lastScore: 0,
  };
}

function byTouch(a: ServiceState, b: ServiceState): number {
  return a.touchSeq - b.touchSeq;
}

/** Windows by which a service's first retrain comes early: spreads retrains over the period. */
export function staggerOffset(service: string, period: number): number {
  if (!(period > 1)) return 0;
  return fnv1a32(service) % Math.floor(period);
}

/** Deterministic per-service seed, so services do not share trees and replays match. */
function serviceSeed(base: number, service: string, training: number): number {
  const h = fnv1a32(service, (base ^ FNV32_OFFSET_BASIS) >>> 0);
  return (Math.imul(h ^ training, 0x9e3779b1) >>> 0) as number;
}

function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/**
 * Smallest spread assumed per feature (in FEATURE_NAMES order), as an absolute floor and a share of
 * the median: a feature that barely moves in training (no errors at all, say) must not make every
 * ordinary wobble look like contamination.
 */
const SPREAD_FLOOR: readonly { absolute: number; relative: number }[] = [
  { absolute: 2, relative: 0 }, // cpu_mean_pct
  { absolute: 2, relative: 0 }, // memory_mean_pct
  { absolute: 5, relative: 0.1 }, // latency_p95_ms
  { absolute: 0.02, relative: 0 }, // error_ratio
  { absolute: 0.2, relative: 0.1 }, // request_rate_per_s
  { absolute: 0.2, relative: 0 }, // auth_failure_rate_per_s
];
/** A spread estimate of feature `f`, raised to the feature's floor (absolute, and relative to `median`). */
function flooredSpread(f: number, estimate: number, median: number): number {
  const floor = SPREAD_FLOOR[f] ?? { absolute: 0, relative: 0 };
  return Math.max(estimate, floor.absolute, floor.relative * Math.abs(median));
}

/** Rows further than this many robust standard deviations from the median on any feature are dropped. */
const CONTAMINATION_LIMIT = 6;
/** Trimming only applies when it keeps most rows; dropping more means the baseline moved, not an incident. */
const MIN_KEPT_SHARE = 0.8;

/**
 * The training sample without the windows of an incident that happened while the model could not
 * yet tell (the warm-up has no model to gate on). Left in, such windows widen "normal" and raise the
 * calibrated threshold until the next incident of the same kind scores as ordinary.
 */
export function withoutContamination(training: number[][]): number[][] {
  const matrix = new Float64Array(training.length * FEATURE_COUNT);
  training.forEach((row, i) => {
    matrix.set(row.slice(0, FEATURE_COUNT), i * FEATURE_COUNT);
  });
  const kept = calmRows(matrix, new Float64Array(FEATURE_COUNT));
  if (kept === matrix) return training;
  const rows: number[][] = [];
  for (let i = 0; i < kept.length / FEATURE_COUNT; i++)
    rows.push(Array.from(kept.subarray(i * FEATURE_COUNT, (i + 1) * FEATURE_COUNT)));
  return rows;
}

/** The longest tail `tailQuantile` keeps; a quantile further in goes to quantileSelect. */
const TAIL_MAX = 32;

/**
 * `quantileSelect` of `n` values read at `offset`, `offset + stride`, ... for a q near 0 or 1 (the
 * training percentiles, the threshold quantile): the same number, since both take the order
 * statistics around (n - 1) * q and interpolate between them alike, found in one pass that keeps
 * the few smallest (or largest) values in order instead of partitioning a copy of the whole
 * column. Reads `values` without reordering them. A quantile further than TAIL_MAX values from
 * either end falls back to quantileSelect on a copy.
 */
export function tailQuantile(
  values: ArrayLike<number>,
  n: number,
  q: number,
  offset = 0,
  stride = 1,
): number {
  if (n <= 0) return 0;
  const pos = (n - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const needsNext = pos !== lo && lo + 1 < n;
  // Order statistics lo (and lo + 1) are the k-th smallest or the k-th largest for this many k.
  const fromLow = lo + (needsNext ? 2 : 1);
  const fromHigh = n - lo;
  if (Math.min(fromLow, fromHigh) > TAIL_MAX) {
    const column = new Float64Array(n);
    for (let i = 0; i < n; i++) column[i] = values[offset + i * stride] as number;
    return quantileSelect(column, q);
  }
  const low = fromLow <= fromHigh;
  const k = low ? fromLow : fromHigh;
  // The k smallest (or largest) so far, the most extreme first.
  const tail = tailScratch;
  let held = 0;
  for (let i = 0; i < n; i++) {
    const v = values[offset + i * stride] as number;
    if (held === k && !(low ? v < (tail[k - 1] as number) : v > (tail[k - 1] as number))) continue;
    let at = held < k ? held++ : k - 1;
    while (at > 0 && (low ? v < (tail[at - 1] as number) : v > (tail[at - 1] as number))) {
      tail[at] = tail[at - 1] as number;
      at--;
    }
    tail[at] = v;
  }
  const a = (low ? tail[lo] : tail[n - 1 - lo]) as number;
  if (!needsNext) return a;
  const b = (low ? tail[lo + 1] : tail[n - 2 - lo]) as number;
  return a + (b - a) * (pos - lo);
}
const tailScratch = new Float64Array(TAIL_MAX);

/**
 * withoutContamination on a row-major matrix: `matrix` itself when nothing is dropped. Writes the
 * per-feature medians of the rows it returns into `medians`.
 */
function calmRows(matrix: Float64Array, medians: Float64Array): Float64Array {
  const n = matrix.length / FEATURE_COUNT;
  const column = new Float64Array(n);
  columnMedians(matrix, column, medians);
  if (n < 10) return matrix;
  const limit = new Float64Array(FEATURE_COUNT);
  const deviation = column;
  for (let f = 0; f < FEATURE_COUNT; f++) {
    const mid = medians[f] as number;
    for (let i = 0; i < n; i++) deviation[i] = Math.abs((matrix[i * FEATURE_COUNT + f] as number) - mid);
    limit[f] = CONTAMINATION_LIMIT * flooredSpread(f, 1.4826 * quantileSelect(deviation, 0.5), mid);
  }
  const isCalm = (i: number): boolean => {
    for (let f = 0; f < FEATURE_COUNT; f++) {
      const v = matrix[i * FEATURE_COUNT + f] as number;
      if (!(Math.abs(v - (medians[f] as number)) <= (limit[f] as number))) return false;
    }
    return true;
  };
  // Counted first: nearly always every row is calm, and then nothing is copied.
  let count = 0;
  for (let i = 0; i < n; i++) if (isCalm(i)) count++;
  if (count === n || count < MIN_KEPT_SHARE * n) return matrix;
  const kept = new Float64Array(count * FEATURE_COUNT);
  let at = 0;
  for (let i = 0; i < n; i++) {
    if (!isCalm(i)) continue;
    for (let f = 0; f < FEATURE_COUNT; f++) kept[at++] = matrix[i * FEATURE_COUNT + f] as number;
  }
  columnMedians(kept, column, medians);
  return kept;
}

/** The median of each feature of a row-major matrix into `medians`; `column` is room for one column. */
function columnMedians(matrix: Float64Array, column: Float64Array, medians: Float64Array): void {
  const n = matrix.length / FEATURE_COUNT;
  const values = column.subarray(0, n);
  for (let f = 0; f < FEATURE_COUNT; f++) {
    for (let i = 0; i < n; i++) values[i] = matrix[i * FEATURE_COUNT + f] as number;
    medians[f] = quantileSelect(values, 0.5);
  }
}

export function createMlDetector(config: MlConfig): Detector {
  const windowMs = config.window_s * 1000;
  if (!(windowMs > 0)) throw new RangeError(`ml.window_s must be positive, got ${config.window_s}`);
  const forWindows = Math.max(1, Math.floor(config.for_windows));
  const minTraining = Math.max(2, Math.floor(config.warmup_windows));
  let services = new ActivityMap<ServiceState>();
  /** Services currently firing: the only ones silence can resolve. */
  let firing = new Set<string>();
  const staleMs = Math.max(MIN_STALE_MS, 2 * forWindows * windowMs);
  const maxServices = config.max_services ?? MAX_SERVICES;
  const capacity = new CapacityGuard(DETECTOR_NAME, "services", maxServices, staleMs);
  /** Services with an open window, in no particular order (see closeDue); `due` is room for closeDue. */
  let openWindows: ServiceState[] = [];
  const due: ServiceState[] = [];
  /** Calls so far that touched a service (see ServiceState.touchSeq). */
  let touches = 0;
  /** Earliest end of any open window: lets observe() skip the scan of other services. */
  let nextCloseMs = Number.POSITIVE_INFINITY;
  const vector = new Float64Array(FEATURE_COUNT);
  const probe = new Float64Array(FEATURE_COUNT);
  /**
   * Services whose fit is due, oldest first (FIFO: deterministic, and no service waits behind
   * newer ones). Not part of the snapshot: restore() rebuilds it from each service's counters.
   */
  let fitQueue: { service: string; state: ServiceState }[] = [];
  let fitQueueHead = 0;
  const queued = new WeakSet<ServiceState>();

  /** Trees grown per retrain once a model exists: a quarter of the forest (see renewedWith). */
  const renewTrees = Math.max(1, Math.ceil(config.trees / RENEW_SHARE));

  function fitOn(service: string, state: ServiceState, rows: Float64Array): IsolationForest {
    const n = rows.length / FEATURE_COUNT;
    const options = {
      sampleSize: config.sample_size,
      seed: serviceSeed(config.seed, service, state.trainings),
      extrapolate: true,
    };
    const previous = state.model?.forest;
    const sampleSize = Math.min(config.sample_size, n);
    // A retrain grows a quarter of the trees on the latest windows and drops the oldest quarter:
    // a quarter of the cost, and the forest still follows the data (fully renewed in four retrains).
    // Until the training set reaches the sample size, the trees' sample size (and so the score
    // scale) still changes, and the whole forest is grown.
    if (previous && previous.sampleSize === sampleSize && previous.trees === config.trees) {
      const fresh = IsolationForest.fit(rows, FEATURE_COUNT, { ...options, trees: renewTrees });
      return previous.renewedWith(fresh);
    }
    return IsolationForest.fit(rows, FEATURE_COUNT, { ...options, trees: config.trees });
  }

  function train(service: string, state: ServiceState): void {
    const all = state.training.toMatrix();
    const medians = new Float64Array(FEATURE_COUNT);
    const rows = calmRows(all, medians);
    if (rows !== all) state.training.assign(rows);
    const forest = fitOn(service, state, rows);
    const n = rows.length / FEATURE_COUNT;
    const median = Array.from(medians);
    const low: number[] = [];
    const high: number[] = [];
    for (let f = 0; f < FEATURE_COUNT; f++) {
      low.push(tailQuantile(rows, n, 0.01, f, FEATURE_COUNT));
      high.push(tailQuantile(rows, n, 0.99, f, FEATURE_COUNT));
    }
    // The threshold is a quantile of the scores windows got as they arrived (running, no re-score).
    // The first model has none yet: it scores its training windows once to start the record.
    if (state.model === null || state.scores.length < Math.min(n, minTraining)) {
      state.scores = Array.from(forest.scoreMany(rows));
    }
    const calibrated = tailQuantile(state.scores, state.scores.length, config.threshold_quantile);
    state.model = {
      forest,
      threshold: calibrated + config.score_margin,
      trainingGate: calibrated,
      median,
      low,
      high,
      trainedOn: n,
    };
    // Retrains are staggered across services: the first one comes early by an offset from the
    // service name, so services that started together do not all refit in the same window.
    state.windowsSinceTrain =
      state.trainings === 0 ? staggerOffset(service, config.retrain_every_windows) : 0;
    state.trainings++;
  }

  /**
   * Leave-one-feature-out attribution: how much the score drops when one feature is put back to
   * its training median. It asks the model itself, so it credits what the forest actually used;
   * when no single feature moves the score (a joint anomaly), it falls back to robust distance
   * from the median scaled by the expected range.
   */
  function explain(model: ServiceModel, score: number): FeatureContribution[] {
    const raw: number[] = [];
    for (let f = 0; f < FEATURE_COUNT; f++) {
      probe.set(vector);
      probe[f] = model.median[f] as number;
      raw.push(Math.max(0, score - model.forest.score(probe)));
    }
    let total = raw.reduce((a, b) => a + b, 0);
    if (total <= 1e-12) {
      for (let f = 0; f < FEATURE_COUNT; f++) {
        const spread = Math.max((model.high[f] as number) - (model.low[f] as number), 1e-9);
        raw[f] = Math.abs((vector[f] as number) - (model.median[f] as number)) / spread;
      }
      total = raw.reduce((a, b) => a + b, 0) || 1;
    }
    return FEATURE_NAMES.map((feature, f) => ({
      feature,
      contribution: round((raw[f] as number) / total),
      observed: round(vector[f] as number),
      expectedLow: round(model.low[f] as number),
      expectedHigh: round(model.high[f] as number),
    })).sort((a, b) => b.contribution - a.contribution);
  }

  function finding(
    service: string,
    state: ServiceState,
    model: ServiceModel,
    window: WindowState,
    status: "firing" | "resolved",
    score: number,
    atMs: number,
    /** The strongest feature stream alarm of this window, if any (see FeatureStreams). */
    alarm: FeatureAlarm | null,
  ): DetectorFinding {
    const contributions = explain(model, score);
    const top = contributions[0];
    const topName = top?.feature as FeatureName | undefined;
    const describe = (c: FeatureContribution, name: FeatureName) =>
      `${name} ${c.observed}${FEATURE_UNITS[name]} (expected ${c.expectedLow}..${c.expectedHigh})`;
    const driver = top && topName ? describe(top, topName) : "no single feature";
    const byScore = score > model.threshold;
    let summary: string;
    if (status === "resolved") {
      summary = `${service} back to normal: anomaly score ${round(score)} below ${round(model.threshold)}`;
    } else if (byScore || alarm === null) {
      summary = `${service} behaves unusually: anomaly score ${round(score)} above ${round(model.threshold)} for ${state.anomalousStreak} windows, driven by ${driver}`;
    } else {
      summary = `${service} behaves unusually: ${alarm.feature} ${round(alarm.observed)}${FEATURE_UNITS[alarm.feature]} against a recent median of ${round(alarm.median)} (${alarm.kind}) for ${state.anomalousStreak} windows (anomaly score ${round(score)}, threshold ${round(model.threshold)})`;
    }
    const details: Record<string, number | string> = {
      score: round(score, 4),
      threshold: round(model.threshold, 4),
      anomalous_windows: state.anomalousStreak,
      training_windows: model.trainedOn,
      top_feature: topName ?? "",
    };
    if (status === "firing") {
      details.trigger = byScore ? "score" : "stream";
      if (alarm !== null) {
        details.stream_feature = alarm.feature;
        details.stream_kind = alarm.kind;
      }
    }
    for (let f = 0; f < FEATURE_COUNT; f++) details[FEATURE_NAMES[f] as string] = round(vector[f] as number);
    return {
      status,
      type: "ml_anomaly",
      service,
      entity: "",
      severity: config.severity,
      summary,
      observed: round(score, 4),
      threshold: round(model.threshold, 4),
      unit: "score",
      windowMs,
      atMs,
      sinceMs: state.sinceMs,
      samples: samplesFor(window, topName),
      details,
      contributions,
    };
  }

  /** Scores a closed window and moves the service's state machine; may return one finding. */
  function closeWindow(service: string, state: ServiceState, out: DetectorFinding[]): void {
    const window = state.window;
    if (!window) return;
    state.window = null;
    if (window.events === 0) {
      state.spare = resetWindow(window, 0);
      return;
    }
    const endMs = window.startMs + windowMs;
    windowFeatures(window, windowMs, vector);
    state.windowsSeen++;
    state.windowsSinceTrain++;
    const model = state.model;
    // Every window feeds the feature streams, warm-up included: they need their own history.
    const alarm = state.streams.next(vector);
    let anomalous = false;
    let borderline = false;
    if (model) {
      const score = model.forest.score(vector);
      state.lastScore = score;
      anomalous = score > model.threshold || alarm !== null;
      borderline = score > model.trainingGate;
      if (anomalous) {
        if (state.anomalousStreak === 0 && !state.firing) state.sinceMs = window.startMs;
        state.anomalousStreak++;
        state.normalStreak = 0;
        if (!state.firing && state.anomalousStreak >= forWindows) {
          state.firing = true;
          firing.add(service);
          out.push(finding(service, state, model, window, "firing", score, endMs, alarm));
        }
      } else {
        state.normalStreak++;
        if (state.firing && state.normalStreak >= forWindows) {
          state.firing = false;
          firing.delete(service);
          out.push(finding(service, state, model, window, "resolved", score, endMs, null));
          state.anomalousStreak = 0;
        } else if (!state.firing) {
          state.anomalousStreak = 0;
        }
      }
    }
    // Only calm windows teach the model: nothing anomalous, nothing during an incident.
    if (!anomalous && !borderline && !state.firing) {
      state.training.push(vector);
    }
    // The feature streams forget the windows the forest finds unusual, so an incident does not
    // become their baseline either. Not those only a stream alarms on, nor every window of an
    // incident: gated on its own alarm, a stream whose short context holds an outlier (a CPU spike
    // at the end of the warm-up) alarms, so forgets, so keeps the outlier for good.
    if (borderline) state.streams.forget();
    // The score record takes the borderline windows too (the calibrated quantile lives among them),
    // but not anomalous ones or an incident: those would teach the threshold to rise with them.
    if (model && !anomalous && !state.firing) {
      state.scores.push(state.lastScore);
      if (state.scores.length > config.max_training_windows) state.scores.shift();
    }
    if (fitDue(state)) enqueueFit(service, state);
    // Emptied now rather than when reused, so the window does not keep its sample lines alive.
    state.spare = resetWindow(window, 0);
  }

  function fitDue(state: ServiceState): boolean {
    const due = state.model
      ? state.windowsSinceTrain >= config.retrain_every_windows
      : state.windowsSeen >= minTraining;
    return due && state.training.length >= minTraining;
  }

  function enqueueFit(service: string, state: ServiceState): void {
    if (queued.has(state)) return;
    queued.add(state);
    fitQueue.push({ service, state });
  }

  /** Whether the previous call closed many windows (see MAX_CLOSES_WITH_FITS). */
  let heavyCall = false;

  /** The end of an observe() or advance() call that closed `closed` windows: queued fits, if affordable. */
  function fitsAfter(closed: number): void {
    if (closed > MAX_CLOSES_WITH_FITS) {
      heavyCall = true;
      return;
    }
    if (heavyCall) {
      heavyCall = false;
      return;
    }
    if (fitQueueHead < fitQueue.length) runFits();
  }

  /** Runs at most FITS_PER_CALL queued fits; a service evicted or restored away since is skipped. */
  function runFits(): void {
    let budget = FITS_PER_CALL;
    while (budget > 0 && fitQueueHead < fitQueue.length) {
      const entry = fitQueue[fitQueueHead++] as { service: string; state: ServiceState };
      queued.delete(entry.state);
      if (services.get(entry.service) !== entry.state || !fitDue(entry.state)) continue;
      train(entry.service, entry.state);
      budget--;
    }
    if (fitQueueHead >= fitQueue.length) {
      fitQueue = [];
      fitQueueHead = 0;
    } else if (fitQueueHead > 1024 && fitQueueHead * 2 > fitQueue.length) {
      fitQueue = fitQueue.slice(fitQueueHead);
      fitQueueHead = 0;
    }
  }

  /** The finding that ends an incident without a scored window: the service went quiet or was evicted. */
  function endWithoutData(
    service: string,
    state: ServiceState,
    atMs: number,
    reason: string,
  ): DetectorFinding {
    state.firing = false;
    state.anomalousStreak = 0;
    state.normalStreak = 0;
    firing.delete(service);
    const quietS = Math.round((atMs - state.lastSeenMs) / 1000);
    return {
      status: "resolved",
      type: "ml_anomaly",
      service,
      entity: "",
      severity: config.severity,
      summary:
        reason === "no_data"
          ? `${service}: no events for ${quietS}s, resolving its anomaly alert`
          : `${service}: no longer tracked (more than ${maxServices} services), resolving its anomaly alert`,
      observed: round(state.lastScore, 4),
      threshold: round(state.model?.threshold ?? 0, 4),
      unit: "score",
      windowMs,
      atMs,
      sinceMs: state.sinceMs,
      samples: [],
      details: { reason, last_score: round(state.lastScore, 4), quiet_s: quietS },
    };
  }

  function resolveSilent(nowMs: number, out: DetectorFinding[]): void {
    for (const service of firing) {
      const state = services.get(service);
      if (state === undefined) {
        firing.delete(service);
        continue;
      }
      // An open window still holds events that will be scored; silence starts after it.
      if (state.window === null && nowMs - state.lastSeenMs >= staleMs) {
        out.push(endWithoutData(service, state, nowMs, "no_data"));
      }
    }
  }

  /**
   * Closes every window that ended by `nowMs`, least recently seen service first; returns how many
   * it closed. Walks the services with an open window (a list kept beside the activity map, whose
   * ordered copy cost a map built per call) and drops the closed ones from it.
   */
  function closeDue(nowMs: number, out: DetectorFinding[]): number {
    if (nowMs < nextCloseMs) return 0;
    let next = Number.POSITIVE_INFINITY;
    let kept = 0;
    for (let i = 0; i < openWindows.length; i++) {
      const state = openWindows[i] as ServiceState;
      const window = state.window;
      if (window === null) continue;
      const endMs = window.startMs + windowMs;
      if (nowMs >= endMs) {
        due.push(state);
      } else {
        openWindows[kept++] = state;
        next = Math.min(next, endMs);
      }
    }
    openWindows.length = kept;
    if (due.length > 1) due.sort(byTouch);
    const closed = due.length;
    for (let i = 0; i < closed; i++) {
      const state = due[i] as ServiceState;
      closeWindow(state.name, state, out);
    }
    due.length = 0;
    nextCloseMs = next;
    return closed;
  }

  return {
    name: DETECTOR_NAME,

    observe(event: LogEvent): readonly DetectorFinding[] {
      if (!config.enabled || !Number.isFinite(event.timeMs)) return NO_FINDINGS;
      let out: DetectorFinding[] | null = null;
      let closed = 0;
      if (event.timeMs >= nextCloseMs) {
        out = [];
        closed = closeDue(event.timeMs, out);
      }
      let state = services.touchIfPresent(event.service, event.timeMs);
      if (!state) {
        const room = services.makeRoom(maxServices, event.timeMs - staleMs, (service, evicted) => {
          // No longer tracked: its open window is dropped, never scored.
          evicted.window = null;
          if (!evicted.firing) return;
          out ??= [];
          out.push(endWithoutData(service, evicted, event.timeMs, "evicted"));
        });
        if (!room) {
          out = capacity.refused(event.service, services.size, event.timeMs, out);
          return out && out.length > 0 ? out : NO_FINDINGS;
        }
        state = newService(event.service, event.timeMs, config.max_training_windows);
        services.touch(event.service, state, event.timeMs);
      }
      state.touchSeq = ++touches;
      if (!state.window) {
        // Each service's windows are offset by whole seconds from a hash of its name, so a fleet's
        // windows do not all close (and get scored) in the same tick.
        const phaseMs = staggerOffset(event.service, config.window_s) * 1000;
        const startMs = Math.floor((event.timeMs - phaseMs) / windowMs) * windowMs + phaseMs;
        state.window = state.spare ? resetWindow(state.spare, startMs) : newWindow(startMs);
        state.spare = null;
        openWindows.push(state);
        nextCloseMs = Math.min(nextCloseMs, state.window.startMs + windowMs);
      }
      // An event a little late for its window is counted in the open one rather than dropped.
      addEvent(state.window, event);
      fitsAfter(closed);
      return out && out.length > 0 ? out : NO_FINDINGS;
    },

    advance(nowMs: number): readonly DetectorFinding[] {
      if (!config.enabled || !Number.isFinite(nowMs)) return NO_FINDINGS;
      const out: DetectorFinding[] = [];
      fitsAfter(closeDue(nowMs, out));
      resolveSilent(nowMs, out);
      capacity.check(services.size, nowMs, out);
      return out.length > 0 ? out : NO_FINDINGS;
    },

    idle(): boolean {
      // An open window closes (and is scored) with time alone; a firing service can resolve.
      return (
        !config.enabled ||
        (firing.size === 0 &&
          nextCloseMs === Number.POSITIVE_INFINITY &&
          fitQueueHead >= fitQueue.length &&
          capacity.idle())
      );
    },

    snapshot(): unknown {
      const serviceStates: unknown[] = [];
      for (const [service, state] of services.entries) {
        const { spare: _spare, name: _name, touchSeq: _touchSeq, ...saved } = state;
        serviceStates.push({
          service,
          ...saved,
          training: state.training.toArrays(),
          scores: state.scores.slice(),
          window: state.window ? structuredClone(state.window) : null,
          model: state.model ? { ...state.model, forest: state.model.forest.toBase64() } : null,
          streams: state.streams.toState(state.training.toMatrix()),
        });
      }
      return {
        detector: DETECTOR_NAME,
        version: SNAPSHOT_VERSION,
        services: serviceStates,
        capacity: capacity.toState(),
        // The fit queue in its order, and whether the next call skips fits: a restored detector
        // then fits the same services at the same events as one that never stopped.
        pendingFits: fitQueue
          .slice(fitQueueHead)
          .filter((entry) => services.get(entry.service) === entry.state)
          .map((entry) => entry.service),
        skipNextFits: heavyCall,
      };
    },

    restore(snapshot: unknown): void {
      const restored = parseSnapshot(snapshot, config.max_training_windows);
      if (isRecord(snapshot)) capacity.loadState(snapshot.capacity);
      services = new ActivityMap<ServiceState>();
      firing = new Set<string>();
      nextCloseMs = Number.POSITIVE_INFINITY;
      openWindows = [];
      touches = 0;
      fitQueue = [];
      fitQueueHead = 0;
      heavyCall = isRecord(snapshot) && snapshot.skipNextFits === true;
      for (const [service, state] of restored) {
        services.set(service, state);
        // The snapshot lists services least recently seen first.
        state.touchSeq = ++touches;
        if (state.firing) firing.add(service);
        if (state.window) {
          openWindows.push(state);
          nextCloseMs = Math.min(nextCloseMs, state.window.startMs + windowMs);
        }
      }
      // The queue in its saved order; a snapshot without one (written before the queue existed)
      // queues every service whose fit is due by its counters, in snapshot order.
      const pending = isRecord(snapshot) && Array.isArray(snapshot.pendingFits) ? snapshot.pendingFits : [];
      for (const service of pending) {
        const state = typeof service === "string" ? services.get(service) : undefined;
        if (state !== undefined && fitDue(state)) enqueueFit(service as string, state);
      }
      for (const [service, state] of restored) if (fitDue(state)) enqueueFit(service, state);
    },
  };
}

function fail(problem: string, cause?: unknown): never {
  throw new StateError(DETECTOR_NAME, problem, cause === undefined ? undefined : { cause });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function numberField(record: Record<string, unknown>, key: string, where: string): number {
  const value = record[key];
  if (typeof value !== "number" || !Number.isFinite(value)) fail(`${where}.${key} is not a finite number`);
  return value;
}

function numberArray(value: unknown, length: number | null, where: string): number[] {
  if (!Array.isArray(value) || (length !== null && value.length !== length)) {
    fail(`${where} is not an array of ${length ?? "some"} numbers`);
  }
  for (const v of value)
    if (typeof v !== "number" || !Number.isFinite(v)) fail(`${where} holds a non-number`);
  return value as number[];
}

function parseWindow(value: unknown, where: string): WindowState | null {
  if (value === null) return null;
  if (!isRecord(value)) fail(`${where} is not an object`);
  const window = newWindow(numberField(value, "startMs", where));
  for (const key of [
    "events",
    "cpuSum",
    "cpuCount",
    "memorySum",
    "memoryCount",
    "requests",
    "errors",
    "authFailures",
    "latencyCount",
  ] as const) {
    window[key] = numberField(value, key, where);
  }
  window.latencyHistogram = numberArray(
    value.latencyHistogram,
    window.latencyHistogram.length,
    `${where}.latencyHistogram`,
  );
  for (const key of ["recent", "slowest", "failures"] as const) {
    const lines = value[key];
    if (!Array.isArray(lines) || !lines.every(isRecord)) fail(`${where}.${key} is not a list of log lines`);
    window[key] = structuredClone(lines) as WindowState[typeof key];
  }
  return window;
}

function parseModel(value: unknown, where: string): ServiceModel | null {
  if (value === null) return null;
  if (!isRecord(value)) fail(`${where} is not an object`);
  if (typeof value.forest !== "string") fail(`${where}.forest is not a base64 model`);
  let forest: IsolationForest;
  try {
    forest = IsolationForest.fromBase64(value.forest);
  } catch (error) {
    fail(`${where}.forest: ${error instanceof InputError ? error.message : String(error)}`, error);
  }
  if (forest.nFeatures !== FEATURE_COUNT)
    fail(`${where}.forest has ${forest.nFeatures} features, expected ${FEATURE_COUNT}`);
  return {
    forest,
    threshold: numberField(value, "threshold", where),
    trainingGate: numberField(value, "trainingGate", where),
    median: numberArray(value.median, FEATURE_COUNT, `${where}.median`),
    low: numberArray(value.low, FEATURE_COUNT, `${where}.low`),
    high: numberArray(value.high, FEATURE_COUNT, `${where}.high`),
    trainedOn: numberField(value, "trainedOn", where),
  };
}

function parseSnapshot(snapshot: unknown, trainingCapacity: number): Map<string, ServiceState> {
  if (!isRecord(snapshot)) fail("snapshot is not an object");
  if (snapshot.detector !== DETECTOR_NAME) fail(`snapshot is from detector ${String(snapshot.detector)}`);
  if (snapshot.version !== SNAPSHOT_VERSION)
    fail(`snapshot version ${String(snapshot.version)} is not ${SNAPSHOT_VERSION}`);
  if (!Array.isArray(snapshot.services)) fail("snapshot.services is not a list");
  const result = new Map<string, ServiceState>();
  for (const [index, raw] of snapshot.services.entries()) {
    if (!isRecord(raw) || typeof raw.service !== "string") fail(`services[${index}] has no service name`);
    const service = raw.service;
    const where = `services[${index}] (${service})`;
    if (!Array.isArray(raw.training)) fail(`${where}.training is not an array`);
    const matrix = new Float64Array(raw.training.length * FEATURE_COUNT);
    raw.training.forEach((row, i) => {
      matrix.set(numberArray(row, FEATURE_COUNT, `${where}.training[${i}]`), i * FEATURE_COUNT);
    });
    const training = new TrainingRows(trainingCapacity);
    training.assign(matrix);
    // Snapshots written before the running threshold: no score record, the next retrain starts one.
    const scores = raw.scores === undefined ? [] : numberArray(raw.scores, null, `${where}.scores`).slice();
    if (typeof raw.firing !== "boolean") fail(`${where}.firing is not a boolean`);
    const window = parseWindow(raw.window, `${where}.window`);
    result.set(service, {
      name: service,
      touchSeq: 0,
      window,
      spare: null,
      windowsSeen: numberField(raw, "windowsSeen", where),
      windowsSinceTrain: numberField(raw, "windowsSinceTrain", where),
      trainings: numberField(raw, "trainings", where),
      training,
      scores,
      model: parseModel(raw.model, `${where}.model`),
      // Snapshots written before the feature streams, or before their history was stored as runs
      // of the training rows (a list per feature): they start afresh (no alarm for minRows windows).
      streams:
        raw.streams === undefined || Array.isArray(raw.streams)
          ? FeatureStreams.create()
          : FeatureStreams.fromState(raw.streams, matrix, DETECTOR_NAME, `${where}.streams`),
      anomalousStreak: numberField(raw, "anomalousStreak", where),
      normalStreak: numberField(raw, "normalStreak", where),
      firing: raw.firing,
      sinceMs: numberField(raw, "sinceMs", where),
      lastScore: numberField(raw, "lastScore", where),
      // Snapshots written before lastSeenMs existed: the open window's start is the best guess.
      lastSeenMs:
        raw.lastSeenMs === undefined
          ? (window?.startMs ?? numberField(raw, "sinceMs", where))
          : numberField(raw, "lastSeenMs", where),
    });
  }
  return result;
}
