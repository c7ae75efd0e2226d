/**
 * The processor's clock: a future-dated line changes nothing but its own count, and the schedule's
 * tick lets time pass without logs (group waits, resolves), in memory; the same against moto is in
 * tests/integration/lambda-time.test.ts.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { MemoryStateStore } from "../../../functions/aws/state.js";
import { generateWindow } from "../../../functions/generator/generator.js";
import { createLogger } from "../../../functions/lambda/log.js";
import { Processor, type ProcessorOutcome } from "../../../functions/processor/processor.js";
import { DEFAULT_CONFIG } from "../../../shared/config/defaults.js";
import { Pipeline } from "../../../shared/pipeline.js";
import { MemorySink } from "../../../shared/sinks/sink.js";
import { delivery, tick } from "../../helpers/lambda-events.js";
import { logLine, SPARSE_T0, sparseSequence } from "../../helpers/sparse-logs.js";

const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);

/** A processor whose wall clock the test sets. */
function processorAt(sink: MemorySink, store = new MemoryStateStore()) {
  const clock = { wallMs: T0 };
  const processor = new Processor({
    config: DEFAULT_CONFIG,
    store,
    sink,
    logger: createLogger({}, () => {}),
    writeMetrics: () => {},
    now: () => clock.wallMs,
  });
  return { processor, clock };
}

/** Thirty minutes of generated traffic as 30 one-minute deliveries, each arriving 5 s after its minute. */
const minutes = (() => {
  const events = generateWindow({
    seed: 7,
    startMs: T0,
    endMs: T0 + 30 * 60_000,
    minIntervalS: 0.05,
    maxIntervalS: 0.2,
  });
  return Array.from({ length: 30 }, (_, m) =>
    events
      .filter((e) => (e.timestamp ?? 0) >= T0 + m * 60_000 && (e.timestamp ?? 0) < T0 + (m + 1) * 60_000)
      .map((e) => ({ timestamp: e.timestamp ?? 0, message: e.message ?? "" })),
  );
})();

async function runMinutes(futureMs: number | null) {
  const sink = new MemorySink();
  const { processor, clock } = processorAt(sink);
  const outcomes: ProcessorOutcome[] = [];
  for (const [m, lines] of minutes.entries()) {
    const batch = [...lines];
    if (futureMs !== null && m === 14) {
      batch.splice(batch.length >> 1, 0, { timestamp: futureMs, message: logLine(futureMs) });
    }
    clock.wallMs = T0 + (m + 1) * 60_000 + 5_000;
    outcomes.push(await processor.handle(delivery(batch)));
  }
  return { sink, outcomes };
}

function sum(outcomes: ProcessorOutcome[], pick: (o: ProcessorOutcome) => number): number {
  return outcomes.reduce((total, o) => total + pick(o), 0);
}

describe("processor: a future-dated line among 30 deliveries", () => {
  let baseline: Awaited<ReturnType<typeof runMinutes>>;
  beforeAll(async () => {
    baseline = await runMinutes(null);
  });

  it.each([
    ["a day", T0 + 15 * 60_000 + 86_400_000],
    ["a year", T0 + 15 * 60_000 + 365 * 86_400_000],
    ["9999-12-31", Date.UTC(9999, 11, 31, 23, 59, 59)],
  ])("dated %s ahead changes nothing but one timestamp_in_future count", async (_label, futureMs) => {
    const run = await runMinutes(futureMs);
    expect(baseline.sink.received.length).toBeGreaterThan(10);
    expect(run.sink.received).toEqual(baseline.sink.received);
    expect(sum(run.outcomes, (o) => o.rejected.timestamp_in_future ?? 0)).toBe(1);
    expect(sum(run.outcomes, (o) => o.accepted)).toBe(sum(baseline.outcomes, (o) => o.accepted));
    expect(run.outcomes.map((o) => o.clockMs)).toEqual(baseline.outcomes.map((o) => o.clockMs));
  });
});

describe("processor: the schedule's tick", () => {
  it("notifies, then resolves the sparse brute force with ticks and no further logs", async () => {
    const sink = new MemorySink();
    const { processor, clock } = processorAt(sink);
    const lines = sparseSequence().slice(0, 10);
    clock.wallMs = SPARSE_T0 + 30_000;
    await processor.handle(
      delivery(lines.map((message) => ({ timestamp: Date.parse(JSON.parse(message).timestamp), message }))),
    );
    expect(sink.received).toHaveLength(0); // still inside the 10 s group wait
    const ticks: ProcessorOutcome[] = [];
    for (let m = 1; m <= 5; m++) {
      clock.wallMs = SPARSE_T0 + 30_000 + m * 60_000;
      ticks.push(await processor.handle(tick(clock.wallMs)));
    }
    expect(ticks.every((o) => o.kind === "tick")).toBe(true);
    expect(sink.received.map((n) => `${n.reason}:${n.status}@${(n.atMs - SPARSE_T0) / 1000}`)).toEqual([
      "new:firing@31",
      "resolved:resolved@91",
    ]);
    // The tick stops at wall time minus the allowed lateness.
    expect(ticks.at(-1)?.clockMs).toBe(clock.wallMs - DEFAULT_CONFIG.time.allowed_lateness_s * 1000);
  });

  it("a tick on an empty state saves a clock and sends nothing", async () => {
    const sink = new MemorySink();
    const { processor, clock } = processorAt(sink);
    const outcome = await processor.handle(tick(clock.wallMs));
    expect(outcome).toMatchObject({ kind: "tick", notifications: 0, accepted: 0 });
    expect(sink.received).toHaveLength(0);
  });
});

describe("processor: a clock saved in the future", () => {
  it("starts with empty windows instead of staying blind (state from before the skew bound)", async () => {
    const store = new MemoryStateStore();
    const poisoned = new Pipeline({ config: DEFAULT_CONFIG });
    poisoned.ingestLine(logLine(Date.UTC(9999, 11, 31)));
    await store.save("processor", { pipeline: poisoned.snapshot(), outbox: [] }, null);
    const sink = new MemorySink();
    const { processor, clock } = processorAt(sink, store);
    clock.wallMs = SPARSE_T0 + 30_000;
    const lines = sparseSequence().slice(0, 10);
    const outcome = await processor.handle(
      delivery(lines.map((message) => ({ timestamp: Date.parse(JSON.parse(message).timestamp), message }))),
    );
    expect(outcome.late).toBe(0);
    clock.wallMs += 120_000;
    await processor.handle(tick(clock.wallMs));
    expect(sink.received.map((n) => n.reason)).toEqual(["new"]);
  });
});

describe("processor: clocks per log stream", () => {
  it.each([0, 120, 240])(
    "a host whose clock runs %i s fast does not blind the brute-force detection of a host in sync",
    async (leadS) => {
      const sink = new MemorySink();
      const { processor, clock } = processorAt(sink);
      for (let s = 0; s < 180; s += 10) {
        clock.wallMs = T0 + s * 1000 + 5000;
        const fast = [0, 5]
          .map((d) => T0 + (s + d + leadS) * 1000)
          .map((ms) => ({
            timestamp: ms,
            message: logLine(ms, {
              service: "web",
              event_type: "request",
              level: "INFO",
              status_code: 200,
              source_ip: "10.0.0.1",
              user: null,
              message: "GET /",
            }),
          }));
        await processor.handle(delivery(fast, "host-fast"));
        const failures = [0, 3, 6, 9]
          .filter((d) => s + d < 60)
          .map((d) => T0 + (s + d) * 1000)
          .map((ms) => ({ timestamp: ms, message: logLine(ms) }));
        if (failures.length > 0) await processor.handle(delivery(failures, "host-in-sync"));
      }
      for (let m = 1; m <= 3; m++) {
        clock.wallMs = T0 + 180_000 + m * 60_000;
        await processor.handle(tick(clock.wallMs));
      }
      const bruteForce = sink.received.filter((n) => n.alerts.some((a) => a.type === "brute_force_ip"));
      expect(bruteForce.map((n) => `${n.reason}:${n.status}`)).toEqual(["new:firing", "resolved:resolved"]);
    },
  );

  it("a host whose clock runs 4 minutes behind is not counted late because another host is ahead", async () => {
    const sink = new MemorySink();
    const { processor, clock } = processorAt(sink);
    clock.wallMs = T0 + 10 * 60_000;
    const line = (ms: number) => ({ timestamp: ms, message: logLine(ms) });
    const ahead = await processor.handle(delivery([line(T0 + 9 * 60_000)], "host-fast"));
    const behind = await processor.handle(delivery([line(T0 + 5 * 60_000)], "host-slow"));
    expect(ahead.late + behind.late).toBe(0);
    const late = await processor.handle(delivery([line(T0 + 3 * 60_000)], "host-slow"));
    expect(late.late).toBe(1);
  });
});
