import { createHash } from "node:crypto";
import { gunzipSync } from "node:zlib";
import type { CloudWatchLogsDecodedData, KinesisStreamEvent, KinesisStreamRecord } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { MAX_RECORD_BYTES } from "../../../functions/aws/kinesis.js";
import { MemoryStateStore, type StateStore } from "../../../functions/aws/state.js";
import { generateWindow } from "../../../functions/generator/generator.js";
import { createLogger } from "../../../functions/lambda/log.js";
import { KinesisProcessor } from "../../../functions/processor/kinesis.js";
import { Processor } from "../../../functions/processor/processor.js";
import { serviceKey, splitByService, UNROUTED_KEY } from "../../../functions/router/router.js";
import { DEFAULT_CONFIG } from "../../../shared/config/defaults.js";
import { MemorySink } from "../../../shared/sinks/sink.js";

const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);

function delivery(messages: string[]): CloudWatchLogsDecodedData {
  return {
    owner: "123456789012",
    logGroup: "/team/services",
    logStream: "host-1",
    subscriptionFilters: ["to-kinesis"],
    messageType: "DATA_MESSAGE",
    logEvents: messages.map((message, i) => ({ id: String(i), timestamp: T0 + i, message })),
  };
}

function decode(data: Uint8Array): CloudWatchLogsDecodedData {
  return JSON.parse(gunzipSync(data).toString("utf8")) as CloudWatchLogsDecodedData;
}

function generated(seconds: number, seed = 3): string[] {
  return generateWindow({
    seed,
    startMs: T0,
    endMs: T0 + seconds * 1000,
    minIntervalS: 0.05,
    maxIntervalS: 0.2,
  }).map((e) => e.message ?? "");
}

describe("router: one subscription payload split by service", () => {
  it("keys each line by its service, keeps the envelope and each service's order, and routes the rest together", () => {
    const lines = [...generated(30), "not json", '{"service":"x"}'];
    const records = splitByService(delivery(lines));
    const services = new Set(lines.map(serviceKey));
    expect(records.map((r) => r.partitionKey).sort()).toEqual([...services].sort());
    expect(services.has(UNROUTED_KEY)).toBe(true);
    let total = 0;
    for (const record of records) {
      const payload = decode(record.data);
      expect(payload).toMatchObject({
        owner: "123456789012",
        logGroup: "/team/services",
        logStream: "host-1",
      });
      const ids = payload.logEvents.map((e) => Number(e.id));
      expect(ids, "input order within a service").toEqual([...ids].sort((a, b) => a - b));
      for (const e of payload.logEvents) expect(serviceKey(e.message)).toBe(record.partitionKey);
      total += payload.logEvents.length;
    }
    expect(total).toBe(lines.length);
  });

  it("halves a service's group until every record fits Kinesis's 1 MiB limit", () => {
    // Hex of a hash chain barely compresses: 250 lines of 24 KB are about 3 MiB gzipped.
    let digest = "seed";
    const noise = () =>
      Array.from({ length: 375 }, () => {
        digest = createHash("sha256").update(digest).digest("hex");
        return digest;
      }).join("");
    const line = () =>
      JSON.stringify({
        timestamp: new Date(T0).toISOString(),
        service: "bulky",
        level: "INFO",
        event_type: "request",
        message: noise(),
      });
    const lines = Array.from({ length: 250 }, line);
    const records = splitByService(delivery(lines));
    expect(records.length).toBeGreaterThan(2);
    for (const record of records) expect(record.data.byteLength).toBeLessThanOrEqual(MAX_RECORD_BYTES);
    expect(records.flatMap((r) => decode(r.data).logEvents.map((e) => e.message))).toEqual(lines);
  });
});

function kinesisEvent(records: { partitionKey: string; data: Uint8Array }[]): KinesisStreamEvent {
  return {
    Records: records.map(
      (r, i): KinesisStreamRecord => ({
        eventSource: "aws:kinesis",
        eventVersion: "1.0",
        eventID: `shardId-000000000000:${i}`,
        eventName: "aws:kinesis:record",
        invokeIdentityArn: "arn:aws:iam::123456789012:role/processor",
        awsRegion: "us-east-1",
        eventSourceARN: "arn:aws:kinesis:us-east-1:123456789012:stream/services",
        kinesis: {
          kinesisSchemaVersion: "1.0",
          partitionKey: r.partitionKey,
          sequenceNumber: String(1000 + i),
          approximateArrivalTimestamp: T0 / 1000,
          data: Buffer.from(r.data).toString("base64"),
        },
      }),
    ),
  };
}

describe("processor on the service stream", () => {
  const silent = createLogger({}, () => {});
  const make = (store: StateStore, sink: MemorySink) => (stateKey: string) =>
    new Processor({
      config: DEFAULT_CONFIG,
      store,
      sink,
      logger: silent,
      writeMetrics: () => {},
      stateKey,
      now: () => T0,
    });

  it("keeps one state item per service and counts every line", async () => {
    const store = new MemoryStateStore();
    const lines = generated(60);
    const processor = new KinesisProcessor(make(store, new MemorySink()), silent);
    const outcome = await processor.handle(kinesisEvent(splitByService(delivery(lines))));
    expect(outcome.batchItemFailures).toEqual([]);
    expect(outcome.outcomes.reduce((sum, o) => sum + o.accepted, 0)).toBe(lines.length);
    for (const service of new Set(lines.map(serviceKey))) {
      expect(await store.version(`service#${service}`), service).toBe(1);
    }
  });

  it("reports the first record that fails and processes nothing after it", async () => {
    const store = new MemoryStateStore();
    const failing: StateStore = Object.assign(Object.create(store) as StateStore, {
      save: async (key: string, ...rest: [unknown, number | null, number]) => {
        if (key === "service#payment-service") throw new Error("DynamoDB unavailable");
        return await (store as StateStore).save(key, ...rest);
      },
    });
    const records = splitByService(delivery(generated(60)));
    const failingAt = records.findIndex((r) => r.partitionKey === "payment-service");
    expect(failingAt).toBeGreaterThanOrEqual(0);
    const outcome = await new KinesisProcessor(make(failing, new MemorySink()), silent).handle(
      kinesisEvent(records),
    );
    expect(outcome.batchItemFailures).toEqual([{ itemIdentifier: String(1000 + failingAt) }]);
    expect(outcome.outcomes).toHaveLength(failingAt);
  });
});
