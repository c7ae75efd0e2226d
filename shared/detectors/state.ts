import { StateError } from "../errors.js";
import { toLogLine } from "../log/parse.js";
import { EVENT_TYPES, LOG_LEVELS, type LogEvent, type LogLine } from "../log/schema.js";

/*
 * Helpers shared by the rule detectors: reading snapshots defensively, keeping sample lines, and
 * a key map ordered by last activity so idle keys can be evicted from its front.
 */

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function readFiniteNumber(detector: string, record: Record<string, unknown>, key: string): number {
  const value = record[key];
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new StateError(detector, `"${key}" is not a finite number`);
  }
  return value;
}

/** A time that may be unset; JSON has no -Infinity, so unset is stored as null. */
export function readOptionalTime(
  detector: string,
  record: Record<string, unknown>,
  key: string,
): number | null {
  const value = record[key];
  if (value === null) return null;
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new StateError(detector, `"${key}" is not a finite number or null`);
  }
  return value;
}

/** The counterpart of `readOptionalTime`: an unset (infinite) time is saved as null. */
export function timeOrNull(timeMs: number): number | null {
  return Number.isFinite(timeMs) ? timeMs : null;
}

export function readString(detector: string, record: Record<string, unknown>, key: string): string {
  const value = record[key];
  if (typeof value !== "string") throw new StateError(detector, `"${key}" is not a string`);
  return value;
}

export function readBoolean(detector: string, record: Record<string, unknown>, key: string): boolean {
  const value = record[key];
  if (typeof value !== "boolean") throw new StateError(detector, `"${key}" is not a boolean`);
  return value;
}

export function readArray(detector: string, record: Record<string, unknown>, key: string): unknown[] {
  const value = record[key];
  if (!Array.isArray(value)) throw new StateError(detector, `"${key}" is not an array`);
  return value;
}

/** The clock every windowed rule detector saves: the latest event time and the next maintenance. */
export interface DetectorClock {
  latestMs: number;
  nextMaintenanceMs: number;
}

/**
 * The header of a windowed rule detector's snapshot, in the order it is written (the key order is
 * part of the saved bytes): spread it first, then the detector's own fields.
 */
export function clockHeader(detector: string, version: number, latestMs: number, nextMaintenanceMs: number) {
  return {
    detector,
    version,
    latestMs: timeOrNull(latestMs),
    nextMaintenanceMs: timeOrNull(nextMaintenanceMs),
  };
}

/** The counterpart of `clockHeader`: the checked record and its clock (unset reads as -Infinity). */
export function readClockHeader(
  detector: string,
  state: unknown,
  version: number,
): { record: Record<string, unknown>; clock: DetectorClock } {
  const record = readHeader(detector, state, version);
  const latestMs = readOptionalTime(detector, record, "latestMs");
  const nextMaintenanceMs = readOptionalTime(detector, record, "nextMaintenanceMs");
  return {
    record,
    clock: {
      latestMs: latestMs ?? Number.NEGATIVE_INFINITY,
      nextMaintenanceMs: nextMaintenanceMs ?? Number.NEGATIVE_INFINITY,
    },
  };
}

/** The per-service entries of a snapshot, each checked to be an object that names its service. */
export function readServiceEntries(
  detector: string,
  record: Record<string, unknown>,
): Array<{ service: string; item: Record<string, unknown> }> {
  return readArray(detector, record, "services").map((item) => {
    if (!isRecord(item)) throw new StateError(detector, "service entry is not an object");
    return { service: readString(detector, item, "service"), item };
  });
}

/** Check the fixed header every rule detector snapshot starts with. */
export function readHeader(detector: string, state: unknown, version: number): Record<string, unknown> {
  if (!isRecord(state)) throw new StateError(detector, "state is not an object");
  if (state.detector !== detector) {
    throw new StateError(detector, `state belongs to detector ${JSON.stringify(state.detector)}`);
  }
  if (state.version !== version) {
    throw new StateError(detector, `unsupported state version ${JSON.stringify(state.version)}`);
  }
  return state;
}

/** A measurement a source did not report is null (see LogMetrics). */
function isNullableNumber(value: unknown): value is number | null {
  return value === null || typeof value === "number";
}

function isNullableString(value: unknown): value is string | null {
  return value === null || typeof value === "string";
}

/** Structural check of a sample event read back from a snapshot. */
export function readLogEvent(detector: string, value: unknown): LogEvent {
  const bad = (what: string): never => {
    throw new StateError(detector, `sample event ${what}`);
  };
  if (!isRecord(value)) return bad("is not an object");
  const metrics = value.metrics;
  if (
    typeof value.timestamp !== "string" ||
    typeof value.timeMs !== "number" ||
    !Number.isFinite(value.timeMs) ||
    typeof value.service !== "string" ||
    typeof value.message !== "string"
  ) {
    return bad("lacks timestamp, timeMs, service or message");
  }
  if (!(LOG_LEVELS as readonly unknown[]).includes(value.level)) return bad("has an unknown level");
  if (!(EVENT_TYPES as readonly unknown[]).includes(value.event_type))
    return bad("has an unknown event_type");
  if (
    !isRecord(metrics) ||
    !isNullableNumber(metrics.cpu_pct) ||
    !isNullableNumber(metrics.memory_pct) ||
    !isNullableNumber(metrics.latency_ms)
  ) {
    return bad("has malformed metrics");
  }
  if (
    !(value.status_code === null || typeof value.status_code === "number") ||
    !isNullableString(value.source_ip) ||
    !isNullableString(value.user) ||
    !isNullableString(value.request_id)
  ) {
    return bad("has a malformed status_code, source_ip, user or request_id");
  }
  return {
    ...toLogLine(value as unknown as LogEvent),
    timeMs: value.timeMs,
  };
}

/** How many sample lines a finding carries. */
export const MAX_SAMPLES = 5;

/**
 * The newest few events, kept as references in a fixed ring so recording one costs no allocation;
 * they are copied into log lines only when a finding is built.
 */
export class SampleRing {
  private readonly items: (LogEvent | undefined)[] = new Array<LogEvent | undefined>(MAX_SAMPLES);
  private next = 0;
  private count = 0;

  push(event: LogEvent): void {
    this.items[this.next] = event;
    this.next = (this.next + 1) % MAX_SAMPLES;
    if (this.count < MAX_SAMPLES) this.count++;
  }

  get size(): number {
    return this.count;
  }

  /** Oldest first, newest last. */
  events(): LogEvent[] {
    const out: LogEvent[] = [];
    for (let i = 0; i < this.count; i++) {
      const item = this.items[(this.next - this.count + i + MAX_SAMPLES) % MAX_SAMPLES];
      if (item !== undefined) out.push(item);
    }
    return out;
  }

  lines(): LogLine[] {
    return this.events().map(toLogLine);
  }

  toState(): LogEvent[] {
    return this.events().map((event) => ({ ...toLogLine(event), timeMs: event.timeMs }));
  }

  static fromState(detector: string, value: unknown): SampleRing {
    if (!Array.isArray(value) || value.length > MAX_SAMPLES) {
      throw new StateError(detector, `samples must be an array of at most ${MAX_SAMPLES} events`);
    }
    const ring = new SampleRing();
    for (const item of value) ring.push(readLogEvent(detector, item));
    return ring;
  }
}

interface ActivityLink<S> {
  readonly key: string;
  state: S;
  prev: ActivityLink<S> | null;
  next: ActivityLink<S> | null;
}

/**
 * A map from key (service, IP, user) to state, kept in order of last activity: touching a key moves
 * it to the back, so idle keys collect at the front and eviction stops at the first active one.
 * The order is an intrusive linked list rather than Map insertion order: moving a key is then a few
 * pointer writes instead of a Map delete and re-insert on every event (the hottest line of every
 * detector when the order lived in the Map).
 */
export class ActivityMap<S extends { lastSeenMs: number }> {
  private readonly links = new Map<string, ActivityLink<S>>();
  /** Least recently active. */
  private head: ActivityLink<S> | null = null;
  /** Most recently active. */
  private tail: ActivityLink<S> | null = null;

  get size(): number {
    return this.links.size;
  }

  /** Every key and state, least recently active first (snapshots keep this order). */
  get entries(): Map<string, S> {
    const ordered = new Map<string, S>();
    for (let link = this.head; link !== null; link = link.next) ordered.set(link.key, link.state);
    return ordered;
  }

  get(key: string): S | undefined {
    const link = this.links.get(key);
    return link === undefined ? undefined : link.state;
  }

  /** The state of `key`, marked active at `timeMs` and moved to the back; undefined if absent. */
  touchIfPresent(key: string, timeMs: number): S | undefined {
    const link = this.links.get(key);
    if (link === undefined) return undefined;
    if (timeMs > link.state.lastSeenMs) link.state.lastSeenMs = timeMs;
    if (link !== this.tail) {
      this.unlink(link);
      this.linkAtTail(link);
    }
    return link.state;
  }

  /** Mark `key` active at `timeMs` and move it to the back. */
  touch(key: string, state: S, timeMs: number): void {
    if (timeMs > state.lastSeenMs) state.lastSeenMs = timeMs;
    const link = this.links.get(key);
    if (link === undefined) {
      this.append(key, state);
      return;
    }
    link.state = state;
    if (link === this.tail) return;
    this.unlink(link);
    this.linkAtTail(link);
  }

  /** Add `key` at the back, or replace its state where it stands. */
  set(key: string, state: S): void {
    const link = this.links.get(key);
    if (link === undefined) this.append(key, state);
    else link.state = state;
  }

  delete(key: string): void {
    const link = this.links.get(key);
    if (link === undefined) return;
    this.unlink(link);
    this.links.delete(key);
  }

  /**
   * Remove keys idle since before `cutoffMs`, plus the least recently active ones beyond `maxKeys`,
   * calling `onEvict` for each so a detector can resolve what it still had firing.
   */
  evict(cutoffMs: number, maxKeys: number, onEvict: (key: string, state: S, reason: string) => void): void {
    while (this.head !== null) {
      const link = this.head;
      const over = this.links.size > maxKeys;
      if (!over && link.state.lastSeenMs >= cutoffMs) break;
      this.unlink(link);
      this.links.delete(link.key);
      onEvict(link.key, link.state, over ? "evicted" : "no_data");
    }
  }

  /**
   * Make room for one more key under `maxKeys`, evicting only keys idle since before `idleBeforeMs`
   * (least recently active first). Returns false when every key is still active: the newcomer is
   * then refused, rather than evicting a key in use. Evicting the least recent key regardless is
   * what blinded every detector past its cap: with more keys than the cap arriving round robin,
   * each newcomer evicts the key due next, and no key keeps its state long enough to fire.
   */
  makeRoom(
    maxKeys: number,
    idleBeforeMs: number,
    onEvict: (key: string, state: S, reason: string) => void,
  ): boolean {
    while (this.links.size >= maxKeys) {
      const link = this.head;
      if (link === null || link.state.lastSeenMs >= idleBeforeMs) return false;
      this.unlink(link);
      this.links.delete(link.key);
      onEvict(link.key, link.state, "evicted");
    }
    return true;
  }

  /**
   * Whether `evict` with these limits would remove anything. Detectors check this before building
   * their eviction callback, since on almost every sweep nothing is due.
   */
  needsEviction(cutoffMs: number, maxKeys: number): boolean {
    return this.head !== null && (this.links.size > maxKeys || this.head.state.lastSeenMs < cutoffMs);
  }

  private append(key: string, state: S): void {
    const link: ActivityLink<S> = { key, state, prev: null, next: null };
    this.links.set(key, link);
    this.linkAtTail(link);
  }

  private linkAtTail(link: ActivityLink<S>): void {
    link.prev = this.tail;
    link.next = null;
    if (this.tail === null) this.head = link;
    else this.tail.next = link;
    this.tail = link;
  }

  private unlink(link: ActivityLink<S>): void {
    if (link.prev === null) this.head = link.next;
    else link.prev.next = link.next;
    if (link.next === null) this.tail = link.prev;
    else link.next.prev = link.prev;
    link.prev = null;
    link.next = null;
  }
}
