import type { HistoryEvent, IncidentQuery, IncidentSummary } from "./types.js";
import { parseIncidentId } from "./types.js";

/**
 * Fold one event into its incident's summary (both stores keep the summary this way, so `list`
 * reads one row per incident instead of every event). Order-tolerant: events may arrive late or
 * twice and the summary still ends the same, because every field is a max, a min or a latest-by-time.
 */
export function foldIncident(previous: IncidentSummary | null, event: HistoryEvent): IncidentSummary {
  const startsAtMs = parseIncidentId(event.incident)?.startsAtMs ?? event.atMs;
  const s: IncidentSummary = previous
    ? { ...previous }
    : {
        incident: event.incident,
        fingerprint: event.fingerprint,
        type: event.type,
        service: event.service,
        entity: event.entity,
        state: "firing",
        severity: "warning",
        startsAtMs,
        endsAtMs: null,
        firstSignMs: null,
        summary: "",
        observed: 0,
        threshold: 0,
        unit: "",
        firstNotifiedAtMs: null,
        notifications: 0,
        actions: 0,
        lastOutcome: null,
        silenced: false,
        updatedAtMs: event.atMs,
      };
  s.updatedAtMs = Math.max(s.updatedAtMs, event.atMs);
  switch (event.kind) {
    case "first_log":
      s.firstSignMs = minOrSelf(s.firstSignMs, event.atMs);
      break;
    case "transition":
      s.firstSignMs = minOrSelf(s.firstSignMs, event.sinceMs);
      if (event.state === "resolved") {
        s.state = "resolved";
        s.endsAtMs = Math.max(event.atMs, s.endsAtMs ?? event.atMs);
      } else if (s.endsAtMs === null) {
        // A firing report after the resolve (late delivery) does not reopen the incident.
        s.state = "firing";
      }
      if (event.state === "firing" || s.summary === "") {
        s.severity = event.severity;
        s.summary = event.summary;
        s.observed = event.observed;
        s.threshold = event.threshold;
        s.unit = event.unit;
      }
      break;
    case "notification":
      // A resolved notification closes an incident whose resolve transition was not seen (the
      // processor lost its episode memory in a cold start); the transition, when seen, wins.
      if (event.status === "resolved" && s.endsAtMs === null) {
        s.state = "resolved";
        s.endsAtMs = event.atMs;
      }
      if (event.outcome === "ok") s.firstNotifiedAtMs = minOrSelf(s.firstNotifiedAtMs, event.atMs);
      s.notifications++;
      break;
    case "action":
      s.actions++;
      if (event.dryRun) s.lastOutcome ??= "dry_run";
      break;
    case "outcome":
      s.lastOutcome = event.status;
      break;
    case "silenced":
      s.silenced = true;
      break;
    case "skip":
    case "inhibited":
      break;
  }
  return s;
}

function minOrSelf(current: number | null, value: number): number {
  return current === null ? value : Math.min(current, value);
}

/** Whether a summary answers a query (the stores narrow by time and service first; this is the rest). */
export function incidentMatches(s: IncidentSummary, q: IncidentQuery): boolean {
  if (s.startsAtMs < q.sinceMs) return false;
  if (q.untilMs !== undefined && s.startsAtMs >= q.untilMs) return false;
  if (q.service !== undefined && s.service !== q.service) return false;
  if (q.type !== undefined && s.type !== q.type) return false;
  if (q.state !== undefined && s.state !== q.state) return false;
  return true;
}

/** Newest first, then by fingerprint so ties are stable across stores. */
export function compareIncidents(a: IncidentSummary, b: IncidentSummary): number {
  return b.startsAtMs - a.startsAtMs || a.fingerprint.localeCompare(b.fingerprint);
}

/** Timeline order: by time; at the same instant, in causal order (detection before notification ...). */
const KIND_ORDER: Record<HistoryEvent["kind"], number> = {
  first_log: 0,
  transition: 1,
  silenced: 2,
  inhibited: 2,
  notification: 3,
  skip: 4,
  action: 4,
  outcome: 5,
};

export function compareEvents(a: HistoryEvent, b: HistoryEvent): number {
  return a.atMs - b.atMs || KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || a.id.localeCompare(b.id);
}

export const DEFAULT_LIST_LIMIT = 1000;
