import { randomBytes, randomUUID } from "node:crypto";
import type { Silence } from "../../shared/alerts/silence.js";
import { ALERT_TYPES, type AlertType } from "../../shared/alerts/types.js";
import type { HistoryStore, IncidentSummary } from "../../shared/history/types.js";
import { silenceActive } from "../../shared/history/types.js";
import type { SeriesPoint } from "./aggregate.js";
import { type DashboardServer, startDashboardServer } from "./server.js";
import {
  type CreatedSilence,
  MAX_SILENCE_MS,
  type SilenceControl,
  type SilenceRequest,
} from "./silence-control.js";
import { DashboardState, type HistoryContents, MAX_INCIDENTS } from "./state.js";

/** One chart point per this much time of the history (alerts per type per hour). */
export const HISTORY_BUCKET_MS = 3600_000;
/** How far back the page looks. */
export const HISTORY_WINDOW_MS = 7 * 24 * 3600_000;
/** The store is read again this often (a run may be writing to it). */
const RELOAD_EVERY_MS = 2000;

/** Silences made on the page go into the history store, where every run polls them (wall clock). */
export class HistorySilenceControl implements SilenceControl {
  constructor(
    private readonly store: HistoryStore,
    private readonly now: () => number,
  ) {}

  async create(request: SilenceRequest): Promise<CreatedSilence> {
    if (!(request.durationMs > 0 && request.durationMs <= MAX_SILENCE_MS)) {
      throw new Error(`duration must be between 1 ms and ${MAX_SILENCE_MS / 3600_000} h`);
    }
    const startsAtMs = this.now();
    const id = `dash-${randomUUID().slice(0, 8)}`;
    await this.store.putSilence({
      id,
      matchers: { ...request.matchers },
      startsAtMs,
      endsAtMs: startsAtMs + request.durationMs,
      reason: request.reason,
      createdBy: request.createdBy,
      expiredAtMs: null,
    });
    return { id, expiresAtMs: startsAtMs + request.durationMs };
  }
}

/** Read what the page shows from the store: the newest incidents with their timelines, silences, charts. */
export async function readHistory(store: HistoryStore, nowMs: number): Promise<HistoryContents> {
  const summaries = await store.listIncidents({ sinceMs: nowMs - HISTORY_WINDOW_MS, limit: MAX_INCIDENTS });
  const oldestFirst = [...summaries].sort((a, b) => a.startsAtMs - b.startsAtMs);
  const incidents = await Promise.all(
    oldestFirst.map(async (summary) => ({ summary, events: await store.timeline(summary.incident) })),
  );
  const silences: Silence[] = (await store.listSilences())
    .filter((s) => silenceActive(s, nowMs))
    .map((s) => ({
      id: s.id,
      matchers: { ...s.matchers },
      expiresAtMs: Math.min(s.endsAtMs, s.expiredAtMs ?? Number.POSITIVE_INFINITY),
      reason: `${s.reason} (by ${s.createdBy})`,
    }));
  let notifications = 0;
  let actions = 0;
  for (const s of summaries) {
    notifications += s.notifications;
    actions += s.actions;
  }
  return {
    incidents,
    silences,
    points: alertPoints(oldestFirst, nowMs),
    totals: { nowMs, events: 0, rejected: 0, notifications, actions },
  };
}

/**
 * New incidents per alert type per hour, from the hour before the first incident up to the hour of
 * `nowMs` (at least two points, so a chart has a line to draw).
 */
export function alertPoints(incidents: readonly IncidentSummary[], nowMs: number): SeriesPoint[] {
  if (incidents.length === 0) return [];
  const hour = (ms: number) => Math.floor(ms / HISTORY_BUCKET_MS);
  const counts = new Map<number, Record<AlertType, number>>();
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const incident of incidents) {
    const h = hour(incident.startsAtMs);
    first = Math.min(first, h);
    last = Math.max(last, h);
    let row = counts.get(h);
    if (row === undefined) {
      row = Object.fromEntries(ALERT_TYPES.map((t) => [t, 0])) as Record<AlertType, number>;
      counts.set(h, row);
    }
    row[incident.type]++;
  }
  const points: SeriesPoint[] = [];
  // At most a week of hours (HISTORY_WINDOW_MS), so the loop is bounded.
  const from = Math.max(first - 1, hour(nowMs - HISTORY_WINDOW_MS));
  const to = Math.max(last, hour(nowMs));
  for (let h = from; h <= to; h++) {
    points.push({
      atMs: (h + 1) * HISTORY_BUCKET_MS,
      spanMs: HISTORY_BUCKET_MS,
      events: 0,
      eventsPerSecond: 0,
      alertsByType:
        counts.get(h) ?? (Object.fromEntries(ALERT_TYPES.map((t) => [t, 0])) as Record<AlertType, number>),
      services: {},
    });
  }
  return points;
}

export interface HistoryDashboard {
  readonly url: string;
  readonly token: string;
  /** Read the store again now (the page also re-reads it every 2 s). */
  reload(): Promise<void>;
  close(): Promise<void>;
}

/**
 * `npm run dashboard`: the live dashboard's page over the recorded history. The store is read when
 * the server starts and again every two seconds, so a run writing to the same file shows up; the
 * silence button writes into the store, which the runs poll.
 */
export async function startHistoryDashboard(options: {
  store: HistoryStore;
  host: string;
  port: number;
  token?: string | undefined;
  now?: () => number;
}): Promise<HistoryDashboard> {
  const now = options.now ?? Date.now;
  const token = options.token ?? randomBytes(16).toString("hex");
  const state = new DashboardState("history");
  const reload = async () => state.loadHistory(await readHistory(options.store, now()));
  await reload();
  let reloading: Promise<void> | null = null;
  const timer = setInterval(() => {
    reloading ??= reload()
      .catch(() => {})
      .finally(() => {
        reloading = null;
      });
  }, RELOAD_EVERY_MS);
  timer.unref();
  const silences = new HistorySilenceControl(options.store, now);
  let server: DashboardServer;
  try {
    server = await startDashboardServer({
      host: options.host,
      port: options.port,
      label: "npm run dashboard",
      token,
      state,
      silences: {
        // A silence shows on the page at once, not at the next reload.
        create: async (request) => {
          const created = await silences.create(request);
          await reload();
          return created;
        },
      },
    });
  } catch (error) {
    clearInterval(timer);
    throw error;
  }
  return {
    url: server.url,
    token,
    reload,
    async close() {
      clearInterval(timer);
      await reloading;
      await server.close();
    },
  };
}
