/**
 * One contract for the alert history, run against both stores: SQLite (a real file, WAL) and
 * DynamoDB (moto_server over HTTP with the real SDK and the table Terraform creates).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import Database from "libsql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DynamoHistoryStore, historyTableDefinition } from "../../functions/aws/history.js";
import { SqliteHistoryStore } from "../../local/history/sqlite-store.js";
import { fingerprint } from "../../shared/alerts/fingerprint.js";
import { historyStats } from "../../shared/history/stats.js";
import type { AlertIdentity, HistoryEvent, HistoryStore, SilenceRecord } from "../../shared/history/types.js";
import { silenceActive } from "../../shared/history/types.js";
import {
  MOTO_REGION,
  type Moto,
  motoAvailable,
  startMoto,
  toolGate,
  useTestCredentials,
} from "../helpers/moto.js";

const T0 = Date.UTC(2026, 2, 2, 8, 0, 0);
const MIN = 60_000;

function identity(type: "high_cpu" | "brute_force_ip", service: string, entity: string, startsAtMs: number) {
  const fp = fingerprint(type, service, entity);
  return { incident: `${fp}:${startsAtMs}`, fingerprint: fp, type, service, entity } satisfies AlertIdentity;
}

const cpu = identity("high_cpu", "api", "", T0 + 5 * MIN);
const brute = identity("brute_force_ip", "auth", "203.0.113.7", T0 + 30 * MIN);
/** Yesterday's incident, same service: crosses a day partition. */
const older = identity("high_cpu", "api", "", T0 - 20 * 3600_000);

function incidentEvents(who: AlertIdentity, startsAtMs: number, resolveAtMs: number | null): HistoryEvent[] {
  const events: HistoryEvent[] = [
    {
      ...who,
      kind: "first_log",
      id: `first_log#${startsAtMs - 90_000}`,
      atMs: startsAtMs - 90_000,
      message: "cpu 91",
    },
    {
      ...who,
      kind: "transition",
      id: `transition#${startsAtMs}#firing`,
      atMs: startsAtMs,
      state: "firing",
      severity: "critical",
      summary: "CPU 93% over 60s",
      observed: 93,
      threshold: 85,
      unit: "%",
      sinceMs: startsAtMs - 60_000,
    },
    {
      ...who,
      kind: "notification",
      id: `notification#n1#console`,
      atMs: startsAtMs + 10_000,
      notificationId: "n1",
      sink: "console",
      reason: "new",
      status: "firing",
      outcome: "ok",
      attempts: 1,
      error: null,
    },
    {
      ...who,
      kind: "notification",
      id: `notification#n1#webhook`,
      atMs: startsAtMs + 10_000,
      notificationId: "n1",
      sink: "webhook",
      reason: "new",
      status: "firing",
      outcome: "retryable",
      attempts: 3,
      error: "webhook answered HTTP 503",
    },
    {
      ...who,
      kind: "action",
      id: `action#${who.incident}#scale_out`,
      atMs: startsAtMs + 10_000,
      actionId: who.incident,
      actionType: "scale_out",
      target: who.service,
      dryRun: false,
      outcome: "ok",
      detail: "scaled api to 3",
    },
  ];
  if (resolveAtMs !== null) {
    events.push(
      {
        ...who,
        kind: "transition",
        id: `transition#${resolveAtMs}#resolved`,
        atMs: resolveAtMs,
        state: "resolved",
        severity: "critical",
        summary: "CPU back to 40%",
        observed: 40,
        threshold: 85,
        unit: "%",
        sinceMs: startsAtMs - 60_000,
      },
      {
        ...who,
        kind: "outcome",
        id: `outcome#${resolveAtMs + 1000}#scale_out`,
        atMs: resolveAtMs + 1000,
        actionType: "scale_out",
        status: "effective",
        detail: "resolved 4m after acting",
      },
    );
  }
  return events;
}

interface Subject {
  name: string;
  open(): Promise<HistoryStore>;
}

const subjects: Subject[] = [
  {
    name: "SQLite (libsql)",
    async open() {
      const dir = mkdtempSync(join(tmpdir(), "history-"));
      return new SqliteHistoryStore(join(dir, "nested", "history.sqlite"), { now: () => T0 });
    },
  },
];

const withMoto = toolGate("moto_server", motoAvailable());
let moto: Moto | null = null;
let tables = 0;
if (withMoto) {
  subjects.push({
    name: "DynamoDB (moto)",
    async open() {
      const client = new DynamoDBClient({ region: MOTO_REGION, endpoint: moto!.endpoint });
      const tableName = `history-${++tables}`;
      await client.send(new CreateTableCommand(historyTableDefinition(tableName)));
      return new DynamoHistoryStore({ client, tableName, now: () => T0 });
    },
  });
}

beforeAll(async () => {
  if (withMoto) {
    useTestCredentials();
    moto = await startMoto();
  }
});
afterAll(async () => {
  await moto?.stop();
});

describe.each(subjects)("history store contract: $name", (subject) => {
  let store: HistoryStore;

  beforeAll(async () => {
    store = await subject.open();
    await store.append(incidentEvents(older, T0 - 20 * 3600_000, T0 - 19 * 3600_000));
    await store.append(incidentEvents(cpu, T0 + 5 * MIN, T0 + 12 * MIN));
    await store.append(incidentEvents(brute, T0 + 30 * MIN, null));
  });
  afterAll(async () => {
    await store.close();
  });

  it("lists incidents newest first with their folded state", async () => {
    const all = await store.listIncidents({ sinceMs: T0 - 2 * 86_400_000 });
    expect(all.map((s) => s.incident)).toEqual([brute.incident, cpu.incident, older.incident]);
    const [b, c] = all;
    expect(b).toMatchObject({ state: "firing", endsAtMs: null, service: "auth", entity: "203.0.113.7" });
    expect(c).toMatchObject({
      state: "resolved",
      startsAtMs: T0 + 5 * MIN,
      endsAtMs: T0 + 12 * MIN,
      firstSignMs: T0 + 5 * MIN - 90_000,
      firstNotifiedAtMs: T0 + 5 * MIN + 10_000,
      notifications: 2,
      actions: 1,
      lastOutcome: "effective",
      severity: "critical",
      summary: "CPU 93% over 60s",
      observed: 93,
      threshold: 85,
    });
  });

  it("filters by time, service, type and state", async () => {
    const since = T0;
    const ids = async (q: Parameters<HistoryStore["listIncidents"]>[0]) =>
      (await store.listIncidents(q)).map((s) => s.incident);
    expect(await ids({ sinceMs: since })).toEqual([brute.incident, cpu.incident]);
    expect(await ids({ sinceMs: since - 86_400_000, service: "api" })).toEqual([
      cpu.incident,
      older.incident,
    ]);
    expect(await ids({ sinceMs: since - 86_400_000, type: "brute_force_ip" })).toEqual([brute.incident]);
    expect(await ids({ sinceMs: since - 86_400_000, state: "firing" })).toEqual([brute.incident]);
    expect(await ids({ sinceMs: since, untilMs: T0 + 10 * MIN })).toEqual([cpu.incident]);
    expect(await ids({ sinceMs: since - 86_400_000, limit: 1 })).toEqual([brute.incident]);
    expect(await ids({ sinceMs: T0 + 86_400_000 })).toEqual([]);
  });

  it("gives one incident's timeline in causal order, and its summary", async () => {
    const timeline = await store.timeline(cpu.incident);
    expect(timeline.map((e) => e.kind)).toEqual([
      "first_log",
      "transition",
      "notification",
      "notification",
      "action",
      "transition",
      "outcome",
    ]);
    const webhook = timeline.find((e) => e.kind === "notification" && e.sink === "webhook");
    expect(webhook).toMatchObject({ attempts: 3, outcome: "retryable", error: "webhook answered HTTP 503" });
    expect(await store.incident(cpu.incident)).toMatchObject({ incident: cpu.incident, state: "resolved" });
    expect(await store.incident(`${cpu.fingerprint}:1`)).toBeNull();
    expect(await store.timeline("nope")).toEqual([]);
  });

  it("stores an event once: a repeated append (at-least-once delivery) changes nothing", async () => {
    await store.append(incidentEvents(cpu, T0 + 5 * MIN, T0 + 12 * MIN));
    expect(await store.timeline(cpu.incident)).toHaveLength(7);
    expect(await store.incident(cpu.incident)).toMatchObject({ notifications: 2, actions: 1 });
  });

  it("records silenced, inhibited and dry-run facts against the incident", async () => {
    const who = identity("high_cpu", "web", "", T0 + 40 * MIN);
    await store.append([
      ...incidentEvents(who, T0 + 40 * MIN, null).slice(0, 2),
      {
        ...who,
        kind: "silenced",
        id: "silenced#s-1",
        atMs: T0 + 40 * MIN + 1000,
        silenceId: "s-1",
        reason: "deploy",
      },
      {
        ...who,
        kind: "inhibited",
        id: "inhibited#x",
        atMs: T0 + 40 * MIN + 1000,
        byIncident: cpu.incident,
        reason: "api down",
      },
      {
        ...who,
        kind: "action",
        id: "action#dry",
        atMs: T0 + 40 * MIN + 2000,
        actionId: who.incident,
        actionType: "scale_out",
        target: "web",
        dryRun: true,
        outcome: "ok",
        detail: "would scale",
      },
    ]);
    expect(await store.incident(who.incident)).toMatchObject({ silenced: true, lastOutcome: "dry_run" });
    const kinds = (await store.timeline(who.incident)).map((e) => e.kind);
    expect(kinds).toEqual(["first_log", "transition", "inhibited", "silenced", "action"]);
    expect((await store.timeline(who.incident)).at(-1)).toMatchObject({ dryRun: true });
  });

  it("keeps silences: add, list newest first, expire by id", async () => {
    const silence = (id: string, startsAtMs: number): SilenceRecord => ({
      id,
      matchers: { service: "api", type: "high_cpu" },
      startsAtMs,
      endsAtMs: startsAtMs + 2 * 3600_000,
      reason: "deploy window",
      createdBy: "test",
      expiredAtMs: null,
    });
    await store.putSilence(silence("s-a", T0));
    await store.putSilence(silence("s-b", T0 + MIN));
    expect((await store.listSilences()).map((s) => s.id)).toEqual(["s-b", "s-a"]);
    const expired = await store.expireSilence("s-a", T0 + 30 * MIN);
    expect(expired).toMatchObject({ id: "s-a", expiredAtMs: T0 + 30 * MIN });
    expect(await store.expireSilence("missing", T0)).toBeNull();
    const [b, a] = await store.listSilences();
    expect(silenceActive(a!, T0 + 31 * MIN)).toBe(false);
    expect(silenceActive(b!, T0 + 31 * MIN)).toBe(true);
    expect(silenceActive(b!, T0 + 3 * 3600_000)).toBe(false);
  });

  it("stats count per day, service and type, with time to detect and to resolve", async () => {
    const stats = historyStats(await store.listIncidents({ sinceMs: T0 - 86_400_000, service: "api" }));
    expect(stats.perDay).toEqual([
      { day: "2026-03-01", service: "api", type: "high_cpu", count: 1 },
      { day: "2026-03-02", service: "api", type: "high_cpu", count: 1 },
    ]);
    expect(stats.timeToDetect).toMatchObject({ count: 2, medianMs: 90_000 });
    expect(stats.timeToResolve.count).toBe(2);
    expect(stats.timeToResolve.maxMs).toBe(3600_000);
  });
});

describe("SQLite history file", () => {
  it("is created with its folder, in WAL mode, migrated, and prunes what was recorded past retention", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "history-")), "a", "b", "history.sqlite");
    let wall = T0 - 40 * 86_400_000;
    const first = new SqliteHistoryStore(path, { now: () => wall });
    expect(first.schemaVersion).toBe(1);
    // Recorded 40 days ago (wall clock) ...
    await first.append(incidentEvents(older, T0 - 20 * 3600_000, null));
    // ... and today, about an incident from last year (a replay): kept, the record is fresh.
    wall = T0;
    const replayed = identity("high_cpu", "api", "", T0 - 300 * 86_400_000);
    await first.append(incidentEvents(replayed, T0 - 300 * 86_400_000, null));
    await first.close();
    const raw = new Database(path);
    expect(raw.prepare("PRAGMA journal_mode").get()).toMatchObject({ journal_mode: "wal" });
    raw.close();

    const reopened = new SqliteHistoryStore(path, { now: () => T0, retentionDays: 30 });
    expect(reopened.schemaVersion).toBe(1);
    expect(reopened.pruned).toBeGreaterThan(0);
    expect((await reopened.listIncidents({ sinceMs: 0 })).map((s) => s.incident)).toEqual([
      replayed.incident,
    ]);
    expect(await reopened.timeline(older.incident)).toEqual([]);
    await reopened.close();
  });
});
