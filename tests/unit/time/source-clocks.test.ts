import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG } from "../../../shared/config/defaults.js";
import { Pipeline } from "../../../shared/pipeline.js";
import { CORROBORATING_LINES, SourceClocks } from "../../../shared/time/source-clocks.js";
import { at, makeEvent, T0 } from "../detectors/events.js";

const TIME = DEFAULT_CONFIG.time; // 300 s skew, 60 s lateness

const ev = (s: number) => makeEvent({ t: s });
const times = (events: { timeMs: number }[]) => events.map((e) => (e.timeMs - T0) / 1000);

describe("SourceClocks with the wall clock as reference", () => {
  it("refuses a line more than the skew ahead of the wall clock, at once, and keeps the clock", () => {
    const clocks = new SourceClocks(TIME, "wall");
    clocks.setWallClock(at(1000));
    expect(clocks.admit("a", ev(990)).ready).toHaveLength(1);
    expect(clocks.admit("a", ev(1299)).ready).toHaveLength(1); // within 5 min
    const refused = clocks.admit("a", ev(1000 + 86_400));
    expect(refused.ready).toHaveLength(0);
    expect(refused.future[0]?.detail).toBe("24 h ahead of the wall clock");
    expect(clocks.clockOf("a").clockMs).toBe(at(1299));
  });
});

describe("SourceClocks in a replay (the stream is the reference)", () => {
  it("refuses a lone outlier when the next line falls back in line", () => {
    const clocks = new SourceClocks(TIME, "stream");
    clocks.admit("f", ev(0));
    clocks.admit("f", ev(0.5));
    const held = clocks.admit("f", ev(365 * 86_400));
    expect(held).toMatchObject({ held: true, ready: [], future: [] });
    const next = clocks.admit("f", ev(1));
    expect(times(next.ready)).toEqual([1]);
    expect(times(next.future.map((f) => f.event))).toEqual([365 * 86_400]);
    expect(next.future[0]?.detail).toMatch(/^365 days ahead of the stream .*not confirmed/);
  });

  it(`believes a jump that ${CORROBORATING_LINES} consecutive lines agree on, and releases them in order`, () => {
    const clocks = new SourceClocks(TIME, "stream");
    clocks.admit("f", ev(0));
    expect(clocks.admit("f", ev(7200)).held).toBe(true);
    expect(clocks.admit("f", ev(7201)).held).toBe(true);
    const released = clocks.admit("f", ev(7203));
    expect(times(released.ready)).toEqual([7200, 7201, 7203]);
    expect(released.future).toEqual([]);
    expect(clocks.clockOf("f").clockMs).toBe(at(7203));
  });

  it("a future-dated first line does not set the clock: it waits for the second and is refused", () => {
    const clocks = new SourceClocks(TIME, "stream");
    expect(clocks.admit("f", ev(365 * 86_400)).held).toBe(true);
    const second = clocks.admit("f", ev(0));
    expect(times(second.future.map((f) => f.event))).toEqual([365 * 86_400]);
    expect(second.future[0]?.detail).toMatch(/^365 days ahead of the stream/);
    expect(times(clocks.admit("f", ev(1)).ready)).toEqual([0, 1]);
  });

  it("an ordinary first line is released with the second, and a lone line at the end is kept", () => {
    const clocks = new SourceClocks(TIME, "stream");
    clocks.admit("f", ev(0));
    expect(times(clocks.admit("f", ev(2)).ready)).toEqual([0, 2]);
    const single = new SourceClocks(TIME, "stream");
    single.admit("g", ev(5));
    expect(times(single.endOfStream().ready)).toEqual([5]);
  });

  it("two outliers that disagree are both refused; the stream goes on", () => {
    const clocks = new SourceClocks(TIME, "stream");
    clocks.admit("f", ev(0));
    clocks.admit("f", ev(86_400));
    const second = clocks.admit("f", ev(365 * 86_400));
    expect(times(second.future.map((f) => f.event))).toEqual([86_400]);
    const back = clocks.admit("f", ev(2));
    expect(times(back.ready)).toEqual([2]);
    expect(times(back.future.map((f) => f.event))).toEqual([365 * 86_400]);
  });

  it("at the end of the input, two agreeing held lines are kept and a single one is refused", () => {
    const two = new SourceClocks(TIME, "stream");
    two.admit("f", ev(0));
    two.admit("f", ev(7200));
    two.admit("f", ev(7201));
    expect(times(two.endOfStream().ready)).toEqual([7200, 7201]);
    const one = new SourceClocks(TIME, "stream");
    one.admit("f", ev(0));
    one.admit("f", ev(7200));
    const end = one.endOfStream();
    expect(end.ready).toEqual([]);
    expect(end.future).toHaveLength(1);
  });

  it("counts a line late against its own source's clock only", () => {
    const clocks = new SourceClocks(TIME, "stream");
    clocks.admit("fast", ev(600));
    expect(clocks.admit("slow", ev(300)).late).toBe(false);
    expect(clocks.admit("slow", ev(400)).late).toBe(false);
    expect(clocks.admit("slow", ev(339)).late).toBe(true); // 61 s behind slow's clock
    expect(clocks.admit("slow", ev(340)).late).toBe(false);
  });
});

describe("Pipeline time checks", () => {
  it("counts refusals and late lines, and keeps held lines across a snapshot", () => {
    const pipeline = new Pipeline({ config: DEFAULT_CONFIG });
    pipeline.ingestEvent(ev(0));
    pipeline.ingestEvent(ev(100));
    pipeline.ingestEvent(ev(20)); // 80 s behind: late, still processed
    pipeline.ingestEvent(ev(5000)); // held
    expect(pipeline.stats).toMatchObject({ events: 3, late: 1 });
    const restored = new Pipeline({ config: DEFAULT_CONFIG });
    restored.restore(JSON.parse(JSON.stringify(pipeline.snapshot())));
    restored.ingestEvent(ev(101)); // the held line was an outlier
    expect(restored.stats).toMatchObject({ events: 4, late: 1, rejected: { timestamp_in_future: 1 } });
    expect(restored.nowMs).toBe(at(101));
  });

  it("a refused line returns its reason from ingestLine", () => {
    const pipeline = new Pipeline({ config: DEFAULT_CONFIG, timeReference: "wall" });
    pipeline.setWallClock(at(0));
    const line = JSON.stringify({ ...ev(0), timeMs: undefined, timestamp: "9999-12-31T23:59:59Z" });
    expect(pipeline.ingestLine(line)).toMatchObject({ ok: false, reason: "timestamp_in_future" });
    expect(pipeline.stats.events).toBe(0);
    expect(pipeline.nowMs).toBe(Number.NEGATIVE_INFINITY);
  });
});
