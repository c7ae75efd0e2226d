import type { InputLogEvent } from "@aws-sdk/client-cloudwatch-logs";
import { describe, expect, it } from "vitest";
import type { ShipResult } from "../../../functions/aws/cloudwatch-logs.js";
import { runDaemon } from "../../../functions/generator/daemon.js";
import { generateWindow } from "../../../functions/generator/generator.js";
import { runScheduled } from "../../../functions/generator/handler.js";
import { generatorSettings } from "../../../functions/generator/settings.js";
import { createLogger } from "../../../functions/lambda/log.js";
import { parseLogLine } from "../../../shared/log/parse.js";
import { kitJson } from "./fixtures.js";

const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);

class RecordingShipper {
  readonly calls: InputLogEvent[][] = [];
  fail = 0;
  async ship(events: readonly InputLogEvent[]): Promise<ShipResult> {
    if (this.fail > 0) {
      this.fail--;
      throw new Error("ThrottlingException");
    }
    this.calls.push([...events]);
    return { sent: events.length, calls: 1, rejected: { tooOld: 0, tooNew: 0, expired: 0, oversized: 0 } };
  }
}

const quiet = createLogger({}, () => {});

describe("generateWindow", () => {
  it("gives the same parseable, time-ordered lines for the same window and seed", () => {
    const options = { seed: 3, startMs: T0, endMs: T0 + 30_000, minIntervalS: 0.05, maxIntervalS: 0.2 };
    const a = generateWindow(options);
    expect(a).toEqual(generateWindow(options));
    expect(a.length).toBeGreaterThan(100);
    for (const [i, e] of a.entries()) {
      expect(parseLogLine(e.message ?? "").ok).toBe(true);
      expect(e.timestamp).toBeGreaterThanOrEqual(T0);
      expect(e.timestamp).toBeLessThan(T0 + 30_000);
      if (i > 0) expect(e.timestamp).toBeGreaterThanOrEqual(a[i - 1]?.timestamp ?? 0);
    }
  });
});

describe("scheduled generator", () => {
  it("ships the window that ends at the real EventBridge event's time", async () => {
    const event = kitJson<{ time: string }>(
      "data/aws-events/aws-lambda-rust-runtime__example-eventbridge-schedule.json",
    );
    const settings = generatorSettings({ LOG_GROUP_NAME: "/g", WINDOW_S: "10" }, "stream");
    const shipper = new RecordingShipper();
    const metrics: string[] = [];
    const result = await runScheduled(event, settings, shipper, quiet, (l) => metrics.push(l), T0);
    const end = Math.floor(Date.parse(event.time) / 1000) * 1000;
    expect(result).toMatchObject({ windowStartMs: end - 10_000, windowEndMs: end });
    expect(result.generated).toBe(shipper.calls[0]?.length);
    expect(JSON.parse(metrics[0] ?? "{}").events).toBe(result.generated);
  });

  it("fails fast naming LOG_GROUP_NAME when it is missing", () => {
    expect(() => generatorSettings({}, "s")).toThrow(/LOG_GROUP_NAME is required/);
    expect(() =>
      generatorSettings({ LOG_GROUP_NAME: "/g", MIN_INTERVAL_S: "2", MAX_INTERVAL_S: "1" }, "s"),
    ).toThrow(/MAX_INTERVAL_S/);
  });
});

describe("generator daemon", () => {
  it("ships on every flush, keeps lines across a failed flush, and flushes once more on stop", async () => {
    let clock = T0;
    const shipper = new RecordingShipper();
    shipper.fail = 1;
    const controller = new AbortController();
    let ticks = 0;
    const summary = await runDaemon({
      settings: generatorSettings({ LOG_GROUP_NAME: "/g" }, "s"),
      speed: 1,
      shipper,
      logger: quiet,
      signal: controller.signal,
      flushIntervalMs: 0,
      now: () => {
        // Each call moves the fake clock on; after a few flushes, "SIGTERM".
        clock += 2_000;
        if (++ticks === 4) controller.abort();
        return clock;
      },
    });
    const shipped = shipper.calls.flat();
    expect(summary.failedFlushes).toBe(1);
    expect(summary.sent).toBe(summary.generated);
    expect(shipped).toHaveLength(summary.generated);
    expect(new Set(shipped.map((e) => e.message)).size).toBe(shipped.length);
  });
});

describe("consecutive windows", () => {
  it("join into the same continuous stream as one long window, across an hour boundary", () => {
    const options = { seed: 5, minIntervalS: 0.05, maxIntervalS: 0.2 };
    const start = T0 + 3600_000 - 90_000;
    const whole = generateWindow({ ...options, startMs: start, endMs: start + 180_000 });
    const parts = [0, 1, 2].flatMap((k) =>
      generateWindow({ ...options, startMs: start + k * 60_000, endMs: start + (k + 1) * 60_000 }),
    );
    expect(parts).toEqual(whole);
  });
});
