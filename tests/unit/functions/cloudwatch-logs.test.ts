import type { InputLogEvent } from "@aws-sdk/client-cloudwatch-logs";
import { describe, expect, it } from "vitest";
import { PUT_LOG_EVENTS_LIMITS, planBatches } from "../../../functions/aws/cloudwatch-logs.js";

const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);
const ev = (offsetMs: number, message = "x"): InputLogEvent => ({ timestamp: T0 + offsetMs, message });
const batchBytes = (batch: InputLogEvent[]) =>
  batch.reduce((sum, e) => sum + Buffer.byteLength(e.message ?? "") + PUT_LOG_EVENTS_LIMITS.overheadBytes, 0);

describe("planBatches (PutLogEvents limits)", () => {
  it("puts events in time order, keeping the given order for equal timestamps", () => {
    const { batches } = planBatches([ev(20, "c"), ev(10, "a"), ev(20, "d"), ev(10, "b")]);
    expect(batches.map((b) => b.map((e) => e.message))).toEqual([["a", "b", "c", "d"]]);
  });

  it("splits at 10,000 events per call", () => {
    const events = Array.from({ length: 25_001 }, (_, i) => ev(i));
    const { batches } = planBatches(events);
    expect(batches.map((b) => b.length)).toEqual([10_000, 10_000, 5_001]);
  });

  it("counts 26 bytes per event plus the UTF-8 length against the 1,048,576-byte limit", () => {
    // Messages of 1,000 bytes ("é" is 2 bytes in UTF-8, 500 of them), 1,026 bytes each with the overhead.
    const message = "é".repeat(500);
    const events = Array.from({ length: 1100 }, (_, i) => ev(i, message));
    const { batches } = planBatches(events);
    for (const batch of batches) expect(batchBytes(batch)).toBeLessThanOrEqual(1_048_576);
    // floor(1,048,576 / 1,026) = 1022 events fit in the first call; 26 bytes less each would give 1048.
    expect(batches[0]?.length).toBe(1022);
    expect(batches.reduce((n, b) => n + b.length, 0)).toBe(1100);
  });

  it("never lets one call span more than 24 hours", () => {
    const day = 24 * 3600 * 1000;
    const { batches } = planBatches([ev(0), ev(day), ev(day + 1), ev(2 * day + 5)]);
    // Exactly 24 hours apart counts as spanning 24 hours: split, to stay clear of the boundary.
    expect(batches.map((b) => b.length)).toEqual([1, 2, 1]);
  });

  it("sets aside a single message too large for any call instead of failing the rest", () => {
    const huge = "x".repeat(1_048_576);
    const { batches, oversized } = planBatches([ev(0), ev(1, huge), ev(2)]);
    expect(oversized).toHaveLength(1);
    expect(batches.flat()).toHaveLength(2);
  });

  it("plans nothing for no events", () => {
    expect(planBatches([])).toEqual({ batches: [], oversized: [] });
  });
});
