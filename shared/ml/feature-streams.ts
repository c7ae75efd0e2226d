import { StateError } from "../errors.js";
import { FEATURE_COUNT, FEATURE_NAMES, type FeatureName } from "./features.js";
import { type AnomalyKind, DEFAULT_STREAM, StreamDetector, type StreamOptions } from "./stream.js";

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

/** The rings of a StreamState, stored as base64 of little-endian float64 (exact, 10.7 bytes a number). */
const RING_FIELDS = ["values", "spreads", "residuals"] as const;

/**
 * Numbers one feature's rings can hold at FEATURE_STREAM's sizes: the values, the spreads, six
 * kinds of measures (the two seasonal ones stay empty without periods) and the seasonal residuals.
 */
const NUMBERS_PER_FEATURE =
  Math.max(FEATURE_STREAM.historyRows, FEATURE_STREAM.driftRows + 1) +
  7 * FEATURE_STREAM.historyRows +
  FEATURE_STREAM.shortRows;
/** JSON of a feature's counters and field names, full-precision numbers included. */
const SCALAR_BYTES = 600;

/**
 * Upper bound of the JSON bytes of one service's feature streams in a snapshot: about 46 KB with
 * full rings (docs/ml.md compares it with the rest of a service's state).
 */
export const MAX_STATE_BYTES =
  FEATURE_COUNT * (Math.ceil((32 * NUMBERS_PER_FEATURE) / 3) + 9 * 4 + SCALAR_BYTES);

function pack(values: readonly number[]): string {
  const bytes = new Uint8Array(values.length * 8);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => {
    view.setFloat64(i * 8, v, true);
  });
  return Buffer.from(bytes).toString("base64");
}

/** The numbers of a pack()ed ring; null when `text` is not one (StreamDetector.fromState checks the values). */
function unpack(text: unknown): number[] | null {
  if (typeof text !== "string") return null;
  const bytes = Buffer.from(text, "base64");
  if (bytes.length % 8 !== 0) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  return Array.from({ length: bytes.length / 8 }, (_, i) => view.getFloat64(i * 8, true));
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

  /** JSON-safe state, rings packed (see MAX_STATE_BYTES). */
  toState(): unknown[] {
    return this.streams.map((stream) => {
      const state = stream.toState();
      return {
        ...state,
        values: pack(state.values),
        spreads: pack(state.spreads),
        residuals: pack(state.residuals),
        measures: state.measures.map(pack),
      };
    });
  }

  /** Streams continuing from `state` (toState's output); StateError naming the field otherwise. */
  static fromState(state: unknown, subject: string, where: string): FeatureStreams {
    if (!Array.isArray(state) || state.length !== FEATURE_COUNT)
      throw new StateError(subject, `${where} is not a list of ${FEATURE_COUNT} feature streams`);
    return new FeatureStreams(
      state.map((entry: unknown, f) => {
        const at = `${where}[${f}] (${FEATURE_NAMES[f]})`;
        if (typeof entry !== "object" || entry === null || Array.isArray(entry))
          throw new StateError(subject, `${at} is not an object`);
        const packed = entry as Record<string, unknown>;
        const unpacked: Record<string, unknown> = { ...packed };
        for (const field of RING_FIELDS) {
          unpacked[field] = unpack(packed[field]);
          if (unpacked[field] === null) throw new StateError(subject, `${at}.${field} is not a packed ring`);
        }
        const measures = Array.isArray(packed.measures) ? packed.measures.map(unpack) : [null];
        measures.forEach((m, k) => {
          if (m === null) throw new StateError(subject, `${at}.measures[${k}] is not a packed ring`);
        });
        unpacked.measures = measures;
        try {
          return StreamDetector.fromState(OPTIONS[f] as StreamOptions, unpacked);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          throw new StateError(subject, `${at}: ${message}`, { cause: error });
        }
      }),
    );
  }
}
