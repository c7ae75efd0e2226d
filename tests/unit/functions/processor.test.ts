import type { CloudWatchLogsDecodedData } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { encodeAwsLogsEvent } from "../../../functions/aws/awslogs.js";
import { MemoryStateStore } from "../../../functions/aws/state.js";
import { generateWindow } from "../../../functions/generator/generator.js";
import { createLogger } from "../../../functions/lambda/log.js";
import { loadProcessorState, Processor } from "../../../functions/processor/processor.js";
import type { Notification } from "../../../shared/alerts/types.js";
import { DEFAULT_CONFIG } from "../../../shared/config/defaults.js";
import type { PipelineSnapshot } from "../../../shared/pipeline.js";
import { MemorySink, type Sink, type SinkResult } from "../../../shared/sinks/sink.js";
import { kitJson } from "./fixtures.js";

const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);
const WALL = () => Date.UTC(2026, 0, 5, 12, 0, 0);

/** Twelve minutes of generated traffic (incidents start every 80..140 s), cut into one-minute deliveries. */
function deliveries(minutes = 12): ReturnType<typeof encodeAwsLogsEvent>[] {
  const out = [];
  for (let m = 0; m < minutes; m++) {
    const events = generateWindow({
      seed: 7,
      startMs: T0,
      endMs: T0 + minutes * 60_000,
      minIntervalS: 0.05,
      maxIntervalS: 0.2,
    }).filter((e) => (e.timestamp ?? 0) >= T0 + m * 60_000 && (e.timestamp ?? 0) < T0 + (m + 1) * 60_000);
    const data: CloudWatchLogsDecodedData = {
      owner: "123456789012",
      logGroup: "/cloud-observability/services",
      logStream: "s",
      subscriptionFilters: ["all"],
      messageType: "DATA_MESSAGE",
      logEvents: events.map((e, i) => ({
        id: `${m}-${i}`,
        timestamp: e.timestamp ?? 0,
        message: e.message ?? "",
      })),
    };
    out.push(encodeAwsLogsEvent(data));
  }
  return out;
}

/** One delivery of `messages` from log group "g", stream "s", record ids from `idOf`. */
function oneStream(messages: string[], idOf = (index: number) => String(index)) {
  return encodeAwsLogsEvent({
    owner: "1",
    logGroup: "g",
    logStream: "s",
    subscriptionFilters: [],
    messageType: "DATA_MESSAGE",
    logEvents: messages.map((message, i) => ({ id: idOf(i), timestamp: T0, message })),
  });
}

function makeProcessor(store: MemoryStateStore, sink: Sink, lines: string[] = [], metrics: string[] = []) {
  return new Processor({
    config: DEFAULT_CONFIG,
    store,
    sink,
    logger: createLogger({}, (line) => lines.push(line), WALL),
    writeMetrics: (line) => metrics.push(line),
    now: WALL,
  });
}

describe("Processor", () => {
  const traffic = deliveries();

  it("turns generated traffic into notifications and counts every line", async () => {
    const sink = new MemorySink();
    const metrics: string[] = [];
    const processor = makeProcessor(new MemoryStateStore(), sink, [], metrics);
    let accepted = 0;
    for (const event of traffic) accepted += (await processor.handle(event)).accepted;
    expect(accepted).toBeGreaterThan(3000);
    expect(sink.received.length).toBeGreaterThan(0);
    expect(sink.received.some((n) => n.status === "firing")).toBe(true);
    const emf = JSON.parse(metrics.at(-1) ?? "{}");
    expect(emf._aws.CloudWatchMetrics[0].Namespace).toBe("CloudObservability");
    expect(emf.events).toBeGreaterThan(0);
  });

  it("emits EMF breakdowns by rejection reason and by alert type, then the totals record last", async () => {
    const metrics: string[] = [];
    const processor = makeProcessor(new MemoryStateStore(), new MemorySink(), [], metrics);
    const fired: Record<string, number> = {};
    for (const event of traffic) {
      const outcome = await processor.handle(event);
      for (const [type, n] of Object.entries(outcome.alertsFired))
        fired[type] = (fired[type] ?? 0) + (n ?? 0);
    }
    await processor.handle(
      encodeAwsLogsEvent({
        owner: "1",
        logGroup: "g",
        logStream: "s",
        subscriptionFilters: [],
        messageType: "DATA_MESSAGE",
        logEvents: ["{not json", "{not json either", ""].map((message, i) => ({
          id: String(i),
          timestamp: T0,
          message,
        })),
      }),
    );
    const records = metrics.map(
      (line) =>
        JSON.parse(line) as Record<string, unknown> & {
          _aws: { CloudWatchMetrics: { Dimensions: string[][] }[] };
        },
    );
    const byType: Record<string, number> = {};
    for (const record of records.filter((r) => "AlertType" in r)) {
      expect(record._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([["Function", "AlertType"]]);
      byType[String(record.AlertType)] =
        (byType[String(record.AlertType)] ?? 0) + Number(record.alerts_fired);
    }
    expect(Object.keys(byType).length).toBeGreaterThan(0);
    expect(byType).toEqual(fired);
    const last = records.slice(-3);
    expect(last.map((r) => [r.Reason, r.rejected_lines])).toEqual([
      ["malformed_json", 2],
      ["empty_line", 1],
      [undefined, undefined],
    ]);
    expect(last[2]).toMatchObject({ Function: "processor", rejected: 3, events: 0 });
  });

  it("continues the same windows after a cold start (a new instance on the same store)", async () => {
    const warm = new MemorySink();
    const one = makeProcessor(new MemoryStateStore(), warm);
    for (const event of traffic) await one.handle(event);

    const cold = new MemorySink();
    const store = new MemoryStateStore();
    const half = Math.floor(traffic.length / 2);
    const first = makeProcessor(store, cold);
    for (const event of traffic.slice(0, half)) await first.handle(event);
    const second = makeProcessor(store, cold); // the execution environment was recycled
    for (const event of traffic.slice(half)) await second.handle(event);

    expect(cold.received.map((n) => n.id)).toEqual(warm.received.map((n) => n.id));
  });

  it("keeps alerts in the outbox while the sink fails and publishes them once it recovers", async () => {
    let failing = true;
    const delivered: Notification[] = [];
    const flaky: Sink = {
      name: "flaky",
      async send(n): Promise<SinkResult> {
        if (failing) return { status: "retryable", error: "ThrottlingException: Rate exceeded" };
        delivered.push(n);
        return { status: "ok" };
      },
    };
    const lines: string[] = [];
    const store = new MemoryStateStore();
    const processor = makeProcessor(store, flaky, lines);
    let spooled = 0;
    for (const event of traffic) spooled = (await processor.handle(event)).spooled;
    expect(spooled).toBeGreaterThan(0);
    expect(
      lines.some(
        (l) => l.includes("alert not published, kept in the outbox") && l.includes('"notification":{'),
      ),
    ).toBe(true);
    const saved = await loadProcessorState(store, "processor");
    expect(saved?.value.outbox).toHaveLength(spooled);

    failing = false;
    const control = encodeAwsLogsEvent({
      owner: "1",
      logGroup: "g",
      logStream: "s",
      subscriptionFilters: [],
      messageType: "DATA_MESSAGE",
      logEvents: [],
    });
    const after = await processor.handle(control);
    expect(after.spooled).toBe(0);
    expect(delivered).toHaveLength(spooled);
  });

  it("stops publishing when its budget ends even if the sink never answers, and still saves", async () => {
    // A sink that ignores the abort signal and never answers: only the budget can end the publish.
    const hanging: Sink = { name: "hanging", send: () => new Promise<SinkResult>(() => {}) };
    const store = new MemoryStateStore();
    const processor = makeProcessor(store, hanging);
    let spooled = 0;
    let cutOff = 0;
    for (const event of traffic.slice(0, 6)) {
      // Without the budget this call would never return (timings belong to tests/e2e/delivery.test.ts).
      const deadline = performance.now() + 1_000;
      const outcome = await processor.handle(event, {
        getRemainingTimeInMillis: () => Math.max(0, deadline - performance.now()),
      });
      expect(outcome.published).toBe(0);
      expect(outcome.stateSaved).toBe(true);
      if (outcome.publishStopped === "budget") cutOff++;
      spooled = outcome.spooled;
    }
    expect(cutOff).toBeGreaterThan(0);
    expect(spooled).toBeGreaterThan(0);
    expect((await loadProcessorState(store, "processor"))?.value.outbox).toHaveLength(spooled);
  });

  it("counts a corrupt payload with one clear log line, and keeps processing the next one", async () => {
    const lines: string[] = [];
    const metrics: string[] = [];
    const sink = new MemorySink();
    const processor = makeProcessor(new MemoryStateStore(), sink, lines, metrics);
    const outcome = await processor.handle({ awslogs: { data: "H4sIAAAA-corrupt" } });
    expect(outcome.kind).toBe("rejected_payload");
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? "{}")).toMatchObject({
      level: "error",
      message: "rejected CloudWatch Logs subscription payload",
    });
    expect(JSON.parse(metrics[0] ?? "{}").payloads_rejected).toBe(1);
    expect((await processor.handle(traffic[0])).accepted).toBeGreaterThan(0);
  });

  it("rejects bad lines by reason without losing the valid lines beside them", async () => {
    const good = generateWindow({
      seed: 1,
      startMs: T0,
      endMs: T0 + 5_000,
      minIntervalS: 0.05,
      maxIntervalS: 0.2,
    });
    const messages = ["", "{not json", '{"service":"x"}', "[1]", ...good.map((e) => e.message ?? "")];
    const lines: string[] = [];
    const processor = makeProcessor(new MemoryStateStore(), new MemorySink(), lines);
    const outcome = await processor.handle(oneStream(messages));
    expect(outcome.accepted).toBe(good.length);
    expect(outcome.rejected).toEqual({
      empty_line: 1,
      malformed_json: 1,
      missing_field: 1,
      not_an_object: 1,
    });
    expect(lines.filter((l) => l.includes("rejected log lines"))).toHaveLength(1);
  });

  it("names each refused record by its id in a batch longer than one run of records", async () => {
    const good = generateWindow({
      seed: 2,
      startMs: T0,
      endMs: T0 + 120_000,
      minIntervalS: 0.1,
      maxIntervalS: 0.3,
    });
    expect(good.length).toBeGreaterThan(600);
    const messages = good.slice(0, 600).map((e) => e.message ?? "");
    for (const bad of [3, 300, 599]) messages[bad] = "{not json";
    const lines: string[] = [];
    const processor = makeProcessor(new MemoryStateStore(), new MemorySink(), lines);
    const outcome = await processor.handle(oneStream(messages, (i) => `r${i}`));
    expect(outcome.accepted).toBe(597);
    const logged = JSON.parse(lines.find((l) => l.includes("rejected log lines")) ?? "{}");
    expect(logged.samples.map((s: { id: string }) => s.id)).toEqual(["r3", "r300", "r599"]);
  });

  it("handles the real aws-lambda-go payload (foreign lines are rejected and counted, nothing thrown)", async () => {
    const processor = makeProcessor(new MemoryStateStore(), new MemorySink());
    const outcome = await processor.handle(
      kitJson("data/aws-events/aws-lambda-go__cloudwatch-logs-event.json"),
    );
    expect(outcome.kind).toBe("data");
    expect(outcome.logEvents).toBeGreaterThan(0);
    expect(outcome.accepted).toBe(0);
    expect(Object.values(outcome.rejected).reduce((a, b) => a + (b ?? 0), 0)).toBe(outcome.logEvents);
  });

  it("acknowledges a CONTROL_MESSAGE without touching the state", async () => {
    const store = new MemoryStateStore();
    const processor = makeProcessor(store, new MemorySink());
    const outcome = await processor.handle(
      encodeAwsLogsEvent({
        owner: "1",
        logGroup: "g",
        logStream: "s",
        subscriptionFilters: [],
        messageType: "CONTROL_MESSAGE",
        logEvents: [
          { id: "1", timestamp: 1, message: "CWL CONTROL MESSAGE: Checking health of destination Lambda." },
        ],
      }),
    );
    expect(outcome.kind).toBe("control");
    expect(await store.version("processor")).toBeNull();
  });

  it("redoes a batch when a concurrent invocation saved first, so no window double-counts", async () => {
    const store = new MemoryStateStore();
    const sink = new MemorySink();
    const a = makeProcessor(store, sink);
    const b = makeProcessor(store, sink);
    await a.handle(traffic[0]);
    await b.handle(traffic[1]); // b saw a's state and saved version 2
    const outcome = await a.handle(traffic[2]); // a's live copy is stale: it reloads instead
    expect(outcome.conflicts).toBe(0);
    expect(outcome.stateVersion).toBe(await store.version("processor"));
    const referenceStore = new MemoryStateStore();
    const reference = makeProcessor(referenceStore, new MemorySink());
    for (const event of traffic.slice(0, 3)) await reference.handle(event);
    const mine = await loadProcessorState(store, "processor");
    const theirs = (await loadProcessorState(referenceStore, "processor"))?.value.pipeline.stats;
    expect(mine?.value.pipeline.stats).toEqual(theirs);
  });

  it("defers state saves within minSaveIntervalMs unless alerts changed, and still saves alerts at once", async () => {
    let wall = WALL();
    const store = new MemoryStateStore();
    const processor = new Processor({
      config: DEFAULT_CONFIG,
      store,
      sink: new MemorySink(),
      logger: createLogger({}, () => {}),
      writeMetrics: () => {},
      now: () => wall,
      minSaveIntervalMs: 30_000,
    });
    const outcomes = [];
    for (const event of traffic) {
      wall += 5_000; // one delivery every 5 s of wall time
      outcomes.push(await processor.handle(event));
    }
    const saved = outcomes.filter((o) => o.stateSaved);
    const deferred = outcomes.filter((o) => !o.stateSaved);
    expect(deferred.length).toBeGreaterThan(0);
    for (const o of deferred) expect(o.notifications + o.spooled).toBe(0);
    for (const o of outcomes.filter((x) => x.notifications > 0)) expect(o.stateSaved).toBe(true);
    // A deferred invocation writes nothing: the version stays where the one before left it.
    for (let i = 1; i < outcomes.length; i++) {
      if (!outcomes[i]?.stateSaved) expect(outcomes[i]?.stateVersion).toBe(outcomes[i - 1]?.stateVersion);
    }
    expect(saved.length).toBeGreaterThan(0);
    expect(await store.version("processor")).toBe(outcomes.at(-1)?.stateVersion);
  });

  it("a partial save keeps the alert state and the outbox current and the windows of the last full save", async () => {
    let wall = WALL();
    const store = new MemoryStateStore();
    const sink = new MemorySink();
    const processor = new Processor({
      config: DEFAULT_CONFIG,
      store,
      sink,
      logger: createLogger({}, () => {}),
      writeMetrics: () => {},
      now: () => wall,
      // Windows save once (the first save); every later save is a partial one.
      minSaveIntervalMs: 3_600_000,
    });
    const outcomes = [];
    for (const event of traffic) {
      wall += 60_000;
      outcomes.push(await processor.handle(event));
    }
    expect(sink.received.length).toBeGreaterThan(0);
    expect(outcomes.filter((o) => o.stateSaved).length).toBeGreaterThan(1);
    const stored = await loadProcessorState(store, "processor");
    // The live pipeline is private: read it the way a debugger would, for this check only.
    const live = (
      processor as unknown as { live: { pipeline: { snapshot(): PipelineSnapshot } } | null }
    ).live?.pipeline.snapshot();
    expect(stored?.value.pipeline.alerts).toEqual(JSON.parse(JSON.stringify(live?.alerts)));
    expect(stored?.value.outbox).toEqual([]);
    // The windows are those of the first save, well behind the live pipeline.
    expect(stored?.value.pipeline.latestMs).toBeLessThan((live?.latestMs ?? 0) - 5 * 60_000);
  });
});
