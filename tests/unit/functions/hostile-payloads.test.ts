import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { decodeAwsLogsEvent, encodeAwsLogsEvent, MAX_DECODED_BYTES } from "../../../functions/aws/awslogs.js";
import { MemoryStateStore } from "../../../functions/aws/state.js";
import { createLogger } from "../../../functions/lambda/log.js";
import { Processor } from "../../../functions/processor/processor.js";
import { DEFAULT_CONFIG } from "../../../shared/config/defaults.js";
import { MemorySink } from "../../../shared/sinks/sink.js";

const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);
const WALL = () => Date.UTC(2026, 0, 5, 12, 0, 0);
const b64 = (text: string) => gzipSync(Buffer.from(text)).toString("base64");

function logLine(i: number): string {
  return JSON.stringify({
    timestamp: new Date(T0 + i * 100).toISOString(),
    service: "api",
    level: "INFO",
    event_type: "request",
    message: "GET /",
    metrics: { cpu_pct: 10, memory_pct: 20, latency_ms: 5 },
    status_code: 200,
  });
}

function makeProcessor(lines: string[]) {
  return new Processor({
    config: DEFAULT_CONFIG,
    store: new MemoryStateStore(),
    sink: new MemorySink(),
    logger: createLogger({}, (line) => lines.push(line), WALL),
    writeMetrics: () => {},
    now: WALL,
  });
}

describe("processor: one bad event in a batch", () => {
  it.each([
    ["a number", 42],
    ["null", null],
    ["an object", { nested: true }],
  ])("rejects only the event whose message is %s; the 99 valid events are processed", async (_name, bad) => {
    const logEvents: unknown[] = Array.from({ length: 99 }, (_, i) => ({
      id: String(i),
      timestamp: T0,
      message: logLine(i),
    }));
    logEvents.splice(50, 0, { id: "bad", timestamp: T0, message: bad });
    const event = {
      awslogs: {
        data: b64(JSON.stringify({ messageType: "DATA_MESSAGE", logGroup: "g", logStream: "s", logEvents })),
      },
    };
    const lines: string[] = [];
    const outcome = await makeProcessor(lines).handle(event);
    expect(outcome.kind).toBe("data");
    expect(outcome.logEvents).toBe(100);
    expect(outcome.accepted).toBe(99);
    expect(outcome.rejected).toEqual({ wrong_type: 1 });
  });

  it("rejects an entry that is not an object, keeping the rest", () => {
    const data = {
      messageType: "DATA_MESSAGE",
      logEvents: [null, "x", { id: "1", timestamp: T0, message: logLine(1) }],
    };
    const result = decodeAwsLogsEvent({ awslogs: { data: b64(JSON.stringify(data)) } });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.data.logEvents).toHaveLength(1);
    expect(result.invalidEvents).toHaveLength(2);
  });
});

describe("processor: sizes bounded before parse", () => {
  it("a 20 MB messageType is refused with a short detail, and logged as a short line", async () => {
    const huge = "A".repeat(20 * 1024 * 1024);
    const event = { awslogs: { data: b64(JSON.stringify({ messageType: huge, logEvents: [] })) } };
    const decoded = decodeAwsLogsEvent(event);
    expect(decoded).toMatchObject({ ok: false, reason: "bad_shape" });
    if (!decoded.ok) expect(decoded.detail.length).toBeLessThan(300);
    const lines: string[] = [];
    await makeProcessor(lines).handle(event);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line.length).toBeLessThan(2000);
  });

  it("a huge log group name is not copied into the log", async () => {
    const lines: string[] = [];
    const event = encodeAwsLogsEvent({
      owner: "1",
      logGroup: "g".repeat(5 * 1024 * 1024),
      logStream: "s",
      subscriptionFilters: [],
      messageType: "DATA_MESSAGE",
      logEvents: [{ id: "1", timestamp: T0, message: "not json" }],
    });
    await makeProcessor(lines).handle(event);
    for (const line of lines) expect(line.length).toBeLessThan(2000);
  });

  it("32 MiB of empty arrays is refused before JSON.parse builds millions of objects", () => {
    const body = `{"messageType":"DATA_MESSAGE","logEvents":[${"[],".repeat(Math.floor((MAX_DECODED_BYTES - 64) / 3))}[]]}`;
    expect(body.length).toBeLessThanOrEqual(MAX_DECODED_BYTES);
    const parse = JSON.parse;
    let parsed = 0;
    JSON.parse = ((text: string, reviver?: (this: unknown, key: string, value: unknown) => unknown) => {
      parsed++;
      return parse(text, reviver);
    }) as typeof JSON.parse;
    try {
      const result = decodeAwsLogsEvent({ awslogs: { data: b64(body) } });
      expect(result).toMatchObject({ ok: false, reason: "too_many_values" });
      expect(parsed).toBe(0);
    } finally {
      JSON.parse = parse;
    }
  });

  it("a full-size legitimate delivery (10,000 events) still decodes", () => {
    const logEvents = Array.from({ length: 10_000 }, (_, i) => ({
      id: String(i),
      timestamp: T0,
      message: logLine(i),
    }));
    const result = decodeAwsLogsEvent(
      encodeAwsLogsEvent({
        owner: "1",
        logGroup: "g",
        logStream: "s",
        subscriptionFilters: ["f"],
        messageType: "DATA_MESSAGE",
        logEvents,
      }),
    );
    expect(result.ok).toBe(true);
  });
});
