/**
 * One contract for every StateStore: the in-memory store (a warm Lambda without a table, and the
 * tests) and the DynamoDB store (against moto_server) must agree on what a handler relies on:
 * optimistic concurrency, copies rather than shared objects, state larger than an item, and when
 * a claim is free again; for the item layout (state-layout.ts): only new items are written, a lost
 * race leaves nothing of the loser behind, and superseded items are deleted, not left for the TTL.
 */
import { CreateTableCommand, DynamoDBClient, QueryCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  CONFLICT,
  DynamoStateStore,
  MemoryStateStore,
  STATE_CHUNK_BYTES,
  type StateStore,
  stateTableDefinition,
} from "../../functions/aws/state.js";
import { decodeState, EMPTY_BASE, encodeState, type LayoutBase } from "../../functions/aws/state-layout.js";
import {
  MOTO_REGION,
  type Moto,
  motoAvailable,
  startMoto,
  toolGate,
  useTestCredentials,
} from "../helpers/moto.js";

const NOW = Date.UTC(2026, 0, 5, 10, 0, 0);
const withMoto = toolGate("moto_server", motoAvailable());

interface Implementation {
  name: string;
  available: boolean;
  setUp(): Promise<void>;
  tearDown(): Promise<void>;
  /** A fresh, empty store. */
  create(): Promise<StateStore>;
  /** Names of the state items stored for a key (what a table scan would find). */
  itemNames(store: StateStore, key: string): Promise<string[]>;
}

let moto: Moto | undefined;
let tables = 0;
let lastTable: { client: DynamoDBClient; tableName: string } | undefined;

const IMPLEMENTATIONS: Implementation[] = [
  {
    name: "MemoryStateStore",
    available: true,
    setUp: async () => {},
    tearDown: async () => {},
    create: async () => new MemoryStateStore(),
    itemNames: async (store, key) => (store as MemoryStateStore).itemNames(key),
  },
  {
    name: "DynamoStateStore (moto_server)",
    available: withMoto,
    setUp: async () => {
      useTestCredentials();
      moto = await startMoto();
    },
    tearDown: async () => {
      await moto?.stop();
    },
    create: async () => {
      if (moto === undefined) throw new Error("moto_server is not running");
      const client = new DynamoDBClient({ region: MOTO_REGION, endpoint: moto.endpoint });
      const tableName = `state-${++tables}`;
      await client.send(new CreateTableCommand(stateTableDefinition(tableName)));
      lastTable = { client, tableName };
      return new DynamoStateStore({ client, tableName });
    },
    itemNames: async (_store, key) => {
      if (lastTable === undefined) throw new Error("no table");
      const found = await lastTable.client.send(
        new QueryCommand({
          TableName: lastTable.tableName,
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :item)",
          ExpressionAttributeValues: { ":pk": { S: `state#${key}` }, ":item": { S: "item#" } },
        }),
      );
      return (found.Items ?? []).map((item) => (item.sk?.S ?? "").slice("item#".length));
    },
  },
];

for (const implementation of IMPLEMENTATIONS) {
  describe.runIf(implementation.available)(`StateStore contract: ${implementation.name}`, () => {
    let store: StateStore;
    beforeAll(() => implementation.setUp());
    afterAll(() => implementation.tearDown());
    beforeEach(async () => {
      store = await implementation.create();
    });

    it("has nothing for a key never saved", async () => {
      expect(await store.load("missing")).toBeNull();
      expect(await store.version("missing")).toBeNull();
    });

    it("saves with optimistic concurrency: the second writer of a version loses", async () => {
      expect(await store.save("k", { n: 1 }, null, NOW)).toBe(1);
      expect(await store.save("k", { n: 2 }, null, NOW)).toBe(CONFLICT);
      expect(await store.save("k", { n: 2 }, 1, NOW)).toBe(2);
      expect(await store.save("k", { n: 3 }, 1, NOW)).toBe(CONFLICT);
      expect(await store.load("k")).toEqual({ value: { n: 2 }, version: 2 });
      expect(await store.version("k")).toBe(2);
    });

    it("lets exactly one of two concurrent writers of the same version win", async () => {
      await store.save("race", { by: "nobody" }, null, NOW);
      const results = await Promise.all([
        store.save("race", { by: "a" }, 1, NOW),
        store.save("race", { by: "b" }, 1, NOW),
      ]);
      expect(results.filter((r) => r === CONFLICT)).toHaveLength(1);
      const winner = results[0] === CONFLICT ? "b" : "a";
      expect(await store.load("race")).toEqual({ value: { by: winner }, version: 2 });
    });

    it("keeps keys apart", async () => {
      await store.save("one", { v: 1 }, null, NOW);
      await store.save("two", { v: 2 }, null, NOW);
      expect((await store.load("one"))?.value).toEqual({ v: 1 });
      expect((await store.load("two"))?.value).toEqual({ v: 2 });
    });

    it("stores a copy: changing the saved or loaded object changes nothing stored", async () => {
      const value = { list: [1, 2, 3] };
      await store.save("copy", value, null, NOW);
      value.list.push(4);
      const loaded = await store.load<typeof value>("copy");
      loaded?.value.list.push(5);
      expect((await store.load("copy"))?.value).toEqual({ list: [1, 2, 3] });
    });

    it("keeps state larger than one DynamoDB item whole", async () => {
      // Random-looking text barely compresses, so this spans several 350 KB chunks.
      let seed = 1;
      const noise = Array.from({ length: 120_000 }, () => {
        seed = (seed * 1103515245 + 12345) >>> 0;
        return seed.toString(36);
      });
      expect(JSON.stringify({ noise }).length).toBeGreaterThan(2 * STATE_CHUNK_BYTES);
      expect(await store.save("big", { noise }, null, NOW)).toBe(1);
      expect((await store.load<{ noise: string[] }>("big"))?.value.noise).toEqual(noise);
    });

    it("grants a claim once, holds it through its last second, and frees it exactly at expiry", async () => {
      expect(await store.claim("action#a", 60, NOW)).toBe(true);
      expect(await store.claim("action#a", 60, NOW + 1_000)).toBe(false);
      expect(await store.claim("action#a", 60, NOW + 59_999)).toBe(false);
      expect(await store.claim("action#a", 60, NOW + 60_000)).toBe(true);
      expect(await store.claim("action#a", 60, NOW + 60_500)).toBe(false);
      expect(await store.claim("action#b", 60, NOW + 1_000)).toBe(true);
    });

    /** Per-service state as the processor keeps it: a list of services, each with training rows. */
    function serviceState(services: number, step: number) {
      return {
        outbox: [],
        services: Array.from({ length: services }, (_, i) => ({
          service: `svc-${i}`,
          windowsSeen: i === 0 ? step : 0,
          recent: Array.from({ length: 5 }, (_, j) => `line ${i}.${j} ${"x".repeat(200)}`),
          training: Array.from({ length: 64 }, (_, r) => [i, r, r * 0.5, Math.sqrt(r + i), 1 / (r + 1), -r]),
        })),
      };
    }

    async function saveLayout(key: string, value: unknown, base: LayoutBase, expected: number | null) {
      const encoded = encodeState(value, base);
      const saved = await store.saveItems(
        key,
        { root: encoded.root, put: encoded.put, delete: encoded.delete, expectedVersion: expected },
        NOW,
      );
      return { saved, encoded };
    }

    async function loadLayout(key: string) {
      const head = await store.loadRoot(key);
      if (head === null) return null;
      const decoded = await decodeState(head.root, (names) => store.getItems(key, names));
      return { ...decoded, version: head.version };
    }

    it("item layout: round-trips, and a save writes only the items that changed", async () => {
      const first = serviceState(40, 1);
      const one = await saveLayout("items", first, EMPTY_BASE, null);
      expect(one.saved).toBe(1);
      expect(one.encoded.put.size).toBeGreaterThan(10);
      const loaded = await loadLayout("items");
      expect(loaded?.value).toEqual(first);
      expect(loaded?.version).toBe(1);
      // One service changed: a handful of items, not the whole state.
      const second = serviceState(40, 2);
      const two = await saveLayout("items", second, loaded?.base ?? EMPTY_BASE, 1);
      expect(two.saved).toBe(2);
      expect(two.encoded.put.size).toBeGreaterThan(0);
      expect(two.encoded.put.size).toBeLessThanOrEqual(3);
      expect((await loadLayout("items"))?.value).toEqual(second);
      // Nothing changed: nothing but the head is written.
      const three = await saveLayout("items", second, two.encoded.base, 2);
      expect(three.saved).toBe(3);
      expect(three.encoded.put.size).toBe(0);
    });

    it("item layout: superseded items are deleted once the new head is in, not left for the TTL", async () => {
      const one = await saveLayout("gc", serviceState(20, 1), EMPTY_BASE, null);
      const before = new Set(await implementation.itemNames(store, "gc"));
      expect(before).toEqual(new Set(one.encoded.put.keys()));
      const two = await saveLayout("gc", serviceState(20, 2), one.encoded.base, 1);
      expect(two.encoded.delete.length).toBeGreaterThan(0);
      const after = new Set(await implementation.itemNames(store, "gc"));
      for (const gone of two.encoded.delete) expect(after.has(gone)).toBe(false);
      // Exactly what the new root references remains.
      expect(after).toEqual(new Set(two.encoded.base.items.values()));
    });

    it("item layout: of two writers of the same version one wins; the loser leaves no item behind", async () => {
      const one = await saveLayout("race-items", serviceState(20, 1), EMPTY_BASE, null);
      const a = encodeState(serviceState(20, 2), one.encoded.base);
      const b = encodeState(serviceState(20, 3), one.encoded.base);
      const results = await Promise.all(
        [a, b].map((e) =>
          store.saveItems(
            "race-items",
            { root: e.root, put: e.put, delete: e.delete, expectedVersion: 1 },
            NOW,
          ),
        ),
      );
      expect(results.filter((r) => r === CONFLICT)).toHaveLength(1);
      const winner = results[0] === CONFLICT ? b : a;
      const loser = winner === a ? b : a;
      const names = new Set(await implementation.itemNames(store, "race-items"));
      for (const name of loser.put.keys()) expect(names.has(name)).toBe(false);
      expect(names).toEqual(new Set(winner.base.items.values()));
      expect((await loadLayout("race-items"))?.value).toEqual(serviceState(20, winner === a ? 2 : 3));
      // A stale writer (expected version 1 again) is refused and changes nothing.
      const stale = await saveLayout("race-items", serviceState(20, 9), one.encoded.base, 1);
      expect(stale.saved).toBe(CONFLICT);
      expect(new Set(await implementation.itemNames(store, "race-items"))).toEqual(names);
      expect(await store.version("race-items")).toBe(2);
    });

    it("item layout: takes over a state saved whole by an earlier release, under the same version", async () => {
      expect(await store.save("legacy", { old: true }, null, NOW)).toBe(1);
      expect(await store.loadRoot("legacy")).toBeNull();
      const stale = await saveLayout("legacy", serviceState(3, 1), EMPTY_BASE, null);
      expect(stale.saved).toBe(CONFLICT);
      const taken = await saveLayout("legacy", serviceState(3, 1), EMPTY_BASE, 1);
      expect(taken.saved).toBe(2);
      expect((await loadLayout("legacy"))?.value).toEqual(serviceState(3, 1));
    });

    it("gives a held claim again only to the holder of its token (a retried intent)", async () => {
      expect(await store.claim("action#t", 60, NOW, "intent-1")).toBe(true);
      expect(await store.claim("action#t", 60, NOW + 1_000, "intent-1")).toBe(true);
      expect(await store.claim("action#t", 60, NOW + 1_000, "intent-2")).toBe(false);
      expect(await store.claim("action#t", 60, NOW + 1_000)).toBe(false);
    });

    it("accepts the same audit record twice (idempotent by partition and sort)", async () => {
      const record = { step: "executed", ok: true };
      await expect(store.putRecord("incident-1", "0001", record, 3600, NOW)).resolves.toBeUndefined();
      await expect(store.putRecord("incident-1", "0001", record, 3600, NOW)).resolves.toBeUndefined();
    });
  });
}
