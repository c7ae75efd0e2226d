import { StateError } from "../errors.js";
import { FEATURE_COUNT, FEATURE_NAMES, type FeatureName } from "./features.js";
import {
  ANOMALY_KINDS,
  type AnomalyKind,
  DEFAULT_STREAM,
  StreamDetector,
  type StreamOptions,
  type StreamState,
  valueCapacity,
} from "./stream.js";

/**
 * The streaming detector core (shared/ml/stream.ts, the one `npm run eval:nab` measures) run on
 * each of a service's window features: the per-feature half of the per-service ML detector
 * (shared/ml/detector.ts), next to its joint isolation forest. Each closed window feeds one row
 * per feature; a feature whose row reaches the core's alarm score makes the window anomalous.
 *
 * The options differ from the NAB ones where a 10 s window is not a 5-minute metric row:
 *   - bounded history (120 windows, 20 minutes): the state goes into every snapshot the Lambda
 *     stores, at a thousand services; the baseline refreshed every 60 windows, as a refresh
 *     (seven quickselects over the history) is most of the core's cost and every window pays it;
 *   - no seasonal periods nor recurring-event discount (a day is 8,640 windows, far past the
 *     history; the forest's retrains follow the daily drift);
 *   - no refractory damping: the detector's own streak (`for_windows` anomalous windows in a row)
 *     reports an incident once, and it needs every window of the incident to stay anomalous;
 *   - limits well above NAB's: a window alarm here is one of three that page, not a scored
 *     detection, and six features each get their chance at every window; no variance kind (a
 *     calmer window, an error ratio dropping to zero, is not an incident);
 *   - floors under the usual extreme per feature, as the detector's training floors: a feature
 *     that hardly moves (no failed logins at all) must not make its first one an incident.
 */

/** Options shared by every feature; the floors are per feature (featureOptions). */
export const FEATURE_STREAM: StreamOptions = {
  ...DEFAULT_STREAM,
  historyRows: 120,
  shortRows: 6,
  driftRows: 30,
  minRows: 60,
  refreshEvery: 60,
  // spike, level, drift, variance (off), and the seasonal kinds, which never run without periods
  limits: [2.5, 2.5, 3, Number.POSITIVE_INFINITY, 2.5, 2.5],
  tailQuantile: 0.95,
  periods: [],
  recurrenceCycles: 0,
  refractoryRows: 0,
};

/**
 * Smallest "usual extreme" per feature (in FEATURE_NAMES order), absolute and relative to the
 * median: two of the detector's training spread floors (2 points of CPU or memory, 5 ms + 10% of
 * p95 latency, 0.2/s + 10% of request rate, 0.2/s of failed logins), three for the error ratio
 * (0.02): one failed request in nine, at low volume, must not look like an incident.
 */
const USUAL_EXTREME_FLOOR: readonly { absolute: number; relative: number }[] = [
  { absolute: 4, relative: 0 }, // cpu_mean_pct
  { absolute: 4, relative: 0 }, // memory_mean_pct
  { absolute: 10, relative: 0.2 }, // latency_p95_ms
  { absolute: 0.06, relative: 0 }, // error_ratio
  { absolute: 0.4, relative: 0.2 }, // request_rate_per_s
  { absolute: 0.4, relative: 0 }, // auth_failure_rate_per_s
];

/** The stream options for feature `f`. */
export function featureOptions(f: number): StreamOptions {
  const floor = USUAL_EXTREME_FLOOR[f] ?? { absolute: 0, relative: 0 };
  return { ...FEATURE_STREAM, scaleFloor: floor.absolute, scaleFloorRelative: floor.relative };
}

const OPTIONS: readonly StreamOptions[] = FEATURE_NAMES.map((_, f) => featureOptions(f));

/** The strongest feature alarm of a window. */
export interface FeatureAlarm {
  feature: FeatureName;
  kind: AnomalyKind;
  /** The core's score, at or above its alarm score (0.5). */
  score: number;
  /** The window's value and the recent baseline median it was measured against. */
  observed: number;
  median: number;
}

/**
 * A service's stream history in a snapshot: the values the six streams keep (they next() and
 * forget() together, so one row per kept window), as runs of the service's training rows. The
 * training set takes every calm window and the streams keep every window the forest does not find
 * borderline, so nearly every kept row is a training row already stored beside it; the few that
 * are not (windows of an incident, or rows a retrain dropped from training) are listed as literal
 * rows. `runs` are [first training row, count], or [-1, count] for the next `count` literal rows,
 * oldest first.
 */
export interface StreamHistory {
  runs: [number, number][];
  rows: number[][];
}

/** Feature streams in a snapshot: the per-feature state without values, and the shared history. */
export interface FeatureStreamsState {
  features: Omit<StreamState, "values">[];
  history: StreamHistory;
}

/** Windows a service's streams keep (the history's rows). */
const HISTORY_ROWS = valueCapacity(FEATURE_STREAM);
/** Longest JSON of one number (-1.2345678901234567e-300), and the baselines a feature can hold. */
const NUMBER_BYTES = 24;
const BASELINES = Math.ceil(FEATURE_STREAM.historyRows / FEATURE_STREAM.refreshEvery) + 1;

/**
 * Upper bound of the JSON bytes of one service's feature streams in a snapshot, every history row
 * a literal one (docs/ml.md gives the usual size: the history is nearly all runs).
 */
export const MAX_STATE_BYTES =
  FEATURE_COUNT * (160 + (NUMBER_BYTES + 1) * (3 * BASELINES + ANOMALY_KINDS.length + 5)) +
  HISTORY_ROWS * ((NUMBER_BYTES + 1) * FEATURE_COUNT + 16) +
  64;

/** How far back a history row is looked for among training rows it did not follow directly. */
const MATCH_REACH = 16;

function sameRow(history: Float64Array, i: number, reference: Float64Array, j: number): boolean {
  for (let f = 0; f < FEATURE_COUNT; f++) {
    if (!Object.is(history[i * FEATURE_COUNT + f], reference[j * FEATURE_COUNT + f])) return false;
  }
  return true;
}

/** `history` (rows oldest first) as runs of `reference` rows and literal rows (see StreamHistory). */
function encodeHistory(history: Float64Array, reference: Float64Array): StreamHistory {
  const backwards: [number, number][] = [];
  const literals: number[][] = [];
  let j = reference.length / FEATURE_COUNT - 1;
  for (let i = history.length / FEATURE_COUNT - 1; i >= 0; i--) {
    let match = -1;
    for (let k = j; k >= 0 && k > j - MATCH_REACH; k--) {
      if (sameRow(history, i, reference, k)) {
        match = k;
        break;
      }
    }
    const last = backwards[backwards.length - 1];
    if (match >= 0) {
      j = match - 1;
      if (last !== undefined && last[0] === match + 1) {
        last[0] = match;
        last[1]++;
      } else backwards.push([match, 1]);
    } else {
      literals.push(Array.from(history.subarray(i * FEATURE_COUNT, (i + 1) * FEATURE_COUNT)));
      if (last !== undefined && last[0] === -1) last[1]++;
      else backwards.push([-1, 1]);
    }
  }
  return { runs: backwards.reverse(), rows: literals.reverse() };
}

/** The rows encodeHistory encoded, against the same `reference`; null when `value` is not a valid history. */
function decodeHistory(value: unknown, reference: Float64Array, maxRows: number): Float64Array | null {
  if (typeof value !== "object" || value === null) return null;
  const { runs, rows } = value as Record<string, unknown>;
  if (!Array.isArray(runs) || !Array.isArray(rows)) return null;
  const referenceRows = reference.length / FEATURE_COUNT;
  let total = 0;
  let literal = 0;
  for (const run of runs) {
    if (!Array.isArray(run) || run.length !== 2 || !run.every(Number.isInteger)) return null;
    const [from, count] = run as [number, number];
    if (count < 1 || (from !== -1 && (from < 0 || from + count > referenceRows))) return null;
    total += count;
    if (from === -1) literal += count;
  }
  if (total > maxRows || literal !== rows.length) return null;
  const out = new Float64Array(total * FEATURE_COUNT);
  let at = 0;
  let next = 0;
  for (const [from, count] of runs as [number, number][]) {
    for (let r = 0; r < count; r++, at++) {
      if (from >= 0) {
        out.set(
          reference.subarray((from + r) * FEATURE_COUNT, (from + r + 1) * FEATURE_COUNT),
          at * FEATURE_COUNT,
        );
        continue;
      }
      const row = rows[next++];
      if (!Array.isArray(row) || row.length !== FEATURE_COUNT) return null;
      for (let f = 0; f < FEATURE_COUNT; f++) {
        const v = row[f];
        if (typeof v !== "number" || !Number.isFinite(v)) return null;
        out[at * FEATURE_COUNT + f] = v;
      }
    }
  }
  return out;
}

export class FeatureStreams {
  private constructor(private readonly streams: StreamDetector[]) {}

  static create(): FeatureStreams {
    return new FeatureStreams(OPTIONS.map((options) => new StreamDetector(options)));
  }

  /** Feeds one closed window's features; the strongest alarm among them, or null. */
  next(vector: ArrayLike<number>): FeatureAlarm | null {
    let alarm: FeatureAlarm | null = null;
    for (let f = 0; f < FEATURE_COUNT; f++) {
      const stream = this.streams[f] as StreamDetector;
      const row = stream.next(vector[f] as number);
      if (row.score < stream.options.alarmScore || (alarm !== null && row.score <= alarm.score)) continue;
      alarm = {
        feature: FEATURE_NAMES[f] as FeatureName,
        kind: row.kind,
        score: row.score,
        observed: vector[f] as number,
        median: row.median,
      };
    }
    return alarm;
  }

  /**
   * Takes the last window back out of every feature's history: an anomalous window, or one during
   * an incident, must not become the baseline it is measured against (the forest's training is
   * gated the same way).
   */
  forget(): void {
    for (const stream of this.streams) stream.forget();
  }

  /**
   * JSON-safe state, the history as runs of `training` (the service's training rows, row-major,
   * oldest first; see StreamHistory). fromState() needs the same rows back.
   */
  toState(training: Float64Array): FeatureStreamsState {
    const states = this.streams.map((stream) => stream.toState());
    const kept = (states[0] as StreamState).values.length;
    const history = new Float64Array(kept * FEATURE_COUNT);
    const features = states.map(({ values, ...rest }, f) => {
      values.forEach((v, i) => {
        history[i * FEATURE_COUNT + f] = v;
      });
      return rest;
    });
    return { features, history: encodeHistory(history, training) };
  }

  /**
   * Streams continuing from `state` (toState's output, against the same `training` rows);
   * StateError naming the field otherwise.
   */
  static fromState(state: unknown, training: Float64Array, subject: string, where: string): FeatureStreams {
    if (typeof state !== "object" || state === null || Array.isArray(state))
      throw new StateError(subject, `${where} is not an object`);
    const { features, history } = state as Record<string, unknown>;
    if (!Array.isArray(features) || features.length !== FEATURE_COUNT)
      throw new StateError(subject, `${where}.features is not a list of ${FEATURE_COUNT} feature streams`);
    const rows = decodeHistory(history, training, HISTORY_ROWS);
    if (rows === null)
      throw new StateError(subject, `${where}.history is not a list of runs of the training rows`);
    const kept = rows.length / FEATURE_COUNT;
    return new FeatureStreams(
      features.map((entry: unknown, f) => {
        const at = `${where}.features[${f}] (${FEATURE_NAMES[f]})`;
        if (typeof entry !== "object" || entry === null || Array.isArray(entry))
          throw new StateError(subject, `${at} is not an object`);
        const values = Array.from({ length: kept }, (_, i) => rows[i * FEATURE_COUNT + f] as number);
        try {
          return StreamDetector.fromState(OPTIONS[f] as StreamOptions, { ...entry, values });
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          throw new StateError(subject, `${at}: ${message}`, { cause: error });
        }
      }),
    );
  }
}
