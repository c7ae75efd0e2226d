import type { DetectorFinding } from "../alerts/types.js";
import { StateError } from "../errors.js";
import { isRecord, readBoolean, readFiniteNumber, readOptionalTime, timeOrNull } from "./state.js";

/** The service name `pipeline_capacity` alerts carry: the pipeline reports on itself. */
export const PIPELINE_SERVICE = "cloud-observability";

/**
 * Refused key names remembered to count them: ten times the cap, at most this many. The names cost
 * memory too, so past this the count is reported as a lower bound ("at least").
 */
const MAX_COUNTED_KEYS = 1_000_000;

/**
 * Watches one detector's key cap. When a new key (service, IP, user) is refused because the map is
 * full of active keys, the detector tells the guard; the guard raises a `pipeline_capacity` alert
 * naming the cap and how many keys it has seen, updates it as more arrive, and resolves it once no
 * key has been refused for `quietMs`. The detector keeps full state for the keys within the cap, so
 * those still alert; the operator learns that the rest are not watched instead of the pipeline going
 * blind in silence.
 */
export class CapacityGuard {
  private firing = false;
  private sinceMs = Number.NEGATIVE_INFINITY;
  private lastRefusedMs = Number.NEGATIVE_INFINITY;
  /** Distinct refused keys of this episode, up to `countLimit` (then the count is a lower bound). */
  private refusedKeys = new Set<string>();
  private refusedEvents = 0;
  private reportedKeys = 0;
  private saturated = false;
  private readonly countLimit: number;

  constructor(
    private readonly detector: string,
    /** What is counted, for the summary: "services", "IPs", "users". */
    private readonly noun: string,
    private readonly cap: number,
    private readonly quietMs: number,
  ) {
    this.countLimit = Math.min(10 * cap, MAX_COUNTED_KEYS);
  }

  /** A new key was refused at `nowMs` with `tracked` keys in the map; the first refusal fires at once. */
  refused(
    key: string,
    tracked: number,
    nowMs: number,
    out: DetectorFinding[] | null,
  ): DetectorFinding[] | null {
    this.refusedEvents++;
    this.lastRefusedMs = nowMs;
    if (this.refusedKeys.size < this.countLimit) this.refusedKeys.add(key);
    else if (!this.refusedKeys.has(key)) this.saturated = true;
    if (this.firing) return out;
    this.firing = true;
    this.sinceMs = nowMs;
    const found = out ?? [];
    found.push(this.finding("firing", tracked, nowMs));
    return found;
  }

  /** Nothing can change with time alone: not firing (a firing guard resolves after a quiet period). */
  idle(): boolean {
    return !this.firing;
  }

  /** Once a second or so: report a grown count while firing, resolve after a quiet period. */
  check(tracked: number, nowMs: number, out: DetectorFinding[] | null): DetectorFinding[] | null {
    if (!this.firing) return out;
    if (nowMs - this.lastRefusedMs >= this.quietMs) {
      const found = out ?? [];
      found.push(this.finding("resolved", tracked, nowMs));
      this.firing = false;
      this.refusedKeys = new Set();
      this.refusedEvents = 0;
      this.reportedKeys = 0;
      this.saturated = false;
      return found;
    }
    // Only a larger count is news; keys leaving the map (idle) do not make the pipeline less full.
    if (tracked + this.refusedKeys.size <= this.reportedKeys) return out;
    const found = out ?? [];
    found.push(this.finding("firing", tracked, nowMs));
    return found;
  }

  toState(): unknown {
    return {
      firing: this.firing,
      sinceMs: timeOrNull(this.sinceMs),
      lastRefusedMs: timeOrNull(this.lastRefusedMs),
      refusedEvents: this.refusedEvents,
    };
  }

  /** Restore from `toState()`; absent state (older snapshots) means not firing. */
  loadState(value: unknown): void {
    if (value === undefined) return;
    if (!isRecord(value)) throw new StateError(this.detector, "capacity state is not an object");
    this.firing = readBoolean(this.detector, value, "firing");
    this.sinceMs = readOptionalTime(this.detector, value, "sinceMs") ?? Number.NEGATIVE_INFINITY;
    this.lastRefusedMs = readOptionalTime(this.detector, value, "lastRefusedMs") ?? Number.NEGATIVE_INFINITY;
    this.refusedEvents = readFiniteNumber(this.detector, value, "refusedEvents");
    // The refused names are not stored (they could be as many as the cap); the count restarts.
    this.refusedKeys = new Set();
  }

  private finding(status: "firing" | "resolved", tracked: number, nowMs: number): DetectorFinding {
    const keys = Math.max(tracked + this.refusedKeys.size, this.reportedKeys);
    this.reportedKeys = keys;
    const atLeast = this.saturated ? "at least " : "";
    const summary =
      status === "firing"
        ? `${this.detector} is over capacity: ${atLeast}${keys} ${this.noun} seen, cap ${this.cap}; ${this.noun} past the cap are not watched`
        : `${this.detector} back within capacity: no new ${this.noun} refused for ${Math.round(this.quietMs / 1000)}s`;
    return {
      status,
      type: "pipeline_capacity",
      service: PIPELINE_SERVICE,
      entity: this.detector,
      severity: "warning",
      summary,
      observed: keys,
      threshold: this.cap,
      unit: this.noun,
      windowMs: this.quietMs,
      atMs: nowMs,
      sinceMs: this.sinceMs,
      samples: [],
      details: {
        cap: this.cap,
        keys,
        keys_count: this.saturated ? "at least" : "exact",
        tracked,
        refused_keys: this.refusedKeys.size,
        refused_events: this.refusedEvents,
      },
    };
  }
}
