import { fingerprint } from "../alerts/fingerprint.js";
import type { Alert, DetectorFinding, Notification } from "../alerts/types.js";
import type { SinkReport } from "../sinks/fanout.js";
import type {
  AuditRecord,
  ExecutionResult,
  RemediationAction,
  RemediationDecision,
  RemediationOutcome,
} from "./types.js";

/**
 * One incident is one firing episode of one alert: its fingerprint plus the event time it started
 * firing. Remediation action ids use the same string, so actions and outcomes join without lookups.
 */
export function incidentId(alertFingerprint: string, startsAtMs: number): string {
  return `${alertFingerprint}:${startsAtMs}`;
}

export function firstLogRecord(incident: string, finding: DetectorFinding): AuditRecord | null {
  const first = finding.samples[0];
  if (first === undefined) return null;
  const atMs = Date.parse(first.timestamp);
  return {
    incident,
    stage: "first_log",
    atMs: Number.isFinite(atMs) ? atMs : finding.sinceMs,
    data: { line: first },
  };
}

export function detectionRecord(incident: string, finding: DetectorFinding): AuditRecord {
  return {
    incident,
    stage: "detection",
    atMs: finding.atMs,
    data: {
      status: finding.status,
      type: finding.type,
      service: finding.service,
      entity: finding.entity,
      severity: finding.severity,
      summary: finding.summary,
      observed: finding.observed,
      threshold: finding.threshold,
      unit: finding.unit,
      windowMs: finding.windowMs,
      sinceMs: finding.sinceMs,
    },
  };
}

export function alertRecord(alert: Alert, n: Notification): AuditRecord {
  return {
    incident: incidentId(alert.fingerprint, alert.startsAtMs),
    stage: "alert",
    atMs: n.atMs,
    data: {
      fingerprint: alert.fingerprint,
      type: alert.type,
      service: alert.service,
      entity: alert.entity,
      severity: alert.severity,
      startsAtMs: alert.startsAtMs,
      groupKey: n.groupKey,
      runbook: alert.annotations.runbook,
    },
  };
}

export function notificationRecord(
  alert: Alert,
  n: Notification,
  reports: readonly SinkReport[],
): AuditRecord {
  return {
    incident: incidentId(alert.fingerprint, alert.startsAtMs),
    stage: "notification",
    atMs: n.atMs,
    data: {
      notificationId: n.id,
      groupKey: n.groupKey,
      reason: n.reason,
      status: n.status,
      alertStatus: alert.status,
      sinks: reports.map((r) => ({
        ...(r.result.status === "ok"
          ? { sink: r.sink, status: "ok", ms: Math.round(r.ms) }
          : { sink: r.sink, status: r.result.status, error: r.result.error, ms: Math.round(r.ms) }),
        ...(r.result.attempts === undefined ? {} : { attempts: r.result.attempts }),
      })),
    },
  };
}

export function skipRecord(
  incident: string,
  decision: Extract<RemediationDecision, { kind: "skip" }>,
  nowMs: number,
): AuditRecord {
  return {
    incident,
    stage: "skip",
    atMs: nowMs,
    data: { reason: decision.reason, detail: decision.detail, alertType: decision.alertType },
  };
}

export function actionRecord(action: RemediationAction, result: ExecutionResult): AuditRecord {
  return {
    incident: action.id,
    stage: "action",
    atMs: action.requestedAtMs,
    data: {
      actionId: action.id,
      type: action.type,
      service: action.service,
      target: action.target,
      dryRun: action.dryRun,
      expiresAtMs: action.expiresAtMs,
      reason: action.reason,
      result: result.status,
      ...(result.status === "ok" ? { detail: result.detail } : { error: result.error }),
    },
  };
}

export function outcomeRecord(outcome: RemediationOutcome): AuditRecord {
  return {
    incident: outcome.actionId,
    stage: "outcome",
    atMs: outcome.checkedAtMs,
    data: { status: outcome.status, actionType: outcome.actionType, detail: outcome.detail },
  };
}

interface Episode {
  startsAtMs: number;
  firing: boolean;
}

/** Fingerprints remembered for joining skips to incidents; old ones go first beyond this. */
const MAX_TRACKED_EPISODES = 10_000;

/**
 * Collects the audit trail in order: for each incident the chain first_log, detection, alert,
 * notification, action or skip, outcome. It only builds records; writing them (JSON lines to a
 * file, CloudWatch) is the caller's job via `drain()`.
 */
export class AuditTrail {
  private records: AuditRecord[] = [];
  private listener: ((record: AuditRecord) => void) | null = null;
  /** Latest episode per alert fingerprint. */
  private readonly episodes = new Map<string, Episode>();
  /** Incidents whose "alert" record is written, so a repeat notification does not write another. */
  private readonly alerted = new Set<string>();

  /** A detector state change. The first firing of an episode also records its first log line. */
  detection(finding: DetectorFinding): void {
    const fp = fingerprint(finding.type, finding.service, finding.entity);
    const known = this.episodes.get(fp);
    if (finding.status === "firing") {
      if (known?.firing) {
        this.add(detectionRecord(incidentId(fp, known.startsAtMs), finding));
        return;
      }
      const incident = incidentId(fp, finding.atMs);
      this.track(fp, { startsAtMs: finding.atMs, firing: true });
      const first = firstLogRecord(incident, finding);
      if (first !== null) this.add(first);
      this.add(detectionRecord(incident, finding));
      return;
    }
    const startsAtMs = known?.startsAtMs ?? finding.sinceMs;
    this.track(fp, { startsAtMs, firing: false });
    this.add(detectionRecord(incidentId(fp, startsAtMs), finding));
  }

  /** A notification and how each sink took it: one record per alert it carried. */
  notification(n: Notification, reports: readonly SinkReport[]): void {
    for (const alert of n.alerts) {
      const incident = incidentId(alert.fingerprint, alert.startsAtMs);
      if (!this.episodes.has(alert.fingerprint)) {
        this.track(alert.fingerprint, { startsAtMs: alert.startsAtMs, firing: alert.status === "firing" });
      }
      if (alert.status === "firing" && !this.alerted.has(incident)) {
        this.alerted.add(incident);
        this.add(alertRecord(alert, n));
      }
      this.add(notificationRecord(alert, n, reports));
      if (alert.status === "resolved") this.alerted.delete(incident);
    }
  }

  skip(decision: RemediationDecision, nowMs: number): void {
    if (decision.kind !== "skip") return;
    const startsAtMs =
      decision.alertStartsAtMs ?? this.episodes.get(decision.alertFingerprint)?.startsAtMs ?? nowMs;
    const incident = incidentId(decision.alertFingerprint, startsAtMs);
    this.add(skipRecord(incident, decision, nowMs));
  }

  action(action: RemediationAction, result: ExecutionResult): void {
    this.add(actionRecord(action, result));
  }

  outcome(outcome: RemediationOutcome): void {
    this.add(outcomeRecord(outcome));
  }

  /** Also hand each record to `listener` as it is made (one at most; null removes it), drained or not. */
  onRecord(listener: ((record: AuditRecord) => void) | null): void {
    this.listener = listener;
  }

  /** Records since the last drain, oldest first. */
  drain(): AuditRecord[] {
    const out = this.records;
    this.records = [];
    return out;
  }

  private add(record: AuditRecord): void {
    this.records.push(record);
    this.listener?.(record);
  }

  private track(fp: string, episode: Episode): void {
    this.episodes.delete(fp);
    this.episodes.set(fp, episode);
    if (this.episodes.size > MAX_TRACKED_EPISODES) {
      const oldest = this.episodes.keys().next();
      if (!oldest.done) this.episodes.delete(oldest.value);
    }
    if (this.alerted.size > MAX_TRACKED_EPISODES) this.alerted.clear();
  }
}
