import { describe, expect, it } from "vitest";
import { SampleRing } from "../../../shared/detectors/state.js";
import * as windows from "../../../shared/detectors/window.js";
import { BucketWindow, SparseBucketWindow } from "../../../shared/detectors/window.js";
import { StateError } from "../../../shared/errors.js";
import { makeEvent } from "./events.js";

// Both windows keep the same sums and the same state; only their memory layout differs.
describe.each([
  ["BucketWindow", BucketWindow],
  ["SparseBucketWindow", SparseBucketWindow],
])("%s", (_name, BucketWindow) => {
  it("keeps the sums of the newest window of one-second buckets", () => {
    const window = new BucketWindow(10_000);
    expect([window.bucketMs, window.size]).toEqual([1000, 10]);
    for (let s = 0; s < 10; s++) window.add(s * 1000, s, 1);
    expect([window.totalA, window.totalB]).toEqual([45, 10]);
    // Moving to 12 s drops the buckets of 0, 1 and 2 s.
    window.slideTo(12_000);
    expect([window.totalA, window.totalB]).toEqual([42, 7]);
  });

  it("empties completely after a jump longer than the window", () => {
    const window = new BucketWindow(10_000);
    for (let s = 0; s < 10; s++) window.add(s * 1000, 0.1 * s, 1);
    window.slideTo(1_000_000);
    expect([window.totalA, window.totalB]).toEqual([0, 0]);
    window.add(1_000_500, 5, 1);
    expect([window.totalA, window.totalB]).toEqual([5, 1]);
  });

  it.each([
    ["inside the window", 5_500, true, [2, 2]],
    ["older than the window", -1, false, [1, 1]],
  ])("adds a late value %s or refuses it", (_label, time, accepted, totals) => {
    const window = new BucketWindow(10_000);
    window.add(9_000, 1, 1);
    expect(window.add(time, 1, 1)).toBe(accepted);
    expect([window.totalA, window.totalB]).toEqual(totals);
  });

  it("slideAndAdd slides to the handling time, then adds to the value's own bucket", () => {
    const window = new BucketWindow(10_000);
    expect(window.slideAndAdd(5_000, 5_000, 1, 1)).toBe(true);
    // A late value handled at 14 s: the window ends at 14 s and the value lands in its 6 s bucket.
    expect(window.slideAndAdd(14_000, 6_000, 2, 1)).toBe(true);
    expect([window.totalA, window.totalB]).toEqual([3, 2]);
    // Handled at 15 s, the 5 s bucket has left; a value from 5 s is too old to count.
    expect(window.slideAndAdd(15_000, 5_000, 4, 1)).toBe(false);
    expect([window.totalA, window.totalB]).toEqual([2, 1]);
    // A value newer than the handling time still moves the window on to its own bucket (7-16 s).
    expect(window.slideAndAdd(15_000, 16_000, 8, 1)).toBe(true);
    expect([window.totalA, window.totalB]).toEqual([8, 1]);
    expect(window.toState().head).toBe(16);
  });

  it("widens its buckets for long windows so memory stays fixed", () => {
    const window = new BucketWindow(3_600_000);
    expect(window.size).toBe(600);
    expect(window.bucketMs).toBe(6000);
  });

  it("finds the start of the oldest bucket with a non-zero first sum", () => {
    const window = new BucketWindow(10_000);
    window.add(3_200, 0, 1);
    window.add(5_700, 1, 1);
    window.add(8_100, 1, 1);
    expect(window.oldestStartWithA()).toBe(5_000);
  });

  it("round-trips its state and refuses a state of another shape", () => {
    const window = new BucketWindow(10_000);
    window.add(4_000, 2, 1);
    const copy = new BucketWindow(10_000);
    copy.loadState("test", JSON.parse(JSON.stringify(window.toState())));
    expect(copy.toState()).toEqual(window.toState());
    expect(window.toState().buckets).toEqual([[4, 2, 1]]);
    expect(() => new BucketWindow(20_000).loadState("test", window.toState())).toThrow(StateError);
    expect(() => copy.loadState("test", { ...window.toState(), buckets: [[99, 1, 1]] })).toThrow(StateError);
    expect(() => copy.loadState("test", { ...window.toState(), buckets: "none" })).toThrow(StateError);
  });

  it("rejects a window length that is not positive", () => {
    expect(() => new BucketWindow(0)).toThrow(RangeError);
    expect(() => new BucketWindow(Number.NaN)).toThrow(RangeError);
  });

  it("keeps late values in their own buckets, in order, and drops them as the window passes", () => {
    const window = new BucketWindow(10_000);
    window.add(9_000, 1, 1);
    window.add(4_000, 2, 1);
    window.add(6_000, 4, 1);
    window.add(4_500, 8, 1);
    expect(window.toState().buckets).toEqual([
      [4, 10, 2],
      [6, 4, 1],
      [9, 1, 1],
    ]);
    expect(window.oldestStartWithA()).toBe(4_000);
    window.slideTo(15_000);
    expect([window.totalA, window.totalB]).toEqual([5, 2]);
    window.slideTo(18_000);
    expect([window.totalA, window.totalB]).toEqual([1, 1]);
  });

  it("loads the state the other kind of window saved", () => {
    const Other = BucketWindow === SparseBucketWindow ? windows.BucketWindow : SparseBucketWindow;
    const other = new Other(10_000);
    other.add(2_000, 1, 1);
    other.add(7_000, 3, 2);
    const copy = new BucketWindow(10_000);
    copy.loadState("test", other.toState());
    expect(copy.toState()).toEqual(other.toState());
  });

  it("refuses a saved state that lists a bucket twice", () => {
    const window = new BucketWindow(10_000);
    window.add(4_000, 2, 1);
    expect(() =>
      window.loadState("test", {
        ...window.toState(),
        buckets: [
          [4, 1, 1],
          [4, 1, 1],
        ],
      }),
    ).toThrow(/appears twice/);
  });
});

describe("SparseBucketWindow memory", () => {
  it("holds only the buckets in use, however long the window", () => {
    const window = new SparseBucketWindow(3_600_000);
    window.add(0, 1, 1);
    window.add(3_000_000, 1, 1);
    expect(window.toState().buckets).toHaveLength(2);
    // An hour later both buckets are gone and the sums read exactly zero.
    window.slideTo(7_300_000);
    expect([window.totalA, window.totalB, window.toState().buckets.length]).toEqual([0, 0, 0]);
  });
});

describe("SampleRing", () => {
  it("keeps the newest five, oldest first, as log lines without timeMs", () => {
    const ring = new SampleRing();
    for (let s = 0; s < 8; s++) ring.push(makeEvent({ t: s, request_id: `r${s}` }));
    const lines = ring.lines();
    expect(lines.map((l) => l.request_id)).toEqual(["r3", "r4", "r5", "r6", "r7"]);
    expect(lines[0]).not.toHaveProperty("timeMs");
  });

  it("refuses samples that are not log events", () => {
    expect(() => SampleRing.fromState("test", [{ timestamp: 1 }])).toThrow(StateError);
    expect(() => SampleRing.fromState("test", new Array(6).fill(makeEvent()))).toThrow(StateError);
  });
});
