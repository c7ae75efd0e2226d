/**
 * Event time in the local runner: sparse logs still notify, remediate and resolve; a jump behaves as
 * idle ticks every second would; one future-dated line changes nothing but its own rejection count.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { parseRunArgs, type RunOptions } from "../../../local/args.js";
import { Responder } from "../../../local/responder.js";
import { runLocal } from "../../../local/runner.js";
import { MAX_SETTLE_MS, startWallTicker, TimeDriver } from "../../../local/time.js";
import type { Notification } from "../../../shared/alerts/types.js";
import { DEFAULT_CONFIG } from "../../../shared/config/defaults.js";
import { createGenerator } from "../../../shared/generator/index.js";
import { formatLogLine } from "../../../shared/log/parse.js";
import { Pipeline } from "../../../shared/pipeline.js";
import { Rng } from "../../../shared/random.js";
import { SimulatedExecutor } from "../../../shared/remediation/simulated-executor.js";
import { MemorySink } from "../../../shared/sinks/sink.js";
import { logLine, sparseSequence, SPARSE_T0 as T0 } from "../../helpers/sparse-logs.js";

function options(argv: string[]): RunOptions {
  const parsed = parseRunArgs(argv);
  if (parsed.kind !== "run") throw new Error(`bad test arguments: ${JSON.stringify(parsed)}`);
  return parsed.options;
}

async function replay(lines: string[], extra: string[] = []) {
  const dir = mkdtempSync(join(tmpdir(), "time-"));
  const input = join(dir, "in.log");
  writeFileSync(input, `${lines.join("\n")}\n`);
  const alerts = join(dir, "alerts.jsonl");
  const audit = join(dir, "audit.jsonl");
  const report = await runLocal(
    options(["--input", input, "--alerts", alerts, "--audit", audit, "--quiet", ...extra]),
    { stdout: new PassThrough(), stderr: new PassThrough(), stdin: Readable.from([]) },
  );
  const read = (path: string) =>
    readFileSync(path, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  return { report, notifications: read(alerts) as Notification[], audit: read(audit) };
}

describe("sparse logs in a replay (--input)", () => {
  it("notify once, remediate once, resolve, and check the outcome", async () => {
    const { report, notifications, audit } = await replay(sparseSequence());
    expect(notifications.map((n) => `${n.reason}:${n.status}`)).toEqual(["new:firing", "resolved:resolved"]);
    expect(notifications[0]?.alerts[0]?.type).toBe("brute_force_ip");
    expect(report.actions.block_ip).toMatchObject({ executed: 1, failed: 0, outcomes: { effective: 1 } });
    const stages = audit.map((r: { stage: string }) => r.stage);
    for (const stage of ["detection", "alert", "notification", "action", "outcome"]) {
      expect(stages).toContain(stage);
    }
    // The resolve came from the window sliding past the failures, not from the late line.
    const resolved = audit.find(
      (r: { stage: string; data: { status?: string } }) =>
        r.stage === "detection" && r.data.status === "resolved",
    );
    expect(resolved.atMs).toBeLessThan(T0 + 120_000);
  });
});

describe("the end of a replay", () => {
  it("settles once everything due has happened, not at the week-long bound", async () => {
    const pipeline = new Pipeline({ config: DEFAULT_CONFIG });
    const responder = new Responder(
      pipeline,
      DEFAULT_CONFIG,
      [new MemorySink()],
      new SimulatedExecutor({ log: () => {} }),
    );
    const time = new TimeDriver(pipeline, responder);
    const lines = sparseSequence();
    for (const line of lines) await time.line(line);
    const lastMs = Date.parse(JSON.parse(lines.at(-1) as string).timestamp);
    const endMs = await time.finish();
    // Group waits, resolves and outcome checks are due within minutes; every detector goes idle.
    expect(endMs).toBeGreaterThan(lastMs);
    expect(endMs - lastMs).toBeLessThan(3_600_000);
    expect(endMs - lastMs).toBeLessThan(MAX_SETTLE_MS);
  });
});

/** A seeded stream of bursts (brute force, CPU, errors) separated by gaps from 0 s to 40 min. */
function burstyStream(seed: number): string[] {
  const rng = new Rng(seed);
  const lines: string[] = [];
  let t = T0;
  for (let burst = 0; burst < 14; burst++) {
    const kind = rng.int(4);
    const ip = `198.51.100.${1 + rng.int(3)}`;
    const count = 5 + rng.int(30);
    for (let i = 0; i < count; i++) {
      t += Math.round(rng.uniform(200, 3500));
      if (kind === 0) {
        lines.push(logLine(t, { source_ip: ip, user: rng.pick(["root", "admin", "bob"]) }));
      } else if (kind === 1) {
        const cpu = rng.uniform(88, 99);
        lines.push(
          logLine(t, {
            service: "api",
            level: "INFO",
            event_type: "metric",
            message: "tick",
            metrics: { cpu_pct: cpu, memory_pct: 40, latency_ms: 0 },
            source_ip: null,
            user: null,
          }),
        );
      } else {
        const error = kind === 2 && rng.next() < 0.6;
        lines.push(
          logLine(t, {
            service: "checkout",
            level: error ? "ERROR" : "INFO",
            event_type: "request",
            message: error ? "POST /pay 500" : "POST /pay 200",
            status_code: error ? 500 : 200,
            source_ip: "10.0.0.9",
            user: null,
            request_id: `r-${lines.length}`,
          }),
        );
      }
    }
    t += rng.pick([0, 5_000, 93_000, 400_000, 2_400_000]) + rng.int(60_000);
  }
  return lines;
}

/**
 * The property is about the order of ticks, so the replay's hold on lines far ahead of the stream
 * (a separate admission step, tested below) is kept out of the way with a skew larger than any gap.
 */
const NO_HOLD = { ...DEFAULT_CONFIG, time: { ...DEFAULT_CONFIG.time, max_future_skew_s: 86_400 } };

async function drive(lines: string[], idleTickEverySecond: boolean) {
  const sink = new MemorySink();
  const pipeline = new Pipeline({ config: NO_HOLD });
  const actions: string[] = [];
  const executor = new SimulatedExecutor({ log: (line) => actions.push(line) });
  const responder = new Responder(pipeline, NO_HOLD, [sink], executor);
  const time = new TimeDriver(pipeline, responder);
  let previousMs: number | null = null;
  for (const line of lines) {
    const timeMs = Date.parse(JSON.parse(line).timestamp);
    if (idleTickEverySecond && previousMs !== null) {
      for (let s = Math.ceil(previousMs / 1000) * 1000; s < timeMs; s += 1000) await time.advanceTo(s);
    }
    await time.line(line);
    previousMs = timeMs;
  }
  await time.finish();
  return {
    notifications: sink.received,
    actions,
    stats: responder.stats,
    // The sink latency (`ms`) is wall time, the one thing here that is not event time.
    audit: JSON.parse(JSON.stringify(responder.audit.drain()).replace(/"ms":\d+/g, '"ms":0')),
  };
}

describe("time advance in time order", () => {
  it.each([1, 2, 3, 4])(
    "a stream with gaps gives the same notifications, actions and audit as with an idle tick every second (seed %i)",
    async (seed) => {
      const lines = burstyStream(seed);
      const jumped = await drive(lines, false);
      const ticked = await drive(lines, true);
      expect(jumped.notifications.length).toBeGreaterThan(0);
      expect(jumped.audit.length).toBeGreaterThan(0);
      expect(jumped.notifications).toEqual(ticked.notifications);
      expect(jumped.actions).toEqual(ticked.actions);
      expect(jumped.stats).toEqual(ticked.stats);
      expect(jumped.audit).toEqual(ticked.audit);
    },
  );
});

describe("the wall-clock ticker (live and follow modes)", () => {
  it("lets a group wait expire and an alert resolve while no line arrives", async () => {
    const sink = new MemorySink();
    const config = { ...DEFAULT_CONFIG, time: { ...DEFAULT_CONFIG.time, allowed_lateness_s: 0 } };
    const pipeline = new Pipeline({ config, timeReference: "wall" });
    const responder = new Responder(pipeline, config, [sink], new SimulatedExecutor({ log: () => {} }));
    const time = new TimeDriver(pipeline, responder);
    // A simulated wall clock that runs 60 s per real millisecond, so the test takes a moment.
    const realStart = performance.now();
    const wallNow = () => T0 + 27_000 + Math.floor((performance.now() - realStart) * 60) * 1000;
    pipeline.setWallClock(T0 + 27_000);
    for (const line of sparseSequence().slice(0, 10)) await time.line(line);
    const ticker = startWallTicker(time, { wallNow, latenessMs: 0, intervalMs: 1 });
    try {
      for (let i = 0; i < 500 && sink.received.length < 2; i++) await sleep(2);
    } finally {
      ticker.stop();
    }
    expect(sink.received.map((n) => `${n.reason}:${n.status}`)).toEqual(["new:firing", "resolved:resolved"]);
  });
});

describe("a future-dated line in a replay", () => {
  /** 20 minutes of generated traffic with its incidents. */
  const generated = (() => {
    const generator = createGenerator({ seed: 3, startMs: T0, minIntervalS: 0.05, maxIntervalS: 0.2 });
    const lines: string[] = [];
    for (let e = generator.next(); e.timeMs < T0 + 20 * 60_000; e = generator.next())
      lines.push(formatLogLine(e));
    return lines;
  })();

  // The run without the future line is the same for every case: replay it once.
  let baselineRun: ReturnType<typeof replay> | undefined;

  it.each([
    ["a day", T0 + 10 * 60_000 + 86_400_000],
    ["a year", T0 + 10 * 60_000 + 365 * 86_400_000],
    ["9999-12-31", Date.UTC(9999, 11, 31, 23, 59, 59)],
  ])("dated %s ahead changes nothing but one timestamp_in_future", async (_label, futureMs) => {
    baselineRun ??= replay(generated);
    const baseline = await baselineRun;
    const middle = Math.floor(generated.length / 2);
    const withFuture = [...generated.slice(0, middle), logLine(futureMs), ...generated.slice(middle)];
    const run = await replay(withFuture);
    const asFirstLine = await replay([logLine(futureMs), ...generated]);
    expect(asFirstLine.notifications).toEqual(baseline.notifications);
    expect(asFirstLine.report.rejected).toEqual({ ...baseline.report.rejected, timestamp_in_future: 1 });
    expect(baseline.notifications.length).toBeGreaterThan(5);
    expect(run.notifications).toEqual(baseline.notifications);
    expect(run.report.rejected).toEqual({ ...baseline.report.rejected, timestamp_in_future: 1 });
    expect(run.report.events).toBe(baseline.report.events);
  });
});
