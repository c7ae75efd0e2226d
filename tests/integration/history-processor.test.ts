/**
 * The processor Lambda with the alert history on DynamoDB (moto_server): it records alerts and
 * publishes, and a silence added to the table while it runs mutes the next matching alert without a
 * redeploy; the history records the muting. `npm run history -- --table` reads it back.
 */
import { PassThrough } from "node:stream";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { CloudWatchLogsDecodedData } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeAwsLogsEvent } from "../../functions/aws/awslogs.js";
import { DynamoHistoryStore, historyTableDefinition } from "../../functions/aws/history.js";
import { MemoryStateStore } from "../../functions/aws/state.js";
import { createLogger } from "../../functions/lambda/log.js";
import { ProcessorHistory } from "../../functions/processor/history.js";
import { Processor } from "../../functions/processor/processor.js";
import { historyMain } from "../../local/history/history-command.js";
import { silenceMain } from "../../local/history/silence-command.js";
import { DEFAULT_CONFIG } from "../../shared/config/defaults.js";
import type { IncidentSummary } from "../../shared/history/types.js";
import { MemorySink } from "../../shared/sinks/sink.js";
import {
  MOTO_REGION,
  type Moto,
  motoAvailable,
  startMoto,
  toolGate,
  useTestCredentials,
} from "../helpers/moto.js";

const run = toolGate("moto_server", motoAvailable());
const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);

function line(atMs: number, fields: Record<string, unknown>): string {
  return JSON.stringify({
    timestamp: new Date(atMs).toISOString(),
    service: "auth-service",
    level: "INFO",
    event_type: "request",
    message: "GET /health 200",
    metrics: { cpu_pct: 20, memory_pct: 40, latency_ms: 10 },
    status_code: 200,
    source_ip: "10.0.0.1",
    user: null,
    request_id: null,
    ...fields,
  });
}

/** An attack from `ip` starting at `fromMs` (12 failures in 12 s), then 60 s of quiet requests. */
function attack(ip: string, fromMs: number): string[] {
  const lines: string[] = [];
  for (let i = 0; i < 12; i++) {
    lines.push(
      line(fromMs + i * 1000, {
        level: "WARN",
        event_type: "auth_failure",
        message: "invalid password",
        status_code: 401,
        source_ip: ip,
        user: `user${i}`,
      }),
    );
  }
  for (let s = 12; s <= 72; s += 2) lines.push(line(fromMs + s * 1000, {}));
  return lines;
}

function delivery(lines: string[], batch: number) {
  const data: CloudWatchLogsDecodedData = {
    owner: "123456789012",
    logGroup: "/cloud-observability/services",
    logStream: "s",
    subscriptionFilters: ["all"],
    messageType: "DATA_MESSAGE",
    logEvents: lines.map((message, i) => ({ id: `${batch}-${i}`, timestamp: T0, message })),
  };
  return encodeAwsLogsEvent(data);
}

function cliIo(env: NodeJS.ProcessEnv) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  stdout.on("data", (c: Buffer) => out.push(c.toString()));
  stderr.on("data", (c: Buffer) => err.push(c.toString()));
  return { io: { stdout, stderr, env }, out: () => out.join(""), err: () => err.join("") };
}

describe.skipIf(!run)("processor with the DynamoDB alert history", () => {
  let moto: Moto;

  beforeAll(async () => {
    useTestCredentials();
    moto = await startMoto();
  });
  afterAll(async () => {
    await moto?.stop();
  });

  it("mutes the next matching alert once a silence is added to the table, and records it", async () => {
    const client = new DynamoDBClient({ region: MOTO_REGION, endpoint: moto.endpoint });
    await client.send(new CreateTableCommand(historyTableDefinition("obs-history")));
    let wall = Date.UTC(2026, 0, 5, 12, 0, 0);
    const store = new DynamoHistoryStore({ client, tableName: "obs-history", now: () => wall });
    const sink = new MemorySink();
    const logs: string[] = [];
    const processor = new Processor({
      config: DEFAULT_CONFIG,
      store: new MemoryStateStore(),
      sink,
      logger: createLogger({}, (l) => logs.push(l)),
      writeMetrics: () => {},
      now: () => wall,
      history: new ProcessorHistory({
        store,
        logger: createLogger({}, (l) => logs.push(l)),
        now: () => wall,
        silencePollMs: 30_000,
      }),
    });

    // First attack: notified as usual.
    await processor.handle(delivery(attack("203.0.113.10", T0), 1));
    const firstNotified = sink.received.filter((n) => n.status === "firing");
    expect(firstNotified.flatMap((n) => n.alerts.map((a) => a.entity))).toContain("203.0.113.10");

    // An operator silences brute force on auth-service, through the CLI against the table.
    const env = { ...moto.env, AWS_REGION: MOTO_REGION } as NodeJS.ProcessEnv;
    const add = cliIo(env);
    const code = await silenceMain(
      [
        ...["add", "--matcher", "service=auth-service", "--matcher", "type=brute_force_ip"],
        ...["--for", "2h", "--reason", "pen test", "--table", "obs-history", "--json"],
      ],
      { ...add.io, now: () => wall },
    );
    expect(code, add.err()).toBe(0);
    const silenceId = (JSON.parse(add.out()) as { id: string }).id;

    // Next delivery, after the processor's silence poll interval: the second attack is muted.
    wall += 31_000;
    const before = sink.received.length;
    await processor.handle(delivery(attack("203.0.113.11", T0 + 5 * 60_000), 2));
    const later = sink.received.slice(before);
    expect(
      later.flatMap((n) => n.alerts.filter((a) => a.status === "firing").map((a) => a.entity)),
    ).not.toContain("203.0.113.11");

    const incidents = await store.listIncidents({ sinceMs: T0, type: "brute_force_ip" });
    const first = incidents.find((i) => i.entity === "203.0.113.10") as IncidentSummary;
    const second = incidents.find((i) => i.entity === "203.0.113.11") as IncidentSummary;
    expect(first).toMatchObject({ silenced: false, notifications: expect.any(Number) });
    expect(first.notifications).toBeGreaterThan(0);
    expect(second).toMatchObject({ silenced: true, notifications: 0 });
    const timeline = await store.timeline(second.incident);
    expect(timeline.map((e) => e.kind)).toContain("silenced");
    expect(timeline.find((e) => e.kind === "silenced")).toMatchObject({ silenceId, reason: "pen test" });
    const firstTimeline = await store.timeline(first.incident);
    expect(firstTimeline.find((e) => e.kind === "notification")).toMatchObject({
      sink: "memory",
      outcome: "ok",
    });

    // The CLI reads the same table.
    const list = cliIo(env);
    expect(
      await historyMain(["list", "--json", "--table", "obs-history", "--since", new Date(T0).toISOString()], {
        ...list.io,
        now: () => wall,
      }),
    ).toBe(0);
    const listed = JSON.parse(list.out()) as IncidentSummary[];
    expect(listed.map((i) => i.incident).sort()).toEqual(incidents.map((i) => i.incident).sort());
  });
});
