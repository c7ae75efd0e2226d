import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "libsql";
import {
  compareEvents,
  compareIncidents,
  DEFAULT_LIST_LIMIT,
  foldIncident,
  incidentMatches,
} from "../../shared/history/summary.js";
import type {
  HistoryEvent,
  HistoryStore,
  IncidentQuery,
  IncidentSummary,
  SilenceRecord,
} from "../../shared/history/types.js";
import { DAY_MS } from "../../shared/history/types.js";

export const DEFAULT_RETENTION_DAYS = 30;

/**
 * Schema versions, applied in order inside one transaction each; `PRAGMA user_version` records the
 * last one applied, so an old file is upgraded in place and a new file gets them all.
 */
const MIGRATIONS: string[] = [
  `CREATE TABLE incidents (
     incident TEXT PRIMARY KEY,
     fingerprint TEXT NOT NULL,
     service TEXT NOT NULL,
     type TEXT NOT NULL,
     state TEXT NOT NULL,
     starts_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     recorded_at INTEGER NOT NULL,
     summary TEXT NOT NULL
   );
   CREATE INDEX incidents_by_start ON incidents (starts_at);
   CREATE INDEX incidents_by_recorded ON incidents (recorded_at);
   CREATE INDEX incidents_by_service ON incidents (service, starts_at);
   CREATE INDEX incidents_by_fingerprint ON incidents (fingerprint, starts_at);
   CREATE TABLE events (
     incident TEXT NOT NULL,
     id TEXT NOT NULL,
     at_ms INTEGER NOT NULL,
     kind TEXT NOT NULL,
     event TEXT NOT NULL,
     PRIMARY KEY (incident, id)
   );
   CREATE INDEX events_by_time ON events (at_ms);
   CREATE TABLE silences (
     id TEXT PRIMARY KEY,
     starts_at INTEGER NOT NULL,
     ends_at INTEGER NOT NULL,
     silence TEXT NOT NULL
   );`,
];

export interface SqliteHistoryOptions {
  /**
   * Incidents (and their events) last written longer ago than this (wall clock) are deleted on open.
   * Wall clock, not event time: a replay of last year's logs is kept as long as a live run.
   */
  retentionDays?: number;
  /** Wall clock for retention; injectable for tests. */
  now?: () => number;
}

/** The local history store: one SQLite file in WAL mode (readers do not block the runner's writes). */
export class SqliteHistoryStore implements HistoryStore {
  readonly kind = "sqlite" as const;
  private readonly db: Database.Database;
  private readonly now: () => number;
  /** Rows deleted by retention when the store was opened. */
  readonly pruned: number;

  constructor(
    readonly path: string,
    options: SqliteHistoryOptions = {},
  ) {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma("journal_mode = WAL");
    // Two processes (the runner writing, the CLI adding a silence) may meet: wait instead of failing.
    this.db.pragma("busy_timeout = 5000");
    this.db.pragma("synchronous = NORMAL");
    this.migrate();
    this.now = options.now ?? Date.now;
    this.pruned = this.prune(this.now() - (options.retentionDays ?? DEFAULT_RETENTION_DAYS) * DAY_MS);
  }

  get schemaVersion(): number {
    // libsql's pragma(..., {simple: true}) still returns a row object: read the column by name.
    const row = this.db.prepare("PRAGMA user_version").get() as { user_version: number };
    return Number(row.user_version);
  }

  private migrate(): void {
    for (let version = this.schemaVersion; version < MIGRATIONS.length; version++) {
      const sql = MIGRATIONS[version] as string;
      this.db.transaction(() => {
        // libsql's exec runs one statement per call: split on the statement terminator.
        for (const statement of sql.split(";")) if (statement.trim() !== "") this.db.exec(statement);
        this.db.pragma(`user_version = ${version + 1}`);
      })();
    }
  }

  /** Delete incidents last written before `cutoffMs`, their events, and silences over by then. */
  prune(cutoffMs: number): number {
    return this.db.transaction(() => {
      const events = this.db
        .prepare(
          "DELETE FROM events WHERE incident IN (SELECT incident FROM incidents WHERE recorded_at < ?)",
        )
        .run(cutoffMs).changes;
      const incidents = this.db.prepare("DELETE FROM incidents WHERE recorded_at < ?").run(cutoffMs).changes;
      const silences = this.db.prepare("DELETE FROM silences WHERE ends_at < ?").run(cutoffMs).changes;
      return events + incidents + silences;
    })() as number;
  }

  async append(events: readonly HistoryEvent[]): Promise<void> {
    if (events.length === 0) return;
    const insert = this.db.prepare(
      "INSERT OR IGNORE INTO events (incident, id, at_ms, kind, event) VALUES (?, ?, ?, ?, ?)",
    );
    const read = this.db.prepare("SELECT summary FROM incidents WHERE incident = ?");
    const write = this.db.prepare(
      `INSERT INTO incidents
         (incident, fingerprint, service, type, state, starts_at, updated_at, recorded_at, summary)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (incident) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at,
         recorded_at = excluded.recorded_at, summary = excluded.summary`,
    );
    const recordedAt = this.now();
    this.db.transaction(() => {
      for (const event of events) {
        // An event already stored must not be folded twice (counts would double).
        if (insert.run(event.incident, event.id, event.atMs, event.kind, JSON.stringify(event)).changes === 0)
          continue;
        const row = read.get(event.incident) as { summary: string } | undefined;
        const summary = foldIncident(row ? (JSON.parse(row.summary) as IncidentSummary) : null, event);
        write.run(
          summary.incident,
          summary.fingerprint,
          summary.service,
          summary.type,
          summary.state,
          summary.startsAtMs,
          summary.updatedAtMs,
          recordedAt,
          JSON.stringify(summary),
        );
      }
    })();
  }

  async listIncidents(query: IncidentQuery): Promise<IncidentSummary[]> {
    const where = ["starts_at >= ?"];
    const params: (string | number)[] = [query.sinceMs];
    if (query.untilMs !== undefined) {
      where.push("starts_at < ?");
      params.push(query.untilMs);
    }
    for (const [column, value] of [
      ["service", query.service],
      ["type", query.type],
      ["state", query.state],
    ] as const) {
      if (value !== undefined) {
        where.push(`${column} = ?`);
        params.push(value);
      }
    }
    params.push(query.limit ?? DEFAULT_LIST_LIMIT);
    const rows = this.db
      .prepare(
        `SELECT summary FROM incidents WHERE ${where.join(" AND ")} ORDER BY starts_at DESC, fingerprint LIMIT ?`,
      )
      .all(...params) as { summary: string }[];
    return rows
      .map((r) => JSON.parse(r.summary) as IncidentSummary)
      .filter((s) => incidentMatches(s, query))
      .sort(compareIncidents);
  }

  async incident(incident: string): Promise<IncidentSummary | null> {
    const row = this.db.prepare("SELECT summary FROM incidents WHERE incident = ?").get(incident) as
      | { summary: string }
      | undefined;
    return row ? (JSON.parse(row.summary) as IncidentSummary) : null;
  }

  async timeline(incident: string): Promise<HistoryEvent[]> {
    const rows = this.db.prepare("SELECT event FROM events WHERE incident = ?").all(incident) as {
      event: string;
    }[];
    return rows.map((r) => JSON.parse(r.event) as HistoryEvent).sort(compareEvents);
  }

  async putSilence(silence: SilenceRecord): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO silences (id, starts_at, ends_at, silence) VALUES (?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET starts_at = excluded.starts_at, ends_at = excluded.ends_at,
           silence = excluded.silence`,
      )
      .run(silence.id, silence.startsAtMs, silence.endsAtMs, JSON.stringify(silence));
  }

  async expireSilence(id: string, nowMs: number): Promise<SilenceRecord | null> {
    const row = this.db.prepare("SELECT silence FROM silences WHERE id = ?").get(id) as
      | { silence: string }
      | undefined;
    if (!row) return null;
    const silence = JSON.parse(row.silence) as SilenceRecord;
    if (silence.expiredAtMs === null || silence.expiredAtMs > nowMs) silence.expiredAtMs = nowMs;
    await this.putSilence(silence);
    return silence;
  }

  async listSilences(): Promise<SilenceRecord[]> {
    const rows = this.db.prepare("SELECT silence FROM silences ORDER BY starts_at DESC, id").all() as {
      silence: string;
    }[];
    return rows.map((r) => JSON.parse(r.silence) as SilenceRecord);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
