import { AlertManager, type NewSilence } from "./alerts/manager.js";
import { type MutedAlert, MutedAlerts } from "./alerts/muted.js";
import type { Silence } from "./alerts/silence.js";
import type { Alert, AlertType, DetectorFinding, Notification } from "./alerts/types.js";
import type { PipelineConfig } from "./config/types.js";
import type { Detector } from "./detectors/detector.js";
import { createRuleDetectors } from "./detectors/index.js";
import { StateError } from "./errors.js";
import { type ParseResult, parseLogLine } from "./log/parse.js";
import { EVENT_TYPES, type EventType, type LogEvent, type RejectReason } from "./log/schema.js";
import { createMlDetector } from "./ml/detector.js";
import {
  type Admission,
  type SourceClockState,
  SourceClocks,
  type TimeReference,
} from "./time/source-clocks.js";

export interface PipelineOptions {
  config: PipelineConfig;
  /** Replace the detectors built from the config (tests, or a deployment that wants only some). */
  detectors?: Detector[];
  /**
   * What bounds event time: `wall` (live runs, Lambda; the caller calls `setWallClock`) or
   * `stream` (a replay: the stream's own corroborated progress). Default `stream`.
   */
  timeReference?: TimeReference;
}

/** The source name used when a caller does not say where a line came from. */
export const DEFAULT_SOURCE = "default";

export interface PipelineStats {
  events: number;
  rejected: Partial<Record<RejectReason, number>>;
  /** Accepted events older than their source's clock minus the allowed lateness. */
  late: number;
  findings: number;
  notifications: number;
  /** New firing episodes per alert type. */
  alertsByType: Partial<Record<AlertType, number>>;
}

export interface PipelineSnapshot {
  version: 1;
  latestMs: number;
  /** When the next tick is due; kept so a restored pipeline ticks at exactly the same event times. */
  nextTickMs: number;
  /** Per-source clocks (absent in snapshots from before they existed). */
  sources?: SourceClockState[];
  detectors: Record<string, unknown>;
  alerts: unknown;
  stats: PipelineStats;
}

/**
 * Detectors get `advance` and the alert manager gets `flush` at every whole second of event time
 * (the tick grid), whether events arrive or not. Alerting decisions are in whole seconds, so finer
 * ticks would only cost throughput. A fixed grid is what makes a jump of 93 s the same as 93 idle
 * ticks: both visit the same ticks in the same order.
 */
export const TICK_MS = 1000;

/**
 * Lines read ahead of processing by `ingestLines` (and records by the Lambda processor): enough
 * for each stage's code to stay hot for a while, few enough that the parsed events held at once
 * stay a small, fixed amount of memory. 64 to 1,024 measure alike.
 */
export const INGEST_RUN = 256;

/** The detectors that act on events of one kind and type, in configuration order. */
interface Observers {
  readonly detectors: readonly Detector[];
  /** Their bits in the pipeline's detector sets (see `detectorBit`). */
  readonly bits: number;
}

/**
 * Detectors beyond this many (in configuration order) are advanced at every tick, idle or not:
 * the sets of detectors are bit masks, kept within V8's small integers. A pipeline has eight.
 */
const MAX_DEFERRABLE = 30;

/** The i-th detector's bit in a set of detectors; 0 for one that is never deferred. */
function detectorBit(index: number): number {
  return index < MAX_DEFERRABLE ? 1 << index : 0;
}

/** A refused or parsed line, plus what the time checks made of it. */
export type AdmitResult = ParseResult & { admission: Admission | null };

/**
 * The processing core shared by the local runner and the processor Lambda: parse, detect, and run
 * the alert lifecycle. It only computes; sending notifications and acting on them is the caller's job.
 */
export class Pipeline {
  readonly stats: PipelineStats = {
    events: 0,
    rejected: {},
    late: 0,
    findings: 0,
    notifications: 0,
    alertsByType: {},
  };
  private readonly detectors: Detector[];
  /**
   * The detectors that act on an event of each kind and type, in configuration order; indexed by
   * `eventKind`, then keyed by event type. A native request line skips the sshd jail, the HTTP
   * probing and the brute-force detector without a call; a metric line visits only the threshold
   * detectors (and ML).
   */
  private readonly observers: ReadonlyMap<EventType, Observers>[];
  /** Every detector: for an event of a type outside the schema (a hand-built one). */
  private readonly everyDetector: Observers;
  /** Idle detectors spared the ticks since their last advance (see `tick`): each owes `lastTickMs`. */
  private deferred = 0;
  /** Detectors handed an event since the last tick. */
  private observedSinceTick = 0;
  /** The time of the latest tick run. */
  private lastTickMs = Number.NEGATIVE_INFINITY;
  private readonly alerts: AlertManager;
  private readonly clocks: SourceClocks;
  private latestMs = Number.NEGATIVE_INFINITY;
  private nextTickMs = Number.NEGATIVE_INFINITY;
  private notifications: Notification[] = [];
  private findings: DetectorFinding[] = [];
  private readonly muted = new MutedAlerts();
  /** How the muted-alert notes look alerts up: one function for every tick, not a closure per tick. */
  private readonly alertByFingerprint = (fp: string): Alert | undefined => this.alerts.get(fp);
  private eventObserver: ((event: LogEvent) => void) | null = null;

  constructor(options: PipelineOptions) {
    const { config } = options;
    this.detectors = options.detectors ?? [
      ...createRuleDetectors(config),
      ...(config.detectors.ml.enabled ? [createMlDetector(config.detectors.ml)] : []),
    ];
    const observersOf = (inSet: (detector: Detector) => boolean): Observers => {
      let bits = 0;
      this.detectors.forEach((detector, index) => {
        if (inSet(detector)) bits |= detectorBit(index);
      });
      return { detectors: this.detectors.filter(inSet), bits };
    };
    this.observers = [0, 1, 2, 3].map(
      (kind) =>
        new Map(EVENT_TYPES.map((type) => [type, observersOf((detector) => inScope(detector, kind, type))])),
    );
    this.everyDetector = observersOf(() => true);
    this.alerts = new AlertManager(config.alerting);
    this.clocks = new SourceClocks(config.time, options.timeReference ?? "stream");
  }

  /**
   * Parse one line and process it (with `process`, every tick due before it runs first). A refused
   * line is counted by reason and returned; a line held by its source's clock is processed later.
   */
  ingestLine(line: string, source: string = DEFAULT_SOURCE): ParseResult {
    return this.ingestParsed(parseLogLine(line), source);
  }

  /**
   * `ingestLine` for each line in order, with the same effect (refused lines are counted in
   * `stats.rejected`), but faster: the lines are parsed a run of `INGEST_RUN` at a time, and then
   * the run is processed. Parsing depends on no state of the pipeline, so the order of effects is
   * unchanged; what changes is that JSON.parse and the parser, then the detectors, each keep their
   * machine code in the CPU's instruction cache for a whole run, where line by line the two
   * stages evict each other (docs/benchmarks.md, "Processor throughput").
   */
  ingestLines(lines: readonly string[], source: string = DEFAULT_SOURCE): void {
    for (let from = 0; from < lines.length; from += INGEST_RUN) {
      const count = Math.min(INGEST_RUN, lines.length - from);
      const run: ParseResult[] = new Array(count);
      for (let i = 0; i < count; i++) run[i] = parseLogLine(lines[from + i] as string);
      for (let i = 0; i < count; i++) this.ingestParsed(run[i] as ParseResult, source);
    }
  }

  /** The rest of `ingestLine`, once the line is parsed. */
  private ingestParsed(parsed: ParseResult, source: string): ParseResult {
    if (parsed.ok && this.clocks.tryAccept(source, parsed.event.timeMs)) {
      // The common case, without allocating: in bounds, nothing held.
      if (this.clocks.lastAdmitLate) this.stats.late++;
      this.process(parsed.event);
      return parsed;
    }
    const result = this.admitParsed(parsed, source);
    if (result.admission !== null) for (const event of result.admission.ready) this.process(event);
    return result;
  }

  /** Count a line refused before it reached the parser (for example cut off by a reader's length cap). */
  countRejected(reason: RejectReason): void {
    this.stats.rejected[reason] = (this.stats.rejected[reason] ?? 0) + 1;
  }

  /** Parse and time-check one event without processing it; `admission.ready` are the events to `process`. */
  admitLine(line: string, source: string = DEFAULT_SOURCE): AdmitResult {
    return this.admitParsed(parseLogLine(line), source);
  }

  private admitParsed(parsed: ParseResult, source: string): AdmitResult {
    if (!parsed.ok) {
      this.stats.rejected[parsed.reason] = (this.stats.rejected[parsed.reason] ?? 0) + 1;
      return { ...parsed, admission: null };
    }
    const admission = this.admit(parsed.event, source);
    const own = admission.future.find((f) => f.event === parsed.event);
    if (own !== undefined) {
      return { ok: false, reason: "timestamp_in_future", detail: own.detail, admission };
    }
    return { ...parsed, admission };
  }

  /** Time-check an already parsed event; counts refusals and late events. */
  admit(event: LogEvent, source: string = DEFAULT_SOURCE): Admission {
    const admission = this.clocks.admit(source, event);
    this.countAdmission(admission);
    return admission;
  }

  /** The input ended: lines held for confirmation are processed or refused now. */
  endOfStream(): LogEvent[] {
    const admission = this.clocks.endOfStream();
    this.countAdmission(admission);
    return admission.ready;
  }

  /** Time-check and process one event. */
  ingestEvent(event: LogEvent, source: string = DEFAULT_SOURCE): void {
    for (const ready of this.admit(event, source).ready) this.process(ready);
  }

  /** Process one admitted event: every tick due at or before its time runs first. */
  process(admitted: LogEvent): void {
    const event = this.clocks.atMostWall(admitted);
    if (event.timeMs >= this.nextTickMs) {
      if (this.nextTickMs === Number.NEGATIVE_INFINITY) this.nextTickMs = gridAfter(event.timeMs);
      else while (this.step(event.timeMs) !== null) {}
    }
    this.stats.events++;
    if (this.eventObserver !== null) this.eventObserver(event);
    const observers = this.observers[eventKind(event)]?.get(event.event_type) ?? this.everyDetector;
    if ((this.deferred & observers.bits) !== 0) this.catchUp(observers.bits);
    this.observedSinceTick |= observers.bits;
    for (const detector of observers.detectors) {
      const found = detector.observe(event);
      if (found.length > 0) this.accept(found);
    }
    if (event.timeMs > this.latestMs) this.latestMs = event.timeMs;
  }

  /** The wall clock now, for the `wall` time reference (live runs, Lambda). */
  setWallClock(nowMs: number): void {
    this.clocks.setWallClock(nowMs);
  }

  /** Let event time pass with no events: every tick due up to `nowMs` runs, in order. */
  advance(nowMs: number): void {
    if (!Number.isFinite(nowMs)) return;
    if (this.nextTickMs === Number.NEGATIVE_INFINITY) this.nextTickMs = gridAtOrBefore(nowMs);
    while (this.step(nowMs) !== null) {}
    if (nowMs > this.latestMs) this.latestMs = nowMs;
  }

  /**
   * Run the next due tick at or before `targetMs` and return its time; null when none is due. When
   * nothing can change with time alone (no detector pending or firing, no alert group open), the
   * idle seconds are skipped in one step, but never past `wakeAtMs` (a caller's own due work, such
   * as a remediation outcome check): the result is the same as ticking every second.
   */
  step(targetMs: number, wakeAtMs: number = Number.POSITIVE_INFINITY): number | null {
    let at = this.nextTickMs;
    if (!(at <= targetMs) || at === Number.NEGATIVE_INFINITY) return null;
    // Asked only when a skip could go past the next tick: at a steady stream of events the target
    // is mostly within a second, and asking every detector whether it is idle would be wasted.
    const lastDueMs = gridAtOrBefore(targetMs);
    if (lastDueMs > at && this.idle()) {
      const wake = Number.isFinite(wakeAtMs) ? gridAtOrAfter(wakeAtMs) : Number.POSITIVE_INFINITY;
      at = Math.max(at, Math.min(lastDueMs, wake));
    }
    this.tick(at);
    if (at > this.latestMs) this.latestMs = at;
    return at;
  }

  /** True when letting time pass can change nothing until the next event. */
  idle(): boolean {
    if (!this.alerts.idle()) return false;
    for (let i = 0; i < this.detectors.length; i++) {
      // A deferred detector was idle and has had no event since: it still is.
      if ((this.deferred & detectorBit(i)) === 0 && this.detectors[i]?.idle?.() !== true) return false;
    }
    return true;
  }

  /** The next tick that will run (event time); -Infinity before the first event. */
  get nextTickAtMs(): number {
    return this.nextTickMs;
  }

  /** Notifications decided since the last call, in order. */
  takeNotifications(): Notification[] {
    const out = this.notifications;
    this.notifications = [];
    return out;
  }

  /** Detector state changes since the last call (for the audit trail and the evaluation). */
  takeFindings(): DetectorFinding[] {
    const out = this.findings;
    this.findings = [];
    return out;
  }

  /** Latest event time seen (or advanced to); -Infinity before any. */
  get nowMs(): number {
    return this.latestMs;
  }

  /**
   * Alerts a silence or an inhibit rule kept out of notifications since the last call, once per
   * episode and silence (or inhibition), for the alert history.
   */
  takeMuted(): MutedAlert[] {
    return this.muted.take();
  }

  isFiring(fingerprint: string): boolean {
    return this.alerts.isFiring(fingerprint);
  }

  /** Alerts an inhibit rule kept from notifying, by type (see AlertManager.inhibitedAlerts). */
  inhibitedAlerts(): Partial<Record<AlertType, number>> {
    return this.alerts.inhibitedAlerts();
  }

  firingAlerts(): Alert[] {
    return this.alerts.firing();
  }

  /**
   * Hand every accepted event to `observer` as well (one at most; null removes it). For cheap
   * accounting such as the live dashboard's per-second figures: it runs on the hot path.
   */
  observeEvents(observer: ((event: LogEvent) => void) | null): void {
    this.eventObserver = observer;
  }

  /** Add a silence at runtime (expiry in event time); returns its id. Throws on bad matchers. */
  addSilence(silence: NewSilence): string {
    return this.alerts.addSilence(silence);
  }

  /** Silences in force at event time `nowMs`, configured and runtime ones. */
  activeSilences(nowMs: number): Silence[] {
    return this.alerts.activeSilences(nowMs);
  }

  /**
   * The alert state alone (fingerprints, groups, silences): what the processor's partial save
   * writes between window saves, without serialising every detector and model.
   */
  snapshotAlerts(): unknown {
    return this.alerts.snapshot();
  }

  snapshot(): PipelineSnapshot {
    this.catchUp(this.everyDetector.bits);
    const detectors: Record<string, unknown> = {};
    for (const detector of this.detectors) detectors[detector.name] = detector.snapshot();
    return {
      version: 1,
      latestMs: this.latestMs,
      nextTickMs: this.nextTickMs,
      sources: this.clocks.snapshot(),
      detectors,
      alerts: this.alerts.snapshot(),
      stats: structuredClone(this.stats),
    };
  }

  restore(snapshot: PipelineSnapshot): void {
    if (snapshot?.version !== 1) throw new StateError("pipeline", "unknown snapshot version");
    // Ticks spared before the restore are owed first: a detector the snapshot lacks keeps its state.
    this.catchUp(this.everyDetector.bits);
    for (const detector of this.detectors) {
      const state = snapshot.detectors[detector.name];
      if (state !== undefined) detector.restore(state);
    }
    this.alerts.restore(snapshot.alerts);
    this.latestMs = snapshot.latestMs ?? Number.NEGATIVE_INFINITY;
    this.nextTickMs = snapshot.nextTickMs ?? Number.NEGATIVE_INFINITY;
    if (Number.isFinite(this.nextTickMs) && this.nextTickMs % TICK_MS !== 0) {
      // A snapshot from before the tick grid: continue on the grid.
      this.nextTickMs = gridAtOrAfter(this.nextTickMs);
    }
    this.clocks.restore(snapshot.sources);
    Object.assign(this.stats, structuredClone(snapshot.stats));
  }

  private accept(found: readonly DetectorFinding[]): void {
    for (const finding of found) {
      this.stats.findings++;
      if (finding.status === "firing") {
        this.stats.alertsByType[finding.type] = (this.stats.alertsByType[finding.type] ?? 0) + 1;
      }
      this.findings.push(finding);
      this.alerts.ingest(finding);
    }
  }

  /**
   * An idle detector is not advanced: it owes this tick, and is advanced once, to the last tick it
   * was spared, before its next event or snapshot (the `Detector.idle` contract makes that the
   * same). Most ticks then skip the detectors of sources the stream does not have (and the call
   * below sees fewer detector classes, so V8 need not look `advance` up generically). Only a
   * detector that had no event since the last tick is asked whether it is idle: one with events
   * every second is not worth asking, as its next event would take the catch-up at once.
   */
  private tick(nowMs: number): void {
    this.lastTickMs = nowMs;
    const detectors = this.detectors;
    for (let i = 0; i < detectors.length; i++) {
      const detector = detectors[i] as Detector;
      const bit = detectorBit(i);
      if (
        (this.deferred & bit) !== 0 ||
        (bit !== 0 && (this.observedSinceTick & bit) === 0 && detector.idle?.() === true)
      ) {
        this.deferred |= bit;
        continue;
      }
      const found = detector.advance(nowMs);
      if (found.length > 0) this.accept(found);
    }
    this.observedSinceTick = 0;
    const ready = this.alerts.flush(nowMs);
    if (this.alerts.mutedAtLastFlush()) {
      this.muted.note(this.alerts.lastDecisions(), this.alertByFingerprint, nowMs);
    }
    if (ready.length > 0) {
      this.stats.notifications += ready.length;
      for (const n of ready) this.notifications.push(n);
    }
    this.nextTickMs = nowMs + TICK_MS;
  }

  /** Advance the deferred detectors among `bits` to the last tick, which they were spared. */
  private catchUp(bits: number): void {
    const owing = this.deferred & bits;
    this.deferred &= ~bits;
    for (let i = 0; i < this.detectors.length; i++) {
      if ((owing & detectorBit(i)) === 0) continue;
      // An idle detector finds nothing with time alone; were one to, it still reaches the alerts.
      const found = (this.detectors[i] as Detector).advance(this.lastTickMs);
      if (found.length > 0) this.accept(found);
    }
  }

  private countAdmission(admission: Admission): void {
    if (admission.late) this.stats.late++;
    if (admission.future.length > 0) {
      this.stats.rejected.timestamp_in_future =
        (this.stats.rejected.timestamp_in_future ?? 0) + admission.future.length;
    }
  }
}

function gridAtOrBefore(ms: number): number {
  return Math.floor(ms / TICK_MS) * TICK_MS;
}

function gridAtOrAfter(ms: number): number {
  return Math.ceil(ms / TICK_MS) * TICK_MS;
}

/** The first tick strictly after `ms`. */
function gridAfter(ms: number): number {
  return gridAtOrBefore(ms) + TICK_MS;
}

/** Bit 1: an sshd event; bit 2: an event with HTTP request details (see DetectorScope). */
function eventKind(event: LogEvent): number {
  return (event.origin === "sshd" ? 1 : 0) | (event.http !== undefined ? 2 : 0);
}

function inScope(detector: Detector, kind: number, type: EventType): boolean {
  if (detector.eventTypes !== undefined && !detector.eventTypes.includes(type)) return false;
  const scope = detector.scope;
  if (scope === undefined) return true;
  return scope === "sshd" ? (kind & 1) !== 0 : (kind & 2) !== 0;
}
