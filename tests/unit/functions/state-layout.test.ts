/**
 * The state layout (functions/aws/state-layout.ts): what a save writes is what changed, nothing
 * is lost on the way through the items, and superseded items are named for deletion.
 */
import { describe, expect, it } from "vitest";
import {
  decodeState,
  type EncodedState,
  encodeState,
  groupByService,
  joinForest,
  type LayoutBase,
  splitForest,
  ungroupByService,
} from "../../../functions/aws/state-layout.js";
import { IsolationForest } from "../../../shared/ml/isolation-forest.js";

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 2 ** 32;
  };
}

/** A stored copy of what the saves wrote, applying puts and deletes as the store does. */
class Items {
  readonly stored = new Map<string, Uint8Array>();
  apply(encoded: EncodedState): void {
    for (const [name, data] of encoded.put) {
      expect(this.stored.has(name), `item ${name} written twice`).toBe(false);
      this.stored.set(name, data);
    }
    for (const name of encoded.delete) this.stored.delete(name);
  }
  async load(root: string) {
    return await decodeState(root, async (names) => {
      const out = new Map<string, Uint8Array>();
      for (const name of names) {
        const found = this.stored.get(name);
        if (found) out.set(name, found);
      }
      return out;
    });
  }
}

function rows(random: () => number, n: number): number[][] {
  return Array.from({ length: n }, () => Array.from({ length: 6 }, () => random() * 100));
}

describe("state layout", () => {
  it("round-trips numbers exactly, strings, nesting and keys that start with $", async () => {
    const random = rng(3);
    const value = {
      pipeline: { stats: { events: 12 }, detectors: { d: { list: rows(random, 300) } } },
      outbox: [{ id: "n1", body: "x".repeat(5000) }],
      odd: { $c: "not a reference", nested: [1.5, -0, 1e-300, 123456789.12345679] },
    };
    const items = new Items();
    const encoded = encodeState(value);
    items.apply(encoded);
    const { value: back } = await items.load(encoded.root);
    expect(back).toEqual(JSON.parse(JSON.stringify(value)));
  });

  it("writes nothing but the head when nothing changed, and only a few items when one row is added", async () => {
    const random = rng(5);
    const training = rows(random, 512);
    const items = new Items();
    const first = encodeState({
      pipeline: { detectors: { ml: { services: [{ service: "a", training }] } } },
    });
    items.apply(first);
    expect(first.put.size).toBeGreaterThan(20);
    expect(
      encodeState({ pipeline: { detectors: { ml: { services: [{ service: "a", training }] } } } }, first.base)
        .put.size,
    ).toBe(0);
    // Six windows later: six rows dropped from the front, six appended.
    const later = [...training.slice(6), ...rows(random, 6)];
    const second = encodeState(
      { pipeline: { detectors: { ml: { services: [{ service: "a", training: later }] } } } },
      first.base,
    );
    items.apply(second);
    // The first and last chunks of the rows, and the service's group.
    expect(second.put.size).toBeLessThanOrEqual(4);
    expect(second.delete.length).toBeLessThanOrEqual(4);
    const { value } = await items.load(second.root);
    expect(
      (value as { pipeline: { detectors: { ml: { services: { training: number[][] }[] } } } }).pipeline
        .detectors.ml.services[0]?.training,
    ).toEqual(later);
    // Nothing is kept that the root does not reference.
    expect(new Set(items.stored.keys())).toEqual(new Set(second.base.items.values()));
  });

  it("keeps the rows a save appends inside the service's group until they fill a chunk", async () => {
    const random = rng(6);
    let training = rows(random, 300);
    let scores = Array.from({ length: 300 }, () => random());
    const items = new Items();
    const state = () => ({
      pipeline: { detectors: { ml: { services: [{ service: "a", training, scores }] } } },
    });
    let saved = encodeState(state());
    items.apply(saved);
    let rowItems = 0;
    for (let save = 0; save < 30; save++) {
      // One window a save: a row and a score in, the oldest out.
      training = [...training.slice(1), ...rows(random, 1)];
      scores = [...scores.slice(1), random()];
      saved = encodeState(state(), saved.base);
      items.apply(saved);
      rowItems += [...saved.put.keys()].filter((name) => name.startsWith("f")).length;
      const { value } = await items.load(saved.root);
      expect(value).toEqual(state());
    }
    // A row chunk holds 256 to 896 bytes: 30 rows of 48 bytes and 30 scores of 8 fill a few. Written
    // as a chunk of their own, the new rows would take two items at every save.
    expect(rowItems).toBeLessThanOrEqual(6);
  });

  it("splits a model into its trees and joins them back to the same bytes; a renewal writes one pack", () => {
    const random = rng(9);
    const data = Float64Array.from({ length: 300 * 6 }, () => random() * 50);
    const forest = IsolationForest.fit(data, 6, { trees: 40, sampleSize: 64, seed: 4, extrapolate: true });
    const bytes = forest.serialize();
    const split = splitForest(bytes);
    expect(split?.trees).toHaveLength(40);
    expect(joinForest(split?.header ?? new Uint8Array(), split?.trees ?? [])).toEqual(bytes);

    const first = encodeState({ model: { forest: forest.toBase64() } });
    const renewed = forest.renewedWith(
      IsolationForest.fit(data, 6, { trees: 10, sampleSize: 64, seed: 5, extrapolate: true }),
    );
    const second = encodeState({ model: { forest: renewed.toBase64() } }, first.base);
    // One new pack with the ten new trees; the first pack stays (30 of its trees are still used).
    expect([...second.put.keys()].filter((n) => n.startsWith("p"))).toHaveLength(1);
    expect(second.delete.filter((n) => n.startsWith("p"))).toHaveLength(0);
  });

  it("round-trips a renewed model through the items to a forest that scores the same", async () => {
    const random = rng(11);
    const data = Float64Array.from({ length: 200 * 6 }, () => random() * 50);
    const forest = IsolationForest.fit(data, 6, { trees: 20, sampleSize: 64, seed: 1, extrapolate: true });
    const items = new Items();
    const first = encodeState({ model: { forest: forest.toBase64() } });
    items.apply(first);
    let base: LayoutBase = first.base;
    let current = forest;
    let last = first;
    for (let round = 0; round < 5; round++) {
      current = current.renewedWith(
        IsolationForest.fit(data, 6, { trees: 5, sampleSize: 64, seed: 10 + round, extrapolate: true }),
      );
      last = encodeState({ model: { forest: current.toBase64() } }, base);
      items.apply(last);
      base = last.base;
    }
    // After four renewals every tree of the first model is gone: so is its pack.
    expect([...items.stored.keys()].some((n) => first.put.has(n))).toBe(false);
    const { value } = await items.load(last.root);
    const back = IsolationForest.fromBase64((value as { model: { forest: string } }).model.forest);
    expect(back.scoreMany(data)).toEqual(current.scoreMany(data));
  });

  it("groups per-service entries of every detector by service and restores every list in its order", () => {
    const state = {
      pipeline: {
        detectors: {
          a: {
            services: [
              { service: "y", n: 1 },
              { service: "x", n: 2 },
            ],
            other: [1, 2],
          },
          b: {
            ips: [
              { service: "x", ip: "1" },
              { service: "y", ip: "2" },
              { service: "x", ip: "3" },
            ],
          },
        },
        alerts: { alerts: [{ service: "x", fingerprint: "f" }] },
      },
      outbox: [],
    };
    const grouped = groupByService(state) as { serviceGroups: { service: string }[] };
    expect(grouped.serviceGroups.map((g) => g.service)).toEqual(["x", "y"]);
    expect(ungroupByService(JSON.parse(JSON.stringify(grouped)))).toEqual(state);
  });

  it("a partial save writes the alert state and the outbox only, and keeps the stored windows", async () => {
    const random = rng(13);
    const items = new Items();
    const windows = { ml: { services: [{ service: "a", training: rows(random, 200) }] } };
    const full = encodeState({ pipeline: { detectors: windows, alerts: { alerts: [] } }, outbox: [] });
    items.apply(full);
    const changedWindows = { ml: { services: [{ service: "a", training: rows(random, 200) }] } };
    const alerts = { alerts: [{ service: "a", fingerprint: "f1", text: "y".repeat(3000) }] };
    const partial = encodeState(
      { pipeline: { detectors: changedWindows, alerts }, outbox: [{ id: "n1" }] },
      full.base,
      { urgentOnly: true },
    );
    items.apply(partial);
    expect(partial.put.size).toBe(1);
    expect(partial.delete).toEqual([]);
    const { value, base } = await items.load(partial.root);
    expect(value).toEqual({ pipeline: { detectors: windows, alerts }, outbox: [{ id: "n1" }] });
    // The next full save replaces the windows and deletes what only the old windows used.
    const next = encodeState({ pipeline: { detectors: changedWindows, alerts }, outbox: [] }, base);
    items.apply(next);
    expect(new Set(items.stored.keys())).toEqual(new Set(next.base.items.values()));
    expect((await items.load(next.root)).value).toEqual({
      pipeline: { detectors: changedWindows, alerts },
      outbox: [],
    });
  });
});
