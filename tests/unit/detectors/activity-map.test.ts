import { describe, expect, it } from "vitest";
import { ActivityMap } from "../../../shared/detectors/state.js";

type State = { lastSeenMs: number; name: string };
const state = (name: string, lastSeenMs: number): State => ({ name, lastSeenMs });

function keysOf(map: ActivityMap<State>): string[] {
  return [...map.entries.keys()];
}

describe("ActivityMap: keys in order of last activity", () => {
  it("moves a touched key to the back and keeps the others in order", () => {
    const map = new ActivityMap<State>();
    map.touch("a", state("a", 0), 1);
    map.touch("b", state("b", 0), 2);
    map.touch("c", state("c", 0), 3);
    expect(map.touchIfPresent("a", 4)?.lastSeenMs).toBe(4);
    expect(keysOf(map)).toEqual(["b", "c", "a"]);
    expect(map.touchIfPresent("zzz", 5)).toBeUndefined();
    expect(map.size).toBe(3);
  });

  it("moves the front, a middle and the back key, keeping both ends linked", () => {
    const map = new ActivityMap<State>();
    for (const [i, key] of ["a", "b", "c", "d"].entries()) map.touch(key, state(key, 0), i);
    map.touchIfPresent("a", 10);
    expect(keysOf(map)).toEqual(["b", "c", "d", "a"]);
    map.touchIfPresent("c", 11);
    expect(keysOf(map)).toEqual(["b", "d", "a", "c"]);
    map.touchIfPresent("c", 12);
    expect(keysOf(map)).toEqual(["b", "d", "a", "c"]);
    // The ends still hold after the moves: removing from the front, then adding at the back.
    map.delete("b");
    map.touch("e", state("e", 0), 13);
    expect(keysOf(map)).toEqual(["d", "a", "c", "e"]);
  });

  it("never moves lastSeenMs backwards for a late event", () => {
    const map = new ActivityMap<State>();
    map.touch("a", state("a", 0), 10);
    map.touchIfPresent("a", 5);
    expect(map.get("a")?.lastSeenMs).toBe(10);
  });

  it("evicts idle keys from the front and stops at the first active one", () => {
    const map = new ActivityMap<State>();
    for (const [key, t] of [
      ["a", 1],
      ["b", 2],
      ["c", 30],
      ["d", 3],
    ] as const) {
      map.touch(key, state(key, 0), t);
    }
    const evicted: string[] = [];
    map.evict(10, 100, (key, _state, reason) => evicted.push(`${key}:${reason}`));
    // d is idle too but stands behind the active c: it goes on a later sweep, as documented.
    expect(evicted).toEqual(["a:no_data", "b:no_data"]);
    expect(keysOf(map)).toEqual(["c", "d"]);
  });

  it("evicts the least recently active keys beyond the cap", () => {
    const map = new ActivityMap<State>();
    for (let i = 0; i < 5; i++) map.touch(`k${i}`, state(`k${i}`, 0), 100 + i);
    map.touchIfPresent("k0", 200);
    const evicted: string[] = [];
    map.evict(Number.NEGATIVE_INFINITY, 3, (key, _state, reason) => evicted.push(`${key}:${reason}`));
    expect(evicted).toEqual(["k1:evicted", "k2:evicted"]);
    expect(keysOf(map)).toEqual(["k3", "k4", "k0"]);
  });

  it("deletes from anywhere and can be refilled", () => {
    const map = new ActivityMap<State>();
    for (const key of ["a", "b", "c"]) map.touch(key, state(key, 0), 1);
    map.delete("b");
    map.delete("a");
    map.delete("c");
    map.delete("missing");
    expect(map.size).toBe(0);
    expect(keysOf(map)).toEqual([]);
    map.set("x", state("x", 1));
    map.set("x", state("x2", 1));
    expect(map.get("x")?.name).toBe("x2");
    expect(keysOf(map)).toEqual(["x"]);
  });
});
