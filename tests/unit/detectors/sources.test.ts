import { describe, expect, it } from "vitest";
import { SourceStates } from "../../../shared/detectors/sources.js";

describe("SourceStates (per-source detector bookkeeping)", () => {
  it("keeps log time from running backwards and sweeps at most once a second of it", () => {
    const states = new SourceStates<number>(10);
    expect(states.observe(5_000)).toBe(5_000);
    expect(states.observe(4_000)).toBe(5_000);
    expect(states.sweepDue(5_000)).toBe(true);
    expect(states.sweepDue(5_999)).toBe(false);
    expect(states.sweepDue(6_000)).toBe(true);
    expect(states.advance(Number.NaN)).toBeNull();
    expect(states.advance(3_000)).toBe(5_000);
    // advance forces the next sweep even within the second.
    expect(states.sweepDue(5_000)).toBe(true);
  });

  it("makes room by dropping the least recently seen evictable state, or the oldest when asked", () => {
    const states = new SourceStates<{ pinned: boolean }>(2);
    states.touch("a", { pinned: true });
    states.touch("b", { pinned: false });
    states.touch("a", { pinned: true });
    states.makeRoom((s) => !s.pinned, false);
    expect([...states.map.keys()]).toEqual(["a"]);
    states.touch("c", { pinned: true });
    states.makeRoom((s) => !s.pinned, false);
    expect(states.map.size).toBe(2);
    states.makeRoom((s) => !s.pinned, true);
    expect([...states.map.keys()]).toEqual(["c"]);
  });

  it("restores from its own snapshot header and skips sources the reader refuses", () => {
    const states = new SourceStates<number>(10);
    states.observe(7_000);
    const snapshot = {
      ...states.header("d", 1),
      items: [{ service: "s", ip: "1.1.1.1", n: 1 }, { service: "s", ip: "2.2.2.2", n: -1 }, "not a record"],
    };
    const restored = new SourceStates<number>(10);
    restored.restore("d", snapshot, 1, "items", "ip", (item) => ((item.n as number) > 0 ? 1 : null));
    expect([...restored.map.keys()]).toEqual([SourceStates.key("s", "1.1.1.1")]);
    expect(restored.latestMs).toBe(7_000);
    expect(() => restored.restore("d", snapshot, 2, "items", "ip", () => 1)).toThrow(/version/);
  });
});
