import type { DetectorFinding } from "../alerts/types.js";
import { StateError } from "../errors.js";
import { toLogLine } from "../log/parse.js";
import { EVENT_TYPES, LOG_LEVELS, type LogEvent, type LogLine } from "../log/schema.js";
import type { CapacityGuard } from "./capacity.js";
import { appendFinding, type Detector, NO_FINDINGS } from "./detector.js";

/*
 * Helpers shared by the rule detectors: reading snapshots defensively, keeping sample lines, a key
 * map ordered by last activity so idle keys can be evicted from its front, and the event-time clock
 * and per-key upkeep of the windowed detectors (CPU, memory, error rate, brute force).
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

/** How often, in event time, pending and firing keys are re-checked and idle ones evicted. */
export const MAINTENANCE_INTERVAL_MS = 1000;

/**
 * The event-time clock of a windowed rule detector: the latest time seen, which never runs
 * backwards (a late event is handled at the latest time), and when the next upkeep is due (at
 * most once a second of event time as events arrive; a sweep per event would cost O(keys) each).
 */
export class UpkeepClock implements DetectorClock {
  // Plain numbers with -Infinity for "not yet", never null: V8 updates a number-only field in
  // place, while storing a large number into a field that may hold null allocates every time.
  latestMs = Number.NEGATIVE_INFINITY;
  nextMaintenanceMs = Number.NEGATIVE_INFINITY;

  /** The time an event at `timeMs` is handled at: its own, or the latest seen when that is later. */
  observe(timeMs: number): number {
    const nowMs = Math.max(this.latestMs, timeMs);
    this.latestMs = nowMs;
    return nowMs;
  }

  /**
   * For `Detector.advance`: moves the clock on and makes the upkeep due at once (the caller asked
   * for time to pass, so it does not wait for the interval); the time to maintain at, or null for
   * a non-finite time.
   */
  advance(nowMs: number): number | null {
    if (!Number.isFinite(nowMs)) return null;
    if (nowMs > this.latestMs) this.latestMs = nowMs;
    this.nextMaintenanceMs = Number.NEGATIVE_INFINITY;
    return this.latestMs;
  }

  /** Whether the upkeep is due at `nowMs`; when it is, the next one is due an interval later. */
  due(nowMs: number): boolean {
    if (nowMs < this.nextMaintenanceMs) return false;
    this.nextMaintenanceMs = nowMs + MAINTENANCE_INTERVAL_MS;
    return true;
  }

  /** The snapshot header (see `clockHeader`). */
  header(detector: string, version: number) {
    return clockHeader(detector, version, this.latestMs, this.nextMaintenanceMs);
  }

  /** Take a clock read by `readClockHeader`. */
  load(clock: DetectorClock): void {
    this.latestMs = clock.latestMs;
    this.nextMaintenanceMs = clock.nextMaintenanceMs;
  }
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
function readServiceEntries(
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

/** A node of an `ActivityList`: its neighbours in order of last activity. */
export interface ActivityNode<N> {
  prev: N | null;
  next: N | null;
}

/**
 * Nodes in order of last activity (least recent first) as an intrusive doubly linked list: moving a
 * node to the back is a few pointer writes, where a Map kept in insertion order needs a delete and
 * a re-insert on every event (the hottest line of every detector when the order lived in the Map).
 */
export class ActivityList<N extends ActivityNode<N>> {
  /** Least recently active. */
  head: N | null = null;
  /** Most recently active. */
  tail: N | null = null;

  /** Put a node that is not in the list at the back. */
  append(node: N): void {
    node.prev = this.tail;
    node.next = null;
    if (this.tail === null) this.head = node;
    else this.tail.next = node;
    this.tail = node;
  }

  /**
   * Move a node of the list to the back. Written out rather than `remove` then `append`: every
   * pointer stored into these long-lived nodes pays a GC write barrier, and this runs for every
   * event in every detector.
   */
  moveToBack(node: N): void {
    const tail = this.tail;
    if (node === tail || tail === null) return;
    // Not the tail, so it has a successor.
    const next = node.next as N;
    const prev = node.prev;
    if (prev === null) this.head = next;
    else prev.next = next;
    next.prev = prev;
    node.prev = tail;
    node.next = null;
    tail.next = node;
    this.tail = node;
  }

  remove(node: N): void {
    if (node.prev === null) this.head = node.next;
    else node.prev.next = node.next;
    if (node.next === null) this.tail = node.prev;
    else node.next.prev = node.prev;
    node.prev = null;
    node.next = null;
  }
}

interface ActivityLink<S> extends ActivityNode<ActivityLink<S>> {
  readonly key: string;
  state: S;
}

/**
 * A map from key (service, IP, user) to state, kept in order of last activity: touching a key moves
 * it to the back, so idle keys collect at the front and eviction stops at the first active one.
 */
export class ActivityMap<S extends { lastSeenMs: number }> {
  private readonly links = new Map<string, ActivityLink<S>>();
  private readonly order = new ActivityList<ActivityLink<S>>();

  get size(): number {
    return this.links.size;
  }

  /** Every key and state, least recently active first (snapshots keep this order). */
  get entries(): Map<string, S> {
    const ordered = new Map<string, S>();
    for (let link = this.order.head; link !== null; link = link.next) ordered.set(link.key, link.state);
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
    this.order.moveToBack(link);
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
    this.order.moveToBack(link);
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
    this.order.remove(link);
    this.links.delete(key);
  }

  /**
   * Remove keys idle since before `cutoffMs`, plus the least recently active ones beyond `maxKeys`,
   * calling `onEvict` for each so a detector can resolve what it still had firing.
   */
  evict(cutoffMs: number, maxKeys: number, onEvict: (key: string, state: S, reason: string) => void): void {
    while (this.order.head !== null) {
      const link = this.order.head;
      const over = this.links.size > maxKeys;
      if (!over && link.state.lastSeenMs >= cutoffMs) break;
      this.order.remove(link);
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
      const link = this.order.head;
      if (link === null || link.state.lastSeenMs >= idleBeforeMs) return false;
      this.order.remove(link);
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
    const head = this.order.head;
    return head !== null && (this.links.size > maxKeys || head.state.lastSeenMs < cutoffMs);
  }

  private append(key: string, state: S): void {
    const link: ActivityLink<S> = { key, state, prev: null, next: null };
    this.links.set(key, link);
    this.order.append(link);
  }
}

/**
 * A key leaves its map at `nowMs` (`reason` "no_data" or "evicted"): what it still had firing
 * resolves into `out`. Detectors keep one such function (a field), not a closure per call.
 */
export type Dropped<S> = (
  key: string,
  state: S,
  reason: string,
  nowMs: number,
  out: DetectorFinding[] | null,
) => DetectorFinding[] | null;

/**
 * The per-key states of a windowed rule detector (per service, per IP, per user) and the upkeep
 * they share: a cap on the keys watched by a capacity guard, the active ones (pending or firing:
 * the only ones time alone can change) re-checked once a second, idle ones evicted. What eviction
 * or a re-check means (a firing key resolves) is the detector's, through callbacks; those run at
 * most once a second or for a new key, never for every event.
 */
export class KeyedStates<S extends { lastSeenMs: number }> {
  private map = new ActivityMap<S>();
  /** Keys pending or firing. */
  private activeKeys = new Set<string>();

  constructor(
    private readonly maxKeys: number,
    readonly capacity: CapacityGuard,
  ) {}

  /** Nothing here can change with time alone: no key active, the capacity guard quiet. */
  idle(): boolean {
    return this.activeKeys.size === 0 && this.capacity.idle();
  }

  /** The capacity guard's once-a-second check (see `CapacityGuard.check`). */
  checkCapacity(nowMs: number, out: DetectorFinding[] | null): DetectorFinding[] | null {
    return this.capacity.check(this.map.size, nowMs, out);
  }

  get size(): number {
    return this.map.size;
  }

  /** Keys pending or firing: the detector adds and removes them as its state machine moves. */
  get active(): Set<string> {
    return this.activeKeys;
  }

  /** See `ActivityMap.touchIfPresent`. */
  touchIfPresent(key: string, timeMs: number): S | undefined {
    return this.map.touchIfPresent(key, timeMs);
  }

  /**
   * A new key with its first `state`, at event time `timeMs` handled at `nowMs`. The cap is enforced
   * on arrival, so a flood of new names cannot outgrow it between sweeps: only keys idle since
   * before `idleBeforeMs` make room (each handed to `dropped`); when every key is active the
   * newcomer is refused and counted by the capacity guard, so the keys within the cap still alert.
   * Returns whether it was added; `admitted` is then `out` with what this added (the keys resolved
   * to make room, or the capacity alert).
   *
   * No callback is built here by the caller: a closure in the method that records every event
   * makes V8 allocate that method's context on every call, new key or not.
   */
  admit(
    key: string,
    state: S,
    timeMs: number,
    nowMs: number,
    idleBeforeMs: number,
    dropped: Dropped<S>,
    out: DetectorFinding[] | null,
  ): boolean {
    let found = out;
    const room = this.map.makeRoom(this.maxKeys, idleBeforeMs, (evictedKey, evicted, reason) => {
      this.activeKeys.delete(evictedKey);
      found = dropped(evictedKey, evicted, reason, nowMs, found);
    });
    if (room) this.map.touch(key, state, timeMs);
    else found = this.capacity.refused(key, this.map.size, nowMs, found);
    this.admitted = found;
    return room;
  }

  /** The findings after the last `admit` (see there). */
  admitted: DetectorFinding[] | null = null;

  get(key: string): S | undefined {
    return this.map.get(key);
  }

  /** Re-check every active key at `nowMs` (a key left without a state leaves the active). */
  recheck(
    nowMs: number,
    recheck: (
      key: string,
      state: S,
      nowMs: number,
      out: DetectorFinding[] | null,
    ) => DetectorFinding[] | null,
    out: DetectorFinding[] | null,
  ): DetectorFinding[] | null {
    // Most upkeeps find no key active: return before iterating the Set builds an iterator.
    if (this.activeKeys.size === 0) return out;
    let found = out;
    for (const key of this.activeKeys) {
      const state = this.map.get(key);
      if (state === undefined) {
        this.activeKeys.delete(key);
        continue;
      }
      found = recheck(key, state, nowMs, found);
    }
    return found;
  }

  /** Evict keys idle since before `cutoffMs` and any beyond the cap at `nowMs`, each handed to `dropped`. */
  evictIdle(
    nowMs: number,
    cutoffMs: number,
    dropped: Dropped<S>,
    out: DetectorFinding[] | null,
  ): DetectorFinding[] | null {
    if (!this.map.needsEviction(cutoffMs, this.maxKeys)) return out;
    let found = out;
    this.map.evict(cutoffMs, this.maxKeys, (key, state, reason) => {
      this.activeKeys.delete(key);
      found = dropped(key, state, reason, nowMs, found);
    });
    return found;
  }

  /** One saved item per key, least recently active first. */
  toState(item: (key: string, state: S) => unknown): unknown[] {
    const items: unknown[] = [];
    for (const [key, state] of this.map.entries) items.push(item(key, state));
    return items;
  }

  /**
   * Replace every state with `entries` (read from a snapshot, in its order; a key listed twice keeps
   * its later state at its first place); `isActive` tells which are pending or firing.
   */
  load(entries: Iterable<readonly [string, S]>, isActive: (state: S) => boolean): void {
    const map = new ActivityMap<S>();
    const active = new Set<string>();
    for (const [key, state] of entries) {
      map.set(key, state);
      if (isActive(state)) active.add(key);
    }
    this.map = map;
    this.activeKeys = active;
  }
}

/**
 * A firing key leaving its map (idle, or room for a newcomer) must not leave its alert open: it
 * stops firing and `resolved` builds the finding.
 */
export function resolveIfFiring<S extends { firing: boolean }>(
  state: S,
  out: DetectorFinding[] | null,
  resolved: (state: S) => DetectorFinding,
): DetectorFinding[] | null {
  if (!state.firing) return out;
  state.firing = false;
  return appendFinding(out, resolved(state));
}

/**
 * The frame of the windowed rule detectors (CPU, memory, error rate, brute force): an event-time
 * clock, and `advance` as upkeep at the time asked for. Each detector's `observe` stays its own
 * (the hot path: one class per call site).
 */
export abstract class WindowedRuleDetector implements Detector {
  abstract readonly name: string;
  protected readonly clock = new UpkeepClock();

  abstract observe(event: LogEvent): readonly DetectorFinding[];
  abstract idle(): boolean;
  abstract snapshot(): unknown;
  abstract restore(state: unknown): void;

  advance(nowMs: number): readonly DetectorFinding[] {
    const at = this.clock.advance(nowMs);
    return at === null ? NO_FINDINGS : (this.maintain(at, null) ?? NO_FINDINGS);
  }

  /**
   * The upkeep when due at `nowMs` (see `UpkeepClock.due`); `observe` calls this after recording.
   * The upkeep itself is a method of its own: its callbacks capture the findings, and a function
   * with such a closure allocates its context on every call, due or not.
   */
  protected maintain(nowMs: number, out: DetectorFinding[] | null): DetectorFinding[] | null {
    return this.clock.due(nowMs) ? this.upkeep(nowMs, out) : out;
  }

  /** Re-check the active keys and evict idle ones; findings go to `out`. */
  protected abstract upkeep(nowMs: number, out: DetectorFinding[] | null): DetectorFinding[] | null;
}

/** The window a per-service state slides, saves and loads. */
export interface ServiceWindow {
  slideTo(nowMs: number): void;
  toState(): unknown;
  loadState(detector: string, state: unknown): void;
}

/** The window a per-service state slides, saves and loads. */
export interface ServiceWindow {
  slideTo(nowMs: number): void;
  toState(): unknown;
  loadState(detector: string, state: unknown): void;
}

/** What every per-service state holds: the base class saves and restores these fields. */
export interface ServiceStateBase<W extends ServiceWindow = ServiceWindow> {
  window: W;
  sinceMs: number;
  lastSeenMs: number;
  /** Recent events while pending or firing: the evidence shown when resolving. */
  recent: SampleRing;
}

/**
 * The per-service windowed detectors (CPU, memory, error rate): one window per service, the active
 * services re-checked once a second as their windows slide, then the cap, then services silent for
 * `staleMs` evicted (a firing one resolves with reason no_data).
 */
export abstract class ServiceRuleDetector<S extends ServiceStateBase> extends WindowedRuleDetector {
  protected abstract readonly services: KeyedStates<S>;
  protected abstract readonly staleMs: number;
  /** A service leaves the map (stale, or room for a newcomer): if firing, it resolves. */
  protected abstract readonly dropService: Dropped<S>;
  protected abstract readonly stateVersion: number;
  /** An empty window of this detector's length. */
  protected abstract newWindow(): S["window"];
  /** A service's snapshot fields beyond the common ones (window, sinceMs, lastSeenMs, recent). */
  protected abstract ownState(state: S): Record<string, unknown>;
  /**
   * A service's state from its snapshot entry, the common fields already read. Build it with the
   * fields in the order `observe` creates them, so restored states share the fresh ones' shape.
   */
  protected abstract restoreService(item: Record<string, unknown>, common: ServiceStateBase<S["window"]>): S;
  /** Whether a service is pending or firing (re-checked every second). */
  protected abstract isActive(state: S): boolean;

  snapshot(): unknown {
    return {
      ...this.clock.header(this.name, this.stateVersion),
      services: this.services.toState((service, state) => ({
        service,
        window: state.window.toState(),
        sinceMs: state.sinceMs,
        lastSeenMs: state.lastSeenMs,
        recent: state.recent.toState(),
        ...this.ownState(state),
      })),
      capacity: this.services.capacity.toState(),
    };
  }

  restore(state: unknown): void {
    const { record, clock } = readClockHeader(this.name, state, this.stateVersion);
    const services = readServiceEntries(this.name, record).map(({ service, item }) => {
      const window = this.newWindow();
      window.loadState(this.name, item.window);
      const common: ServiceStateBase<S["window"]> = {
        window,
        sinceMs: readFiniteNumber(this.name, item, "sinceMs"),
        lastSeenMs: readFiniteNumber(this.name, item, "lastSeenMs"),
        recent: SampleRing.fromState(this.name, item.recent),
      };
      return [service, this.restoreService(item, common)] as const;
    });
    this.services.capacity.loadState(record.capacity);
    this.services.load(services, (s) => this.isActive(s));
    this.clock.load(clock);
  }

  /** A new service's state, at its first event. */
  protected abstract newState(event: LogEvent, nowMs: number): S;
  /** A service quiet for this long may make room for a newcomer when the map is full. */
  protected abstract readonly roomAfterMs: number;

  /**
   * The event's service state, touched; for a new service a fresh one (`newState`), added if there
   * is room. Undefined when there is none. `services.admitted` then holds the findings of making
   * room (null for a known service).
   */
  protected serviceState(event: LogEvent, nowMs: number): S | undefined {
    const known = this.services.touchIfPresent(event.service, event.timeMs);
    if (known !== undefined) {
      this.services.admitted = null;
      return known;
    }
    const fresh = this.newState(event, nowMs);
    const room = nowMs - this.roomAfterMs;
    return this.services.admit(event.service, fresh, event.timeMs, nowMs, room, this.dropService, null)
      ? fresh
      : undefined;
  }

  idle(): boolean {
    return this.services.idle();
  }

  protected upkeep(nowMs: number, out: DetectorFinding[] | null): DetectorFinding[] | null {
    const found = this.services.recheck(nowMs, this.recheckService, out);
    return this.services.evictIdle(
      nowMs,
      nowMs - this.staleMs,
      this.dropService,
      this.services.checkCapacity(nowMs, found),
    );
  }

  /** Apply the state machine to a service at `nowMs`, its window already slid there (no new reading). */
  protected abstract evaluateAt(
    service: string,
    state: S,
    nowMs: number,
    out: DetectorFinding[] | null,
  ): DetectorFinding[] | null;

  private readonly recheckService = (
    service: string,
    state: S,
    nowMs: number,
    out: DetectorFinding[] | null,
  ): DetectorFinding[] | null => {
    state.window.slideTo(nowMs);
    return this.evaluateAt(service, state, nowMs, out);
  };
}
