import type { MutedAlert } from "../alerts/muted.js";
import { ALERT_TYPES, type AlertType, SEVERITIES, type Severity } from "../alerts/types.js";
import { incidentId } from "../remediation/audit.js";
import type { AuditRecord } from "../remediation/types.js";
import type { AlertIdentity, HistoryEvent } from "./types.js";
import { parseIncidentId } from "./types.js";

/** Incidents whose identity is remembered for the records that do not carry it (actions, outcomes). */
const MAX_TRACKED_INCIDENTS = 10_000;

/**
 * Turns the audit trail (the causal chain per incident that the responder already keeps) into
 * history events. Detection records carry the alert's identity; later records of the same incident
 * (skips, actions, outcomes) do not, so the identity is remembered per incident, boundedly. A record
 * whose incident was never seen is counted in `unattributed` and left out rather than filed wrongly.
 */
export class HistoryEventBuilder {
  private readonly identities = new Map<string, AlertIdentity>();
  unattributed = 0;

  /** Teach the builder an identity it cannot see in the records (the processor's silenced alerts). */
  remember(identity: AlertIdentity): void {
    this.identities.delete(identity.incident);
    this.identities.set(identity.incident, identity);
    if (this.identities.size > MAX_TRACKED_INCIDENTS) {
      const oldest = this.identities.keys().next();
      if (!oldest.done) this.identities.delete(oldest.value);
    }
  }

  /**
   * Alerts a silence or an inhibit rule muted (Pipeline.takeMuted): one event per alert episode and
   * silence, or per episode inhibited.
   */
  fromMuted(muted: readonly MutedAlert[]): HistoryEvent[] {
    return muted.map((m): HistoryEvent => {
      const { alert, atMs } = m;
      const identity: AlertIdentity = {
        incident: incidentId(alert.fingerprint, alert.startsAtMs),
        fingerprint: alert.fingerprint,
        type: alert.type,
        service: alert.service,
        entity: alert.entity,
      };
      this.remember(identity);
      if (m.kind === "inhibited") {
        return {
          ...identity,
          kind: "inhibited",
          id: `inhibited#${m.byIncident}`,
          atMs,
          byIncident: m.byIncident,
          reason: m.reason,
        };
      }
      return {
        ...identity,
        kind: "silenced",
        id: `silenced#${m.silenceId}`,
        atMs,
        silenceId: m.silenceId,
        reason: m.reason,
      };
    });
  }

  fromAudit(records: readonly AuditRecord[]): HistoryEvent[] {
    const out: HistoryEvent[] = [];
    for (const record of records) {
      const event = this.convert(record);
      if (event === null) continue;
      if (Array.isArray(event)) out.push(...event);
      else out.push(event);
    }
    return out;
  }

  private identityFor(record: AuditRecord): AlertIdentity | null {
    const d = record.data;
    const type = str(d.type);
    const service = str(d.service);
    if (
      (record.stage === "detection" || record.stage === "alert") &&
      isAlertType(type) &&
      service !== "" &&
      parseIncidentId(record.incident) !== null
    ) {
      const identity: AlertIdentity = {
        incident: record.incident,
        fingerprint: parseIncidentId(record.incident)!.fingerprint,
        type,
        service,
        entity: str(d.entity),
      };
      this.remember(identity);
      return identity;
    }
    return this.identities.get(record.incident) ?? null;
  }

  private convert(record: AuditRecord): HistoryEvent | HistoryEvent[] | null {
    if (record.stage === "first_log") {
      // The detection record that carries the identity comes right after; hold it until then.
      this.pendingFirstLog = record;
      return null;
    }
    const identity = this.identityFor(record);
    if (identity === null) {
      this.unattributed++;
      return null;
    }
    const d = record.data;
    const base = { ...identity, atMs: record.atMs };
    const out: HistoryEvent[] = [];
    const pending = this.pendingFirstLog;
    if (pending !== null && pending.incident === record.incident) {
      const line = pending.data.line as { message?: unknown } | undefined;
      out.push({
        ...identity,
        kind: "first_log",
        id: `first_log#${pending.atMs}`,
        atMs: pending.atMs,
        message: str(line?.message).slice(0, 500),
      });
    }
    this.pendingFirstLog = null;
    switch (record.stage) {
      case "detection": {
        const state = d.status === "resolved" ? "resolved" : "firing";
        out.push({
          ...base,
          kind: "transition",
          id: `transition#${record.atMs}#${state}`,
          state,
          severity: isSeverity(d.severity) ? d.severity : "warning",
          summary: str(d.summary),
          observed: num(d.observed),
          threshold: num(d.threshold),
          unit: str(d.unit),
          sinceMs: num(d.sinceMs, record.atMs),
        });
        break;
      }
      case "alert":
        // The "alert" record repeats what the first notification says.
        break;
      case "notification": {
        const sinks = Array.isArray(d.sinks) ? (d.sinks as Record<string, unknown>[]) : [];
        for (const sink of sinks) {
          const outcome = sink.status === "ok" ? "ok" : sink.status === "retryable" ? "retryable" : "error";
          out.push({
            ...base,
            kind: "notification",
            id: `notification#${str(d.notificationId)}#${str(sink.sink)}`,
            notificationId: str(d.notificationId),
            sink: str(sink.sink),
            reason: str(d.reason),
            status: d.alertStatus === "resolved" ? "resolved" : "firing",
            outcome,
            attempts: num(sink.attempts, 1),
            error: typeof sink.error === "string" ? sink.error : null,
          });
        }
        break;
      }
      case "action":
        out.push({
          ...base,
          kind: "action",
          id: `action#${str(d.actionId)}#${str(d.type)}`,
          actionId: str(d.actionId),
          actionType: str(d.type),
          target: str(d.target),
          dryRun: d.dryRun === true,
          outcome: d.result === "ok" ? "ok" : d.result === "retryable" ? "retryable" : "error",
          detail: str(d.detail ?? d.error),
        });
        break;
      case "skip":
        out.push({
          ...base,
          kind: "skip",
          id: `skip#${record.atMs}#${str(d.reason)}`,
          reason: str(d.reason),
          detail: str(d.detail),
        });
        break;
      case "outcome":
        out.push({
          ...base,
          kind: "outcome",
          id: `outcome#${record.atMs}#${str(d.actionType)}`,
          actionType: str(d.actionType),
          status: str(d.status),
          detail: str(d.detail),
        });
        break;
    }
    return out;
  }

  private pendingFirstLog: AuditRecord | null = null;
}

function str(value: unknown): string {
  return typeof value === "string" ? value : value === undefined || value === null ? "" : String(value);
}

function num(value: unknown, fallback = 0): number {
  return typeof value === "number" && Number.isFinite(value) ? value : fallback;
}

function isAlertType(value: string): value is AlertType {
  return (ALERT_TYPES as readonly string[]).includes(value);
}

function isSeverity(value: unknown): value is Severity {
  return typeof value === "string" && (SEVERITIES as readonly string[]).includes(value);
}
