import { AlertManager, type NewSilence } from "./alerts/manager.js";
import { MutedAlerts, type SilencedAlert } from "./alerts/muted.js";
import type { Silence } from "./alerts/silence.js";
import type { Alert, AlertType, DetectorFinding, Notification } from "./alerts/types.js";
import type { PipelineConfig } from "./config/types.js";
import type { Detector } from "./detectors/detector.js";
import { DetectorStateError } from "./detectors/detector.js";
import { createRuleDetectors } from "./detectors/index.js";
import { type ParseResult, parseLogLine } from "./log/parse.js";
import type { LogEvent, RejectReason } from "./log/schema.js";
import { createMlDetector } from "./ml/detector.js";

export interface PipelineOptions {
  config: PipelineConfig;
  /** Replace the detectors built from the config (tests, or a deployment that wants only some). */
  detectors?: Detector[];
}

export interface PipelineStats {
  events: number;
  rejected: Partial<Record<RejectReason, number>>;
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
  detectors: Record<string, unknown>;
  alerts: unknown;
  stats: PipelineStats;
}

/**
 * How often (in event time) detectors get `advance` and the alert manager gets `flush` while events
 * flow. Alerting decisions are in whole seconds, so finer ticks would only cost throughput.
 */
const TICK_MS = 1000;

/**
 * The processing core shared by the local runner and the processor Lambda: parse, detect, and run
 * the alert lifecycle. It only computes; sending notifications and acting on them is the caller's job.
 */
export class Pipeline {
  readonly stats: PipelineStats = {
    events: 0,
    rejected: {},
    findings: 0,
    notifications: 0,
    alertsByType: {},
  };
  private readonly detectors: Detector[];
  private readonly alerts: AlertManager;
  private latestMs = Number.NEGATIVE_INFINITY;
  private nextTickMs = Number.NEGATIVE_INFINITY;
  private notifications: Notification[] = [];
  private findings: DetectorFinding[] = [];
  private readonly muted = new MutedAlerts();

  constructor(options: PipelineOptions) {
    const { config } = options;
    this.detectors = options.detectors ?? [
      ...createRuleDetectors(config),
      ...(config.detectors.ml.enabled ? [createMlDetector(config.detectors.ml)] : []),
    ];
    this.alerts = new AlertManager(config.alerting);
  }

  /** Parse one line and process it; a refused line is counted by reason and returned. */
  ingestLine(line: string): ParseResult {
    const parsed = parseLogLine(line);
    if (parsed.ok) this.ingestEvent(parsed.event);
    else this.stats.rejected[parsed.reason] = (this.stats.rejected[parsed.reason] ?? 0) + 1;
    return parsed;
  }

  ingestEvent(event: LogEvent): void {
    this.stats.events++;
    for (const detector of this.detectors) {
      const found = detector.observe(event);
      if (found.length > 0) this.accept(found);
    }
    if (event.timeMs > this.latestMs) this.latestMs = event.timeMs;
    if (this.latestMs >= this.nextTickMs) this.tick(this.latestMs);
  }

  /** Let event time pass with no events: windows expire, alerts resolve, groups flush. */
  advance(nowMs: number): void {
    if (nowMs > this.latestMs) this.latestMs = nowMs;
    this.tick(this.latestMs);
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

  /** Add (or replace, by id) a silence while running: run-time silences from the history store. */
  addSilence(silence: NewSilence): string {
    return this.alerts.addSilence(silence);
  }

  activeSilences(): Silence[] {
    return this.alerts.activeSilences(this.latestMs);
  }

  /** Alerts a silence kept out of notifications since the last call, once per episode and silence. */
  takeSilenced(): SilencedAlert[] {
    return this.muted.take();
  }

  isFiring(fingerprint: string): boolean {
    return this.alerts.isFiring(fingerprint);
  }

  firingAlerts(): Alert[] {
    return this.alerts.firing();
  }

  snapshot(): PipelineSnapshot {
    const detectors: Record<string, unknown> = {};
    for (const detector of this.detectors) detectors[detector.name] = detector.snapshot();
    return {
      version: 1,
      latestMs: this.latestMs,
      nextTickMs: this.nextTickMs,
      detectors,
      alerts: this.alerts.snapshot(),
      stats: structuredClone(this.stats),
    };
  }

  restore(snapshot: PipelineSnapshot): void {
    if (snapshot?.version !== 1) throw new DetectorStateError("pipeline", "unknown snapshot version");
    for (const detector of this.detectors) {
      const state = snapshot.detectors[detector.name];
      if (state !== undefined) detector.restore(state);
    }
    this.alerts.restore(snapshot.alerts);
    this.latestMs = snapshot.latestMs ?? Number.NEGATIVE_INFINITY;
    this.nextTickMs = snapshot.nextTickMs ?? Number.NEGATIVE_INFINITY;
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

  private tick(nowMs: number): void {
    for (const detector of this.detectors) {
      const found = detector.advance(nowMs);
      if (found.length > 0) this.accept(found);
    }
    const ready = this.alerts.flush(nowMs);
    this.muted.note(this.alerts.lastDecisions(), (fp) => this.alerts.get(fp), nowMs);
    if (ready.length > 0) {
      this.stats.notifications += ready.length;
      for (const n of ready) this.notifications.push(n);
    }
    this.nextTickMs = nowMs + TICK_MS;
  }
}
