import {
  isRecord,
  readArray,
  readHeader,
  readOptionalTime,
  readString,
  timeOrNull,
  UpkeepClock,
} from "./state.js";

/**
 * The bookkeeping the per-source detectors share (http_probing, request_flood, sshd_jail): one
 * state per (service, source) key in a Map kept in insertion order, a bound on the keys, a log
 * clock that never runs backwards, and a sweep at most once per second of log time (a sweep per
 * event would cost O(keys) each).
 */
export class SourceStates<S> {
  map = new Map<string, S>();
  private readonly clock = new UpkeepClock();

  constructor(private readonly maxKeys: number) {}

  static key(service: string, source: string): string {
    return `${service}\u0000${source}`;
  }

  /** The latest log time seen. */
  get latestMs(): number {
    return this.clock.latestMs;
  }

  /** The log time an event is handled at (see `UpkeepClock.observe`). */
  observe(timeMs: number): number {
    return this.clock.observe(timeMs);
  }

  /** For `Detector.advance`: moves the clock on and forces the next sweep; null for a non-finite time. */
  advance(nowMs: number): number | null {
    return this.clock.advance(nowMs);
  }

  /** Whether a sweep is due at `nowMs`; when it is, the next one is due a second of log time later. */
  sweepDue(nowMs: number): boolean {
    return this.clock.due(nowMs);
  }

  /**
   * Room for one more key: when full, drops the oldest state `evictable` accepts, else (with
   * `orOldest`) the oldest of all.
   */
  makeRoom(evictable: (state: S) => boolean, orOldest: boolean): void {
    if (this.map.size < this.maxKeys) return;
    for (const [key, state] of this.map) {
      if (evictable(state)) {
        this.map.delete(key);
        return;
      }
    }
    if (!orOldest) return;
    const oldest = this.map.keys().next();
    if (!oldest.done) this.map.delete(oldest.value);
  }

  /** Stores `state` under `key` as the most recently seen. */
  touch(key: string, state: S): void {
    this.map.delete(key);
    this.map.set(key, state);
  }

  /** The snapshot fields every one of these detectors starts with. */
  header(detector: string, version: number): { detector: string; version: number; latestMs: number | null } {
    return { detector, version, latestMs: timeOrNull(this.latestMs) };
  }

  /**
   * Replaces every state from a snapshot: `listKey` holds one record per source, named by `service`
   * and `sourceKey`; `read` builds the rest of one (null skips it, a throw rejects the snapshot).
   */
  restore(
    detector: string,
    snapshot: unknown,
    version: number,
    listKey: string,
    sourceKey: string,
    read: (item: Record<string, unknown>, service: string, source: string) => S | null,
  ): void {
    const record = readHeader(detector, snapshot, version);
    const map = new Map<string, S>();
    for (const item of readArray(detector, record, listKey)) {
      if (!isRecord(item)) continue;
      const service = readString(detector, item, "service");
      const source = readString(detector, item, sourceKey);
      const state = read(item, service, source);
      if (state !== null) map.set(SourceStates.key(service, source), state);
    }
    this.map = map;
    this.clock.latestMs = readOptionalTime(detector, record, "latestMs") ?? Number.NEGATIVE_INFINITY;
  }
}
