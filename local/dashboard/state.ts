import { type Silence, silenceMatches } from "../../shared/alerts/silence.js";
import type { Alert, AlertType, Severity } from "../../shared/alerts/types.js";
import type { Evaluation } from "../../shared/eval/truth.js";
import type { HistoryEvent, IncidentSummary } from "../../shared/history/types.js";
import type { AuditRecord } from "../../shared/remediation/types.js";
import type { SeriesPoint } from "./aggregate.js";

/** One step of an incident's story, in event time. */
export interface TimelineEntry {
  atMs: number;
  kind:
    | "first_log"
    | "fired"
    | "notified"
    | "silenced"
    | "inhibited"
    | "skipped"
    | "action_started"
    | "action_finished"
    | "action_outcome"
    | "resolved";
  text: string;
  /** ok / failed / retryable / effective / ... where the step has an outcome. */
  outcome?: string;
  /** Per sink, for "notified". */
  sinks?: { sink: string; status: string; error?: string }[];
}

/** One firing episode of one alert: its fingerprint and when it started (the audit trail's incident). */
export interface IncidentView {
  id: string;
  fingerprint: string;
  type: AlertType | null;
  service: string | null;
  entity: string;
  severity: Severity | null;
  startsAtMs: number;
  endsAtMs: number | null;
  status: "firing" | "resolved";
  /** Bumped on every change, so a client knows when to fetch the timeline again. */
  version: number;
  timeline: TimelineEntry[];
}

export type IncidentHeader = Omit<IncidentView, "timeline"> & { steps: number };

export interface FiringAlertView {
  fingerprint: string;
  incident: string;
  type: AlertType;
  service: string;
  entity: string;
  severity: Severity;
  startsAtMs: number;
  summary: string;
  /** The silence muting it now, if any. */
  silencedBy: string | null;
}

export interface NotificationView {
  id: string;
  atMs: number;
  groupKey: string;
  reason: string;
  status: string;
  /** Fingerprints it carried, each with that alert's status. */
  alerts: { fingerprint: string; status: string }[];
  sinks: { sink: string; status: string; error?: string }[];
}

export interface QualityView {
  precision: number;
  recall: number;
  falsePositives: number;
  missed: number;
  scenarios: { type: string; injected: number; detected: number; medianTimeToDetectS: number | null }[];
}

/** The run-wide figures the caller reads from the pipeline at each step. */
export interface RunTotals {
  nowMs: number;
  events: number;
  rejected: number;
  notifications: number;
  actions: number;
}

export interface DashboardSummary extends RunTotals {
  /** `history`: `npm run dashboard` over the alert history rather than a run. */
  mode: "generated" | "replay" | "history";
  finished: boolean;
  firing: FiringAlertView[];
  silences: { id: string; matchers: Silence["matchers"]; expiresAtMs: number; reason: string }[];
  /** The most recent notifications, newest last. */
  recentNotifications: NotificationView[];
  incidents: IncidentHeader[];
  quality: QualityView | null;
  latestPoint: SeriesPoint | null;
}

export const MAX_POINTS = 600;
export const MAX_INCIDENTS = 300;
export const MAX_TIMELINE = 100;
export const MAX_RECENT_NOTIFICATIONS = 50;

/**
 * What the dashboard shows, built from per-interval points, the audit trail's records and the
 * firing alerts at each step. Pure and bounded: the oldest points, incidents and notifications go
 * first; nothing here reads a clock or does I/O.
 */
export class DashboardState {
  private readonly points: { seq: number; point: SeriesPoint }[] = [];
  private nextSeq = 1;
  private readonly incidents = new Map<string, IncidentView>();
  private readonly notifications: NotificationView[] = [];
  private firing: FiringAlertView[] = [];
  private silences: Silence[] = [];
  private totals: RunTotals = { nowMs: 0, events: 0, rejected: 0, notifications: 0, actions: 0 };
  private quality: QualityView | null = null;
  private finished = false;

  constructor(readonly mode: DashboardSummary["mode"]) {}

  addPoint(point: SeriesPoint): void {
    this.points.push({ seq: this.nextSeq++, point });
    if (this.points.length > MAX_POINTS) this.points.shift();
  }

  /** Points added after sequence number `afterSeq` (0: all kept), with the last sequence number. */
  pointsSince(afterSeq: number): { lastSeq: number; points: SeriesPoint[] } {
    const out: SeriesPoint[] = [];
    for (const entry of this.points) if (entry.seq > afterSeq) out.push(entry.point);
    return { lastSeq: this.nextSeq - 1, points: out };
  }

  /** Fold one audit record into its incident's timeline. */
  record(record: AuditRecord): void {
    const data = record.data;
    switch (record.stage) {
      case "first_log":
        this.add(record.incident, record.atMs, {
          kind: "first_log",
          text: "first log line of the condition",
        });
        return;
      case "detection": {
        const incident = this.incident(record.incident, record.atMs);
        incident.type ??= data.type as AlertType;
        incident.service ??= str(data.service);
        incident.entity = str(data.entity) ?? incident.entity;
        incident.severity = (data.severity as Severity) ?? incident.severity;
        if (data.status === "firing") {
          const again = incident.timeline.some((e) => e.kind === "fired");
          this.add(record.incident, record.atMs, {
            kind: "fired",
            text: `${again ? "still firing" : "fired"}: ${str(data.summary) ?? ""}`,
          });
        } else {
          incident.status = "resolved";
          incident.endsAtMs = record.atMs;
          this.add(record.incident, record.atMs, { kind: "resolved", text: str(data.summary) ?? "resolved" });
        }
        return;
      }
      case "alert":
        // The "fired" entry comes from detection; the alert record only adds what the header shows.
        this.incident(record.incident, record.atMs).severity ??= data.severity as Severity;
        return;
      case "notification": {
        const sinks = Array.isArray(data.sinks) ? (data.sinks as NotificationView["sinks"]) : [];
        const failed = sinks.filter((s) => s.status !== "ok").length;
        this.add(record.incident, record.atMs, {
          kind: "notified",
          text: `notified (${str(data.reason)}, ${str(data.alertStatus)}) to ${
            sinks.length === 0 ? "no sink" : sinks.map((s) => `${s.sink}: ${s.status}`).join(", ")
          }`,
          outcome: sinks.length === 0 ? "none" : failed === 0 ? "ok" : "failed",
          sinks: sinks.map((s) => ({
            sink: s.sink,
            status: s.status,
            ...(s.error ? { error: s.error } : {}),
          })),
        });
        this.noteNotification(record, sinks);
        return;
      }
      case "skip":
        this.add(record.incident, record.atMs, {
          kind: "skipped",
          text: `remediation skipped (${str(data.reason)}): ${str(data.detail) ?? ""}`,
          outcome: str(data.reason) ?? "skipped",
        });
        return;
      case "action": {
        const what = `${str(data.type)} on ${str(data.target)}${data.dryRun === true ? " (dry run)" : ""}`;
        this.add(record.incident, record.atMs, { kind: "action_started", text: `action started: ${what}` });
        const result = str(data.result) ?? "unknown";
        this.add(record.incident, record.atMs, {
          kind: "action_finished",
          text: `action finished: ${what}: ${result}${data.detail ? `, ${str(data.detail)}` : ""}${
            data.error ? `, ${str(data.error)}` : ""
          }`,
          outcome: result,
        });
        return;
      }
      case "outcome":
        this.add(record.incident, record.atMs, {
          kind: "action_outcome",
          text: `action checked (${str(data.actionType)}): ${str(data.status)}, ${str(data.detail) ?? ""}`,
          outcome: str(data.status) ?? "unknown",
        });
        return;
    }
  }

  /**
   * The firing alerts and silences at event time `nowMs`. A firing alert newly muted by a silence
   * gets a "silenced" step on its incident, once per silence.
   */
  observeFiring(alerts: readonly Alert[], silences: readonly Silence[], nowMs: number): void {
    this.silences = silences.filter((s) => nowMs < s.expiresAtMs);
    this.firing = alerts.map((alert) => {
      const id = `${alert.fingerprint}:${alert.startsAtMs}`;
      const silence = this.silences.find((s) => silenceMatches(s, alert, nowMs)) ?? null;
      if (silence !== null) {
        const incident = this.incident(id, alert.startsAtMs);
        const marker = `silenced by ${silence.id}`;
        if (!incident.timeline.some((e) => e.kind === "silenced" && e.text.startsWith(marker))) {
          this.add(id, nowMs, { kind: "silenced", text: `${marker}: ${silence.reason}` });
        }
      }
      return {
        fingerprint: alert.fingerprint,
        incident: id,
        type: alert.type,
        service: alert.service,
        entity: alert.entity,
        severity: alert.severity,
        startsAtMs: alert.startsAtMs,
        summary: alert.annotations.summary,
        silencedBy: silence?.id ?? null,
      };
    });
  }

  setTotals(totals: RunTotals): void {
    this.totals = { ...totals };
  }

  setQuality(evaluation: Evaluation | null): void {
    this.quality =
      evaluation === null
        ? null
        : {
            precision: evaluation.precision,
            recall: evaluation.recall,
            falsePositives: evaluation.falsePositives,
            missed: evaluation.missed.length,
            scenarios: evaluation.scenarios.map((s) => ({
              type: s.type,
              injected: s.injected,
              detected: s.detected,
              medianTimeToDetectS: s.median_time_to_detect_s,
            })),
          };
  }

  finish(): void {
    this.finished = true;
  }

  incidentById(id: string): IncidentView | undefined {
    return this.incidents.get(id);
  }

  /** Alert markers for the charts: when each incident fired, on which service, of which type. */
  markers(): { atMs: number; service: string; type: AlertType }[] {
    const out: { atMs: number; service: string; type: AlertType }[] = [];
    for (const incident of this.incidents.values()) {
      if (incident.type !== null && incident.service !== null) {
        out.push({ atMs: incident.startsAtMs, service: incident.service, type: incident.type });
      }
    }
    return out;
  }

  summary(): DashboardSummary {
    const incidents: IncidentHeader[] = [];
    for (const incident of this.incidents.values()) {
      const { timeline, ...header } = incident;
      incidents.push({ ...header, steps: timeline.length });
    }
    return {
      mode: this.mode,
      finished: this.finished,
      ...this.totals,
      firing: this.firing,
      silences: this.silences.map((s) => ({
        id: s.id,
        matchers: { ...s.matchers },
        expiresAtMs: s.expiresAtMs,
        reason: s.reason,
      })),
      recentNotifications: [...this.notifications],
      incidents,
      quality: this.quality,
      latestPoint: this.points.at(-1)?.point ?? null,
    };
  }

  /**
   * Replace everything with what the alert history holds (`npm run dashboard`): incidents with
   * their timelines (oldest first), the firing ones, active silences, chart points and totals.
   */
  loadHistory(history: HistoryContents): void {
    this.incidents.clear();
    this.notifications.length = 0;
    for (const { summary, events } of history.incidents) {
      const incident = this.incident(summary.incident, summary.startsAtMs);
      Object.assign(incident, {
        type: summary.type,
        service: summary.service,
        entity: summary.entity,
        severity: summary.severity,
        endsAtMs: summary.endsAtMs,
        status: summary.state,
      });
      for (const event of events) {
        const entry = timelineEntryOf(event);
        if (entry !== null) this.add(summary.incident, event.atMs, entry);
      }
    }
    this.firing = history.incidents
      .filter(({ summary }) => summary.state === "firing")
      .map(({ summary }) => ({
        fingerprint: summary.fingerprint,
        incident: summary.incident,
        type: summary.type,
        service: summary.service,
        entity: summary.entity,
        severity: summary.severity,
        startsAtMs: summary.startsAtMs,
        summary: summary.summary,
        silencedBy: summary.silenced ? "history" : null,
      }));
    this.silences = history.silences;
    // Streams send points added since their last message: add only the hours that are new or whose
    // counts changed (the page replaces a point of the same hour), not the whole series every reload.
    const last = this.points.at(-1)?.point;
    for (const point of history.points) {
      if (last !== undefined && point.atMs < last.atMs) continue;
      if (last !== undefined && point.atMs === last.atMs && sameCounts(point, last)) continue;
      this.addPoint(point);
    }
    this.totals = history.totals;
  }

  private noteNotification(record: AuditRecord, sinks: NotificationView["sinks"]): void {
    const data = record.data;
    const id = str(data.notificationId) ?? `${record.atMs}`;
    const fingerprint = record.incident.slice(0, record.incident.lastIndexOf(":"));
    const alert = { fingerprint, status: str(data.alertStatus) ?? "unknown" };
    // One record per alert of a notification; they arrive together, so the last one is the match.
    const last = this.notifications.at(-1);
    if (last !== undefined && last.id === id) {
      last.alerts.push(alert);
      return;
    }
    this.notifications.push({
      id,
      atMs: record.atMs,
      groupKey: str(data.groupKey) ?? "",
      reason: str(data.reason) ?? "",
      status: str(data.status) ?? "",
      alerts: [alert],
      sinks,
    });
    if (this.notifications.length > MAX_RECENT_NOTIFICATIONS) this.notifications.shift();
  }

  private incident(id: string, atMs: number): IncidentView {
    let incident = this.incidents.get(id);
    if (incident !== undefined) return incident;
    const cut = id.lastIndexOf(":");
    const startsAtMs = Number(id.slice(cut + 1));
    incident = {
      id,
      fingerprint: cut > 0 ? id.slice(0, cut) : id,
      type: null,
      service: null,
      entity: "",
      severity: null,
      startsAtMs: Number.isFinite(startsAtMs) ? startsAtMs : atMs,
      endsAtMs: null,
      status: "firing",
      version: 0,
      timeline: [],
    };
    this.incidents.set(id, incident);
    if (this.incidents.size > MAX_INCIDENTS) this.evictOne();
    return incident;
  }

  private add(id: string, atMs: number, entry: Omit<TimelineEntry, "atMs">): void {
    const incident = this.incident(id, atMs);
    incident.timeline.push({ atMs, ...entry });
    // Keep the first step (how it began) and the most recent ones.
    if (incident.timeline.length > MAX_TIMELINE) incident.timeline.splice(1, 1);
    incident.version++;
  }

  /** Forget the oldest resolved incident, or the oldest one when all still fire. */
  private evictOne(): void {
    for (const [id, incident] of this.incidents) {
      if (incident.status === "resolved") {
        this.incidents.delete(id);
        return;
      }
    }
    const oldest = this.incidents.keys().next();
    if (!oldest.done) this.incidents.delete(oldest.value);
  }
}

function str(value: unknown): string | null {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return null;
}

/** What `loadHistory` shows; see local/dashboard/history.ts. */
export interface HistoryContents {
  /** Oldest first, each with its events oldest first. */
  incidents: { summary: IncidentSummary; events: HistoryEvent[] }[];
  silences: Silence[];
  points: SeriesPoint[];
  totals: RunTotals;
}

function sameCounts(a: SeriesPoint, b: SeriesPoint): boolean {
  for (const type of Object.keys(a.alertsByType) as AlertType[]) {
    if (a.alertsByType[type] !== b.alertsByType[type]) return false;
  }
  return true;
}

/** One history event as a timeline step (the same words as the live timeline). */
function timelineEntryOf(event: HistoryEvent): Omit<TimelineEntry, "atMs"> | null {
  switch (event.kind) {
    case "first_log":
      return { kind: "first_log", text: event.message };
    case "transition":
      return event.state === "firing"
        ? { kind: "fired", text: event.summary }
        : { kind: "resolved", text: event.summary };
    case "notification":
      return {
        kind: "notified",
        text: `${event.reason} via ${event.sink}${event.error === null ? "" : `: ${event.error}`}`,
        outcome: event.outcome,
        sinks: [
          {
            sink: event.sink,
            status: event.outcome,
            ...(event.error === null ? {} : { error: event.error }),
          },
        ],
      };
    case "action":
      return {
        kind: "action_finished",
        text: `${event.actionType} ${event.target}${event.dryRun ? " (dry run)" : ""}${event.detail ? `: ${event.detail}` : ""}`,
        outcome: event.outcome,
      };
    case "skip":
      return { kind: "skipped", text: `${event.reason}${event.detail ? `: ${event.detail}` : ""}` };
    case "outcome":
      return { kind: "action_outcome", text: `${event.actionType}: ${event.detail}`, outcome: event.status };
    case "silenced":
      return { kind: "silenced", text: `silenced by ${event.silenceId}: ${event.reason}` };
    case "inhibited":
      return { kind: "inhibited", text: `${event.reason} (${event.byIncident})` };
  }
}
