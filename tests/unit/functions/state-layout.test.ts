/**
 * The state layout (functions/lib/state-layout.ts): what a save writes is what changed, nothing
 * is lost on the way through the items, and superseded items are named for deletion.
 */
import { describe, expect, it } from "vitest";
import {
  decodeState,
  EMPTY_BASE,
  type EncodedState,
  encodeState,
  groupByService,
  joinForest,
  type LayoutBase,
  splitForest,
  ungroupByService,
} from "../../../functions/lib/state-layout.js";
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
      odd: { $c: "not a reference", nested: [1.5, -0, 1e-300, 123456789.123456789] },
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
});
