/**
 * One contract for every StateStore: the in-memory store (a warm Lambda without a table, and the
 * tests) and the DynamoDB store (against moto_server) must agree on what a handler relies on:
 * optimistic concurrency, copies rather than shared objects, state larger than an item, and when
 * a claim is free again.
 */
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  CONFLICT,
  DynamoStateStore,
  MemoryStateStore,
  STATE_CHUNK_BYTES,
  type StateStore,
  stateTableDefinition,
} from "../../functions/aws/state.js";
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
}

let moto: Moto | undefined;
let tables = 0;

const IMPLEMENTATIONS: Implementation[] = [
  {
    name: "MemoryStateStore",
    available: true,
    setUp: async () => {},
    tearDown: async () => {},
    create: async () => new MemoryStateStore(),
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
      return new DynamoStateStore({ client, tableName });
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

    it("accepts the same audit record twice (idempotent by partition and sort)", async () => {
      const record = { step: "executed", ok: true };
      await expect(store.putRecord("incident-1", "0001", record, 3600, NOW)).resolves.toBeUndefined();
      await expect(store.putRecord("incident-1", "0001", record, 3600, NOW)).resolves.toBeUndefined();
    });
  });
}
