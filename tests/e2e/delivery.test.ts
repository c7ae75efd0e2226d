/**
 * The processor's delivery guarantees against moto_server, real SDK over HTTP (docs/lambda.md,
 * "Delivery"): the state in DynamoDB, SNS delivering to an SQS subscription, and for outages a
 * loopback proxy in front of SNS that answers 503, throttles, refuses or hangs.
 *
 * - Two processors invoked concurrently on one stream of deliveries publish exactly what one
 *   processor publishes handling the deliveries in the order the conditional writes put them in: no
 *   phantom from a lost race, nothing twice, nothing missing.
 * - SNS failing every request for 200 invocations: no invocation runs past its budget, every one
 *   saves its state, and once SNS answers again every notification arrives exactly once.
 */

import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateTopicCommand, SNSClient, SubscribeCommand } from "@aws-sdk/client-sns";
import type { CloudWatchLogsDecodedData } from "aws-lambda";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { encodeAwsLogsEvent } from "../../functions/aws/awslogs.js";
import { SnsSink } from "../../functions/aws/sns.js";
import { DynamoStateStore, MemoryStateStore, stateTableDefinition } from "../../functions/aws/state.js";
import { generateWindow } from "../../functions/generator/generator.js";
import { createLogger } from "../../functions/lambda/log.js";
import { Processor, type ProcessorOutcome } from "../../functions/processor/processor.js";
import { DEFAULT_CONFIG } from "../../shared/config/defaults.js";
import { MemorySink } from "../../shared/sinks/sink.js";
import { type FaultMode, startFaultProxy } from "../helpers/fault-proxy.js";
import {
  MOTO_REGION,
  type Moto,
  motoAvailable,
  SqsTestClient,
  startMoto,
  toolGate,
} from "../helpers/moto.js";

const run = toolGate("moto_server", motoAvailable());
const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);
/** The rule detectors only: delivery does not depend on ML, and its models would slow every save. */
const CONFIG = {
  ...DEFAULT_CONFIG,
  detectors: { ...DEFAULT_CONFIG.detectors, ml: { ...DEFAULT_CONFIG.detectors.ml, enabled: false } },
};

/** `count` deliveries of `seconds` of generated traffic each (seeded), from one log stream. */
function deliveries(count: number, seconds: number, seed = 11) {
  const events = generateWindow({
    seed,
    startMs: T0,
    endMs: T0 + count * seconds * 1000,
    minIntervalS: 0.05,
    maxIntervalS: 0.3,
  });
  return Array.from({ length: count }, (_, i) => {
    const from = T0 + i * seconds * 1000;
    const slice = events.filter(
      (e) => (e.timestamp ?? 0) >= from && (e.timestamp ?? 0) < from + seconds * 1000,
    );
    return delivery(
      slice.map((e, j) => ({ id: `${i}-${j}`, timestamp: e.timestamp ?? 0, message: e.message ?? "" })),
    );
  });
}

function delivery(logEvents: CloudWatchLogsDecodedData["logEvents"]) {
  return encodeAwsLogsEvent({
    owner: "123456789012",
    logGroup: "/cloud-observability/services",
    logStream: "host-1",
    subscriptionFilters: ["all"],
    messageType: "DATA_MESSAGE",
    logEvents,
  });
}

interface Received {
  id: string;
  status: string;
}

describe.skipIf(!run)("processor delivery against moto_server", () => {
  let moto: Moto;
  let sqs: SqsTestClient;
  let topicArn: string;
  let queueUrl: string;
  let table = 0;
  const settings = () => ({ region: MOTO_REGION, endpoint: moto.endpoint });

  beforeAll(async () => {
    moto = await startMoto();
    for (const [k, v] of Object.entries(moto.env)) process.env[k] = v;
  });
  afterAll(async () => {
    await moto?.stop();
  });
  beforeEach(async () => {
    await moto.reset();
    const sns = new SNSClient(settings());
    topicArn = (await sns.send(new CreateTopicCommand({ Name: "alerts" }))).TopicArn ?? "";
    sqs = new SqsTestClient(moto.endpoint);
    const queue = await sqs.createQueue("alerts-q");
    queueUrl = queue.url;
    await sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: "sqs", Endpoint: queue.arn }));
  });

  async function newTable(): Promise<string> {
    const name = `state-${++table}`;
    await new DynamoDBClient(settings()).send(new CreateTableCommand(stateTableDefinition(name)));
    return name;
  }

  function processor(tableName: string, snsEndpoint: string, wall: () => number, logs: string[] = []) {
    return new Processor({
      config: CONFIG,
      store: new DynamoStateStore({ client: new DynamoDBClient(settings()), tableName }),
      sink: new SnsSink({
        client: new SNSClient({ region: MOTO_REGION, endpoint: snsEndpoint, maxAttempts: 1 }),
        topicArn,
      }),
      logger: createLogger({}, (l) => logs.push(l), wall),
      writeMetrics: () => {},
      now: wall,
    });
  }

  /** What SNS delivered, as (notification id, status), from the SQS subscription. */
  async function received(): Promise<Received[]> {
    const messages = await sqs.drain(queueUrl);
    return messages.map((m) => {
      const envelope = JSON.parse(m.Body) as { MessageAttributes: Record<string, { Value: string }> };
      return {
        id: envelope.MessageAttributes.notification_id?.Value ?? "",
        status: envelope.MessageAttributes.status?.Value ?? "",
      };
    });
  }

  const sorted = (list: Received[]) => list.map((r) => `${r.id} ${r.status}`).sort();

  it("two concurrent processors publish what one publishes in the conditional writes' order", async () => {
    const traffic = deliveries(90, 20);
    const wall = () => T0 + 90 * 20 * 1000 + 60_000;

    // Two execution environments, one table, one topic, invoked together: each pair of
    // consecutive deliveries races on the same state version (Lambda with unreserved concurrency).
    const shared = await newTable();
    const pair = [processor(shared, moto.endpoint, wall), processor(shared, moto.endpoint, wall)];
    const outcomes: { index: number; outcome: ProcessorOutcome }[] = [];
    for (let i = 0; i < traffic.length; i += 2) {
      await Promise.all(
        pair.map(async (p, k) => {
          if (i + k < traffic.length)
            outcomes.push({ index: i + k, outcome: await p.handle(traffic[i + k]) });
        }),
      );
    }
    const concurrent = await received();
    const conflicts = outcomes.reduce((sum, o) => sum + o.outcome.conflicts, 0);
    expect(conflicts).toBeGreaterThan(0); // the race really happened

    // The reference: one processor, the deliveries in the order their decisions were saved.
    const order = [...outcomes]
      .sort((a, b) => (a.outcome.decidedVersion ?? 0) - (b.outcome.decidedVersion ?? 0))
      .map((o) => o.index);
    const one = processor(await newTable(), moto.endpoint, wall);
    for (const index of order) await one.handle(traffic[index]);
    const sequential = await received();

    // And one processor in delivery order, for the record.
    const inOrder = processor(await newTable(), moto.endpoint, wall);
    for (const event of traffic) await inOrder.handle(event);
    const natural = await received();

    console.log(
      `RESULT delivery concurrent=${concurrent.length} sequential_commit_order=${sequential.length} sequential_delivery_order=${natural.length} conflicts=${conflicts}`,
    );
    expect(sequential.length).toBeGreaterThan(15);
    expect(sorted(concurrent)).toEqual(sorted(sequential));
    expect(new Set(concurrent.map((r) => `${r.id} ${r.status}`)).size).toBe(concurrent.length);
  }, 240_000);

  it("SNS down for 200 invocations: within budget, state saved every time, then each notification once", async () => {
    const traffic = deliveries(200, 12, 5);
    const wall = () => T0 + 200 * 12 * 1000 + 60_000;
    const REMAINING_MS = 2_500;

    // Reference: the same processor with SNS up all along (in memory: only the ids matter here).
    const sink = new MemorySink();
    const reference = new Processor({
      config: CONFIG,
      store: new MemoryStateStore(),
      sink,
      logger: createLogger({}, () => {}, wall),
      writeMetrics: () => {},
      now: wall,
    });
    for (const event of traffic) await reference.handle(event);
    const expected = sink.received.map((n) => ({ id: n.id, status: n.status }));
    expect(expected.length).toBeGreaterThan(10);

    const proxy = await startFaultProxy(moto.port, "503");
    try {
      const tableName = await newTable();
      const logs: string[] = [];
      const down = processor(tableName, proxy.endpoint, wall, logs);
      const store = new DynamoStateStore({ client: new DynamoDBClient(settings()), tableName });
      const modes: FaultMode[] = ["503", "503", "throttle", "refuse", "503"];
      let slowest = 0;
      let spooled = 0;
      for (let i = 0; i < traffic.length; i++) {
        // Every 40th request hangs: only the budget can end it.
        proxy.mode = i % 40 === 39 ? "hang" : (modes[i % modes.length] as FaultMode);
        const started = performance.now();
        const deadline = started + REMAINING_MS;
        const outcome = await down.handle(traffic[i], {
          getRemainingTimeInMillis: () => Math.max(0, Math.round(deadline - performance.now())),
        });
        const took = performance.now() - started;
        slowest = Math.max(slowest, took);
        expect(took).toBeLessThan(REMAINING_MS);
        expect(outcome.stateSaved).toBe(true);
        expect(outcome.stateVersion).toBe(await store.version("processor"));
        expect(outcome.published).toBe(0);
        spooled = outcome.spooled;
        if (spooled > 0) expect(outcome.publishStopped).not.toBeNull();
      }
      expect(spooled).toBe(expected.length);
      expect(await received()).toHaveLength(0);
      expect(proxy.counts.hang).toBeGreaterThan(0);

      // SNS is back: empty deliveries (no new lines) drain the outbox.
      proxy.mode = "pass";
      for (let round = 0; round < 5 && spooled > 0; round++) {
        spooled = (await down.handle(delivery([]))).spooled;
      }
      expect(spooled).toBe(0);
      const after = await received();
      console.log(
        `RESULT delivery outage_invocations=200 budget_ms=${REMAINING_MS} slowest_ms=${Math.round(slowest)} spooled=${expected.length} delivered=${after.length}`,
      );
      expect(sorted(after)).toEqual(sorted(expected));
    } finally {
      await proxy.close();
    }
  }, 600_000);
});
