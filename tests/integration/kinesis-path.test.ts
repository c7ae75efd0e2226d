/**
 * The scale-out path against moto_server's Kinesis: CloudWatch Logs payloads on the log stream, the
 * router re-keys them by service onto a two-shard service stream, and one processor per shard (as
 * Lambda runs them) detects from its shard alone, with state in DynamoDB keyed by service.
 */

import { gzipSync } from "node:zlib";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  CreateStreamCommand,
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  PutRecordCommand,
} from "@aws-sdk/client-kinesis";
import type { CloudWatchLogsDecodedData, KinesisStreamEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeAwsLogsEvent } from "../../functions/aws/awslogs.js";
import { createKinesisClient } from "../../functions/aws/kinesis.js";
import {
  DynamoStateStore,
  MemoryStateStore,
  type StateStore,
  stateTableDefinition,
} from "../../functions/aws/state.js";
import { generateWindow } from "../../functions/generator/generator.js";
import { createLogger } from "../../functions/lambda/log.js";
import { KinesisProcessor } from "../../functions/processor/kinesis.js";
import { Processor } from "../../functions/processor/processor.js";
import { Router } from "../../functions/router/router.js";
import type { Notification } from "../../shared/alerts/types.js";
import { DEFAULT_CONFIG } from "../../shared/config/defaults.js";
import { MemorySink } from "../../shared/sinks/sink.js";
import {
  MOTO_REGION,
  type Moto,
  motoAvailable,
  startMoto,
  toolGate,
  useTestCredentials,
} from "../helpers/moto.js";

const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);
const WALL = () => T0 + 15 * 60_000;
const MINUTES = 10;
const silent = createLogger({}, () => {});

function deliveries(): CloudWatchLogsDecodedData[] {
  const events = generateWindow({
    seed: 7,
    startMs: T0,
    endMs: T0 + MINUTES * 60_000,
    minIntervalS: 0.05,
    maxIntervalS: 0.2,
  });
  return Array.from({ length: MINUTES }, (_, m) => ({
    owner: "123456789012",
    logGroup: "/team/services",
    logStream: "host-1",
    subscriptionFilters: ["to-kinesis"],
    messageType: "DATA_MESSAGE" as const,
    logEvents: events
      .filter((e) => (e.timestamp ?? 0) >= T0 + m * 60_000 && (e.timestamp ?? 0) < T0 + (m + 1) * 60_000)
      .map((e, i) => ({ id: `${m}-${i}`, timestamp: e.timestamp ?? 0, message: e.message ?? "" })),
  }));
}

/** What fired, independent of when notifications were grouped or which pipeline saw the lines. */
function fired(notifications: readonly Notification[]): string[] {
  const keys = new Set<string>();
  for (const n of notifications)
    for (const a of n.alerts) if (a.status === "firing") keys.add(`${a.service} ${a.type} ${a.entity}`);
  return [...keys].sort();
}

describe.runIf(toolGate("moto_server", motoAvailable()))("Kinesis scale-out path on moto_server", () => {
  let moto: Moto;
  let kinesis: KinesisClient;

  beforeAll(async () => {
    useTestCredentials();
    moto = await startMoto();
    kinesis = createKinesisClient({ region: MOTO_REGION, endpoint: moto.endpoint });
    await kinesis.send(new CreateStreamCommand({ StreamName: "logs", ShardCount: 1 }));
    await kinesis.send(new CreateStreamCommand({ StreamName: "services", ShardCount: 2 }));
  });
  afterAll(async () => {
    await moto?.stop();
  });

  /** Every record of every shard of a stream, as one Lambda event per shard (what an event source mapping delivers). */
  async function shardEvents(streamName: string): Promise<KinesisStreamEvent[]> {
    const { StreamDescription } = await kinesis.send(new DescribeStreamCommand({ StreamName: streamName }));
    const events: KinesisStreamEvent[] = [];
    for (const shard of StreamDescription?.Shards ?? []) {
      const { ShardIterator } = await kinesis.send(
        new GetShardIteratorCommand({
          StreamName: streamName,
          ShardId: shard.ShardId,
          ShardIteratorType: "TRIM_HORIZON",
        }),
      );
      const { Records = [] } = await kinesis.send(new GetRecordsCommand({ ShardIterator, Limit: 10_000 }));
      events.push({
        Records: Records.map((r) => ({
          eventSource: "aws:kinesis",
          eventVersion: "1.0",
          eventID: `${shard.ShardId}:${r.SequenceNumber}`,
          eventName: "aws:kinesis:record",
          invokeIdentityArn: "arn:aws:iam::123456789012:role/test",
          awsRegion: MOTO_REGION,
          eventSourceARN: `arn:aws:kinesis:${MOTO_REGION}:123456789012:stream/${streamName}`,
          kinesis: {
            kinesisSchemaVersion: "1.0",
            partitionKey: r.PartitionKey ?? "",
            sequenceNumber: r.SequenceNumber ?? "",
            approximateArrivalTimestamp: 0,
            data: Buffer.from(r.Data ?? new Uint8Array()).toString("base64"),
          },
        })),
      });
    }
    return events;
  }

  it("routes by service and detects per shard what one processor detects from the whole stream", async () => {
    const input = deliveries();
    // CloudWatch Logs writes each subscription payload to the log stream as one gzipped record.
    for (const data of input) {
      await kinesis.send(
        new PutRecordCommand({
          StreamName: "logs",
          PartitionKey: data.logStream,
          Data: gzipSync(Buffer.from(JSON.stringify(data))),
        }),
      );
    }
    const router = new Router({
      client: kinesis,
      streamName: "services",
      logger: silent,
      writeMetrics: () => {},
      now: WALL,
    });
    let routed = 0;
    for (const event of await shardEvents("logs")) {
      const outcome = await router.handle(event);
      expect(outcome.batchItemFailures).toEqual([]);
      routed += outcome.routed;
    }
    expect(routed).toBeGreaterThan(MINUTES);

    const dynamo = new DynamoDBClient({ region: MOTO_REGION, endpoint: moto.endpoint });
    await dynamo.send(new CreateTableCommand(stateTableDefinition("state")));
    const store = new DynamoStateStore({
      client: dynamo,
      tableName: "state",
    });
    const viaKinesis = new MemorySink();
    const servicesPerShard: Set<string>[] = [];
    let accepted = 0;
    for (const event of await shardEvents("services")) {
      servicesPerShard.push(new Set(event.Records.map((r) => r.kinesis.partitionKey)));
      // One processor per shard, as Lambda runs one invocation at a time per shard.
      const shardProcessor = new KinesisProcessor(
        (stateKey) =>
          new Processor({
            config: DEFAULT_CONFIG,
            store,
            sink: viaKinesis,
            logger: silent,
            writeMetrics: () => {},
            stateKey,
            now: WALL,
          }),
        silent,
      );
      const outcome = await shardProcessor.handle(event);
      expect(outcome.batchItemFailures).toEqual([]);
      accepted += outcome.outcomes.reduce((sum, o) => sum + o.accepted, 0);
    }
    const [first, second] = servicesPerShard;
    expect(servicesPerShard).toHaveLength(2);
    expect(
      [...(first ?? [])].filter((service) => second?.has(service)),
      "a service lives on one shard",
    ).toEqual([]);

    const direct = new MemorySink();
    const single = new Processor({
      config: DEFAULT_CONFIG,
      store: new MemoryStateStore() as StateStore,
      sink: direct,
      logger: silent,
      writeMetrics: () => {},
      now: WALL,
    });
    let directAccepted = 0;
    for (const data of input) directAccepted += (await single.handle(encodeAwsLogsEvent(data))).accepted;

    expect(accepted).toBe(directAccepted);
    expect(fired(direct.received).length).toBeGreaterThan(3);
    expect(fired(viaKinesis.received)).toEqual(fired(direct.received));
  });
});
