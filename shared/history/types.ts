import type { AlertType, Severity } from "../alerts/types.js";

/**
 * The alert history: what happened to every incident (one firing episode of one alert, the audit
 * trail's incident id `fingerprint:startsAtMs`), plus the silences. Pure types; the stores live at
 * the edges (SQLite in local/, DynamoDB in functions/) and pass one contract suite.
 */

export const HISTORY_EVENT_KINDS = [
  "first_log",
  "transition",
  "notification",
  "action",
  "skip",
  "outcome",
  "silenced",
  "inhibited",
] as const;
export type HistoryEventKind = (typeof HISTORY_EVENT_KINDS)[number];

/** Who the event is about: enough to file it under its incident, service and day. */
export interface AlertIdentity {
  incident: string;
  fingerprint: string;
  type: AlertType;
  service: string;
  entity: string;
}

interface EventBase extends AlertIdentity {
  /** Unique within the incident and stable for the same fact, so writing it twice is harmless. */
  id: string;
  atMs: number;
}

export interface FirstLogEvent extends EventBase {
  kind: "first_log";
  message: string;
}

/** The detector reported the alert firing (again, with new numbers) or resolved. */
export interface TransitionEvent extends EventBase {
  kind: "transition";
  state: "firing" | "resolved";
  severity: Severity;
  summary: string;
  observed: number;
  threshold: number;
  unit: string;
  /** When the condition began (start of pending), event time. */
  sinceMs: number;
}

/** One notification through one sink. */
export interface NotificationEvent extends EventBase {
  kind: "notification";
  notificationId: string;
  sink: string;
  reason: string;
  status: "firing" | "resolved";
  outcome: "ok" | "retryable" | "error";
  attempts: number;
  error: string | null;
}

export interface ActionEvent extends EventBase {
  kind: "action";
  actionId: string;
  actionType: string;
  target: string;
  dryRun: boolean;
  outcome: "ok" | "retryable" | "error";
  detail: string;
}

/** The remediation policy chose not to act. */
export interface SkipEvent extends EventBase {
  kind: "skip";
  reason: string;
  detail: string;
}

/** Whether an action worked, checked some time after it ran. */
export interface OutcomeEvent extends EventBase {
  kind: "outcome";
  actionType: string;
  status: string;
  detail: string;
}

/** A notification about this alert was muted by a silence. */
export interface SilencedEvent extends EventBase {
  kind: "silenced";
  silenceId: string;
  reason: string;
}

/** A notification about this alert was held back because another alert explains it. */
export interface InhibitedEvent extends EventBase {
  kind: "inhibited";
  /** The incident of the alert that inhibits this one. */
  byIncident: string;
  reason: string;
}

export type HistoryEvent =
  | FirstLogEvent
  | TransitionEvent
  | NotificationEvent
  | ActionEvent
  | SkipEvent
  | OutcomeEvent
  | SilencedEvent
  | InhibitedEvent;

/** One row of `history list`: an incident folded from its events. */
export interface IncidentSummary extends AlertIdentity {
  state: "firing" | "resolved";
  severity: Severity;
  /** Event time the alert started firing (also encoded in the incident id). */
  startsAtMs: number;
  endsAtMs: number | null;
  /** Earliest sign of trouble: the first matching log line or the start of pending. */
  firstSignMs: number | null;
  summary: string;
  observed: number;
  threshold: number;
  unit: string;
  firstNotifiedAtMs: number | null;
  notifications: number;
  actions: number;
  /** The latest remediation outcome, e.g. "effective" or "dry_run". */
  lastOutcome: string | null;
  silenced: boolean;
  updatedAtMs: number;
}

export interface IncidentQuery {
  /** Incidents that started at or after this instant. */
  sinceMs: number;
  /** ... and before this one (default: no upper bound). */
  untilMs?: number;
  service?: string;
  type?: AlertType;
  state?: "firing" | "resolved";
  /** At most this many, newest first (default 1000). */
  limit?: number;
}

export type SilenceMatcherKey = "type" | "service" | "entity" | "severity";

/** A silence made at run time (`npm run silence -- add`), in wall-clock time. */
export interface SilenceRecord {
  id: string;
  matchers: Partial<Record<SilenceMatcherKey, string>>;
  startsAtMs: number;
  endsAtMs: number;
  reason: string;
  createdBy: string;
  /** Set when expired by hand before its end. */
  expiredAtMs: number | null;
}

export interface HistoryStore {
  readonly kind: "sqlite" | "dynamodb";
  /** Append events; an event already stored (same incident and id) is left as it is. */
  append(events: readonly HistoryEvent[]): Promise<void>;
  listIncidents(query: IncidentQuery): Promise<IncidentSummary[]>;
  /** The incident's summary, or null when unknown. */
  incident(incident: string): Promise<IncidentSummary | null>;
  /** Every event of one incident, oldest first. */
  timeline(incident: string): Promise<HistoryEvent[]>;
  putSilence(silence: SilenceRecord): Promise<void>;
  /** End a silence now; null when there is no such silence. */
  expireSilence(id: string, nowMs: number): Promise<SilenceRecord | null>;
  /** Every stored silence, newest first. */
  listSilences(): Promise<SilenceRecord[]>;
  close(): Promise<void>;
}

export const DAY_MS = 86_400_000;

/** UTC day of an instant as YYYY-MM-DD (partition and stats key). */
export function utcDay(ms: number): string {
  return new Date(Math.floor(ms / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
}

/** The alert's start, read back from an incident id `fingerprint:startsAtMs`; null if malformed. */
export function parseIncidentId(incident: string): { fingerprint: string; startsAtMs: number } | null {
  const match = /^([0-9a-f]{16}):(-?\d{1,16})$/.exec(incident);
  if (match === null) return null;
  const startsAtMs = Number(match[2]);
  return Number.isSafeInteger(startsAtMs) ? { fingerprint: match[1] as string, startsAtMs } : null;
}

export function silenceActive(silence: SilenceRecord, nowMs: number): boolean {
  return (
    silence.startsAtMs <= nowMs &&
    nowMs < silence.endsAtMs &&
    (silence.expiredAtMs === null || nowMs < silence.expiredAtMs)
  );
}
