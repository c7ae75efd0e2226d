import { randomUUID } from "node:crypto";
import { deflateRawSync, gunzipSync, gzipSync, inflateRawSync } from "node:zlib";
import {
  type AttributeValue,
  BatchGetItemCommand,
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  type CreateTableCommandInput,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  type PutItemCommandInput,
  type WriteRequest,
} from "@aws-sdk/client-dynamodb";
import { type AwsClientSettings, DYNAMODB_ATTEMPTS, pkSkTable, sdkClientConfig } from "./client.js";

export interface Versioned<T> {
  value: T;
  /** Increases by one per successful save; the optimistic-concurrency token. */
  version: number;
}

/** Saving lost a race: another invocation saved first. Reload, redo, save again. */
export const CONFLICT = "conflict" as const;

/**
 * One save of an item-layout state (functions/aws/state-layout.ts builds it; docs/lambda.md
 * "State layout"). The store writes `put` (names never used before, so no reader of the current
 * version can see them), then the head item with `root` under the condition that the stored
 * version is still `expectedVersion` (null: nothing stored yet), then deletes `delete` (items the
 * previous version referenced and this one does not). When the condition fails it deletes what it
 * wrote in `put` and returns CONFLICT: the stored state is exactly the winner's.
 *
 * The commit point is the head: whatever must be durable together with the windows (the outbox of
 * decided notifications, the alert dedup state, remediation intents) goes into the same `root` /
 * `put`, and so is saved by the same conditional write or not at all. A caller that must know a
 * notification is recorded before publishing it saves first and publishes after.
 */
export interface ItemSave {
  root: string;
  put: ReadonlyMap<string, Uint8Array>;
  delete: readonly string[];
  expectedVersion: number | null;
}

/** The head of an item-layout state. */
export interface StateRoot {
  version: number;
  root: string;
}

/**
 * Where handlers keep state between invocations. `MemoryStateStore` lives as long as the Lambda
 * execution environment (lost on a cold start); `DynamoStateStore` survives cold starts and
 * serialises concurrent writers with conditional writes.
 */
export interface StateStore {
  readonly durable: boolean;
  load<T>(key: string): Promise<Versioned<T> | null>;
  /**
   * The current version without the value (cheap: tells a warm instance whether its copy is stale).
   * `consistent: false` may answer from a replica that has not seen the latest save (half the read
   * cost): for a caller whose save is conditional anyway, a stale answer costs a retry, not state.
   */
  version(key: string, options?: { consistent?: boolean }): Promise<number | null>;
  /** Save when the stored version is still `expectedVersion` (null: nothing stored yet). */
  save<T>(
    key: string,
    value: T,
    expectedVersion: number | null,
    nowMs: number,
  ): Promise<number | typeof CONFLICT>;
  /**
   * Claim a one-time key (idempotency): true for the first caller, false for every other until the
   * claim expires. Time is in whole seconds: a claim made at second S with `ttlS` is held through
   * second S + ttlS - 1 and free again from S + ttlS, in every implementation. A caller holding
   * the claim's `token` gets it again (a retry of the same remediation intent after a crash).
   */
  claim(key: string, ttlS: number, nowMs: number, token?: string): Promise<boolean>;
  /** Append a record (audit trail); idempotent by (partition, sort). */
  putRecord(partition: string, sort: string, record: unknown, ttlS: number, nowMs: number): Promise<void>;
  /** Item layout: the head's root and version, or null when nothing is stored (one small read). */
  loadRoot(key: string): Promise<StateRoot | null>;
  /** Item layout: bodies of the named items; a name not stored is absent from the result. */
  getItems(key: string, names: readonly string[]): Promise<Map<string, Uint8Array>>;
  /** Item layout: see ItemSave. */
  saveItems(key: string, save: ItemSave, nowMs: number): Promise<number | typeof CONFLICT>;
}

/**
 * The size DynamoDB bills for an item of this store (attribute names plus values; a number counts
 * about one byte per two digits plus one), so the memory store can count units as DynamoDB would.
 */
export function itemBytes(attributes: Record<string, string | number | Uint8Array>): number {
  let size = 0;
  for (const [name, value] of Object.entries(attributes)) {
    size += Buffer.byteLength(name, "utf8");
    if (typeof value === "string") size += Buffer.byteLength(value, "utf8");
    else if (typeof value === "number") size += Math.ceil(String(value).replace(/[-.]/g, "").length / 2) + 1;
    else size += value.length;
  }
  return size;
}

/** The attributes DynamoStateStore writes for a state item and a head (for itemBytes). */
function stateItemAttributes(key: string, name: string, data: Uint8Array, expiresAt: number) {
  return { pk: `state#${key}`, sk: `item#${name}`, data, expires_at: expiresAt };
}
/** The head keeps its root compressed: it is written by every save and read by every load. */
function packRoot(root: string): Uint8Array {
  return deflateRawSync(Buffer.from(root, "utf8"));
}

function headAttributes(
  key: string,
  version: number,
  root: Uint8Array,
  writer: string,
  nowMs: number,
  expiresAt: number,
) {
  return {
    pk: `state#${key}`,
    sk: "head",
    version,
    writer,
    root,
    updated_at: nowMs,
    expires_at: expiresAt,
  };
}

/** What a store did, in DynamoDB on-demand units (1 write unit per started KB written or deleted per
 * item; 1 read unit per started 4 KB of a strongly consistent read per item). */
export interface StateUsage {
  writeUnits: number;
  readUnits: number;
  itemsWritten: number;
  bytesWritten: number;
  itemsDeleted: number;
  bytesDeleted: number;
  itemsRead: number;
  bytesRead: number;
}

export function emptyUsage(): StateUsage {
  return {
    writeUnits: 0,
    readUnits: 0,
    itemsWritten: 0,
    bytesWritten: 0,
    itemsDeleted: 0,
    bytesDeleted: 0,
    itemsRead: 0,
    bytesRead: 0,
  };
}

const KB = 1024;
const STATE_TTL_MEMORY_S = 30 * 24 * 3600;

const MEMORY_RECORDS_KEPT = 1000;

export class MemoryStateStore implements StateStore {
  readonly durable = false;
  private readonly values = new Map<string, { json: string; version: number }>();
  private readonly heads = new Map<string, { root: string; version: number; bytes: number }>();
  private readonly items = new Map<string, Map<string, { data: Uint8Array; bytes: number }>>();
  /**
   * DynamoDB's bill for the item-layout calls, had they gone to DynamoStateStore: the same items
   * with the same attributes, charged by DynamoDB's on-demand rules (the state bench reads this).
   */
  readonly usage: StateUsage = emptyUsage();
  private readonly claims = new Map<string, { expiresS: number; token: string | null }>();
  readonly records = new Map<string, unknown>();

  async load<T>(key: string): Promise<Versioned<T> | null> {
    const stored = this.values.get(key);
    // A copy, so a caller mutating its state cannot change what is "saved".
    return stored ? { value: JSON.parse(stored.json) as T, version: stored.version } : null;
  }

  async version(key: string, options: { consistent?: boolean } = {}): Promise<number | null> {
    const head = this.heads.get(key);
    if (head !== undefined) this.read(head.bytes, options.consistent ?? true);
    return head?.version ?? this.values.get(key)?.version ?? null;
  }

  async loadRoot(key: string): Promise<StateRoot | null> {
    const head = this.heads.get(key);
    if (head === undefined) return null;
    this.read(head.bytes);
    return { version: head.version, root: head.root };
  }

  async getItems(key: string, names: readonly string[]): Promise<Map<string, Uint8Array>> {
    const stored = this.items.get(key);
    const found = new Map<string, Uint8Array>();
    for (const name of names) {
      const item = stored?.get(name);
      if (item === undefined) continue;
      this.read(item.bytes);
      found.set(name, item.data.slice());
    }
    return found;
  }

  async saveItems(key: string, save: ItemSave, nowMs: number): Promise<number | typeof CONFLICT> {
    const expiresAt = Math.floor(nowMs / 1000) + STATE_TTL_MEMORY_S;
    let stored = this.items.get(key);
    if (stored === undefined) {
      stored = new Map();
      this.items.set(key, stored);
    }
    for (const [name, data] of save.put) {
      const bytes = itemBytes(stateItemAttributes(key, name, data, expiresAt));
      stored.set(name, { data: data.slice(), bytes });
      this.write(bytes);
    }
    const head = this.heads.get(key);
    // A value saved whole (before the item layout) holds the version until the first item save.
    const current = head?.version ?? this.values.get(key)?.version ?? null;
    const version = (save.expectedVersion ?? 0) + 1;
    const headBytes = itemBytes(
      headAttributes(key, version, packRoot(save.root), "w".repeat(36), nowMs, expiresAt),
    );
    if (current !== save.expectedVersion) {
      // A failed conditional write is still billed (at least one unit, by the item's size).
      this.usage.writeUnits += Math.max(1, Math.ceil(headBytes / KB));
      for (const name of save.put.keys()) this.remove(stored, name);
      return CONFLICT;
    }
    // Replacing an item is billed by the larger of the old and the new item.
    this.usage.writeUnits += Math.max(1, Math.ceil(Math.max(headBytes, head?.bytes ?? 0) / KB));
    this.usage.itemsWritten++;
    this.usage.bytesWritten += headBytes;
    this.heads.set(key, { root: save.root, version, bytes: headBytes });
    this.values.delete(key);
    for (const name of save.delete) this.remove(stored, name);
    return version;
  }

  /** Bytes stored for a key as DynamoDB counts them (head and items), for the storage bill. */
  storedBytes(key: string): number {
    let bytes = this.heads.get(key)?.bytes ?? 0;
    for (const item of this.items.get(key)?.values() ?? []) bytes += item.bytes;
    return bytes;
  }

  /** Items stored for a key (tests: superseded items are gone). */
  itemNames(key: string): string[] {
    return [...(this.items.get(key)?.keys() ?? [])];
  }

  private write(bytes: number): void {
    this.usage.writeUnits += Math.max(1, Math.ceil(bytes / KB));
    this.usage.itemsWritten++;
    this.usage.bytesWritten += bytes;
  }

  private remove(stored: Map<string, { bytes: number }>, name: string): void {
    const item = stored.get(name);
    // DeleteItem is billed by the size of the item deleted (one unit when there is none).
    this.usage.writeUnits += Math.max(1, Math.ceil((item?.bytes ?? 0) / KB));
    if (item === undefined) return;
    stored.delete(name);
    this.usage.itemsDeleted++;
    this.usage.bytesDeleted += item.bytes;
  }

  private read(bytes: number, consistent = true): void {
    // An eventually consistent read costs half a unit per started 4 KB.
    this.usage.readUnits += Math.max(1, Math.ceil(bytes / (4 * KB))) * (consistent ? 1 : 0.5);
    this.usage.itemsRead++;
    this.usage.bytesRead += bytes;
  }

  async save<T>(key: string, value: T, expectedVersion: number | null): Promise<number | typeof CONFLICT> {
    const current = this.values.get(key)?.version ?? null;
    if (current !== expectedVersion) return CONFLICT;
    const version = (current ?? 0) + 1;
    this.values.set(key, { json: JSON.stringify(value), version });
    return version;
  }

  async claim(key: string, ttlS: number, nowMs: number, token?: string): Promise<boolean> {
    const nowS = Math.floor(nowMs / 1000);
    const held = this.claims.get(key);
    if (held !== undefined && held.expiresS > nowS && (token === undefined || held.token !== token))
      return false;
    this.claims.set(key, { expiresS: nowS + ttlS, token: token ?? null });
    return true;
  }

  /** Only the most recent records are kept: in memory they are for tests and inspection, not storage. */
  async putRecord(partition: string, sort: string, record: unknown): Promise<void> {
    this.records.set(`${partition}|${sort}`, record);
    if (this.records.size > MEMORY_RECORDS_KEPT) {
      const oldest = this.records.keys().next().value;
      if (oldest !== undefined) this.records.delete(oldest);
    }
  }
}

/** DynamoDB caps an item at 400 KB; state is gzipped and split into chunks below that. */
export const STATE_CHUNK_BYTES = 350 * 1024;

export interface DynamoStateStoreOptions {
  client: DynamoDBClient;
  tableName: string;
  /** State untouched for this long expires through the table's TTL (attribute `expires_at`). */
  stateTtlS?: number;
}

/**
 * Table layout (docs/lambda.md): partition key `pk` (S), sort key `sk` (S), TTL attribute
 * `expires_at` (epoch seconds).
 * - state:  pk `state#<key>`, sk `head` holds only version, writer and chunk count (a read of it
 *           costs one read unit, so the per-invocation "is my copy current?" check is cheap); the
 *           gzipped state is at sk `chunk#<version>#<writer>#<i>`, so racing writers never
 *           overwrite each other's chunks.
 * - claims: pk `claim#<key>`, sk `claim`.
 * - audit:  pk `audit#<partition>`, sk `<sort>`, attribute `record` (JSON).
 */
export class DynamoStateStore implements StateStore {
  readonly durable = true;
  private readonly stateTtlS: number;

  constructor(private readonly options: DynamoStateStoreOptions) {
    this.stateTtlS = options.stateTtlS ?? 30 * 24 * 3600;
  }

  async load<T>(key: string): Promise<Versioned<T> | null> {
    const head = await this.getHead(key);
    if (head === null) return null;
    const parts: Buffer[] = [];
    const keys = Array.from({ length: head.chunks }, (_, i) => ({
      pk: { S: `state#${key}` },
      sk: { S: `chunk#${head.version}#${head.writer}#${i}` },
    }));
    const found = new Map<string, Buffer>();
    for (const item of await this.batchGet(key, keys, "chunks")) {
      if (item.sk?.S && item.data?.B) found.set(item.sk.S, Buffer.from(item.data.B));
    }
    for (const k of keys) {
      const chunk = found.get(k.sk.S);
      if (!chunk) throw new Error(`state ${key}: chunk ${k.sk.S} of version ${head.version} is missing`);
      parts.push(chunk);
    }
    const value = JSON.parse(gunzipSync(Buffer.concat(parts)).toString("utf8")) as T;
    return { value, version: head.version };
  }

  async version(key: string, options: { consistent?: boolean } = {}): Promise<number | null> {
    return (await this.getHead(key, options.consistent ?? true))?.version ?? null;
  }

  async save<T>(
    key: string,
    value: T,
    expectedVersion: number | null,
    nowMs: number,
  ): Promise<number | typeof CONFLICT> {
    const packed = gzipSync(Buffer.from(JSON.stringify(value), "utf8"));
    const chunks: Buffer[] = [];
    for (let start = 0; start < packed.length || chunks.length === 0; start += STATE_CHUNK_BYTES) {
      chunks.push(packed.subarray(start, start + STATE_CHUNK_BYTES));
    }
    const version = (expectedVersion ?? 0) + 1;
    const writer = randomUUID();
    const expiresAt = { N: String(Math.floor(nowMs / 1000) + this.stateTtlS) };
    for (let i = 0; i < chunks.length; i++) {
      await this.options.client.send(
        new PutItemCommand({
          TableName: this.options.tableName,
          Item: {
            pk: { S: `state#${key}` },
            sk: { S: `chunk#${version}#${writer}#${i}` },
            data: { B: chunks[i] as Buffer },
            expires_at: expiresAt,
          },
        }),
      );
    }
    const written = await this.putHead(
      key,
      expectedVersion,
      { version: { N: String(version) }, writer: { S: writer }, chunks: { N: String(chunks.length) } },
      nowMs,
      expiresAt,
    );
    return written ? version : CONFLICT;
  }

  /**
   * The commit of every save: write the head only if it still holds `expectedVersion` (or, for
   * null, does not exist yet). False when that condition failed; any other error is thrown.
   */
  private async putHead(
    key: string,
    expectedVersion: number | null,
    fields: Record<string, AttributeValue>,
    nowMs: number,
    expiresAt: AttributeValue,
  ): Promise<boolean> {
    return this.putIf({
      Item: {
        pk: { S: `state#${key}` },
        sk: { S: "head" },
        ...fields,
        updated_at: { N: String(nowMs) },
        expires_at: expiresAt,
      },
      ConditionExpression: expectedVersion === null ? "attribute_not_exists(pk)" : "#version = :expected",
      ...(expectedVersion === null
        ? {}
        : {
            ExpressionAttributeNames: { "#version": "version" },
            ExpressionAttributeValues: { ":expected": { N: String(expectedVersion) } },
          }),
    });
  }

  /**
   * A conditional put whose failed condition is an answer, not an error: false when DynamoDB found
   * the condition unmet (a lost race, a live claim); any other error is thrown.
   */
  private async putIf(input: Omit<PutItemCommandInput, "TableName">): Promise<boolean> {
    try {
      await this.options.client.send(new PutItemCommand({ ...input, TableName: this.options.tableName }));
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async loadRoot(key: string): Promise<StateRoot | null> {
    const head = await this.getHead(key);
    if (head === null || head.root === null) return null;
    return { version: head.version, root: head.root };
  }

  /**
   * Every item of `keys` that exists (consistent reads). BatchGetItem takes at most 100 keys and may
   * return some as unprocessed: loop until done. This loop stays ours: a partly answered call is a
   * success to the SDK, so its retry strategy never sees the keys left over.
   */
  private async batchGet(
    key: string,
    keys: readonly Record<string, AttributeValue>[],
    what: string,
  ): Promise<Record<string, AttributeValue>[]> {
    const items: Record<string, AttributeValue>[] = [];
    for (let start = 0; start < keys.length; start += 100) {
      let pending: Record<string, AttributeValue>[] = keys.slice(start, start + 100);
      for (let round = 0; pending.length > 0; round++) {
        if (round > 10) throw new Error(`state ${key}: ${what} still unprocessed after ${round} rounds`);
        const response = await this.options.client.send(
          new BatchGetItemCommand({
            RequestItems: { [this.options.tableName]: { Keys: pending, ConsistentRead: true } },
          }),
        );
        items.push(...(response.Responses?.[this.options.tableName] ?? []));
        pending = (response.UnprocessedKeys?.[this.options.tableName]?.Keys ?? []) as Record<
          string,
          AttributeValue
        >[];
      }
    }
    return items;
  }

  async getItems(key: string, names: readonly string[]): Promise<Map<string, Uint8Array>> {
    const found = new Map<string, Uint8Array>();
    const unique = [...new Set(names)];
    const keys = unique.map((name) => ({ pk: { S: `state#${key}` }, sk: { S: `item#${name}` } }));
    for (const item of await this.batchGet(key, keys, "items")) {
      if (item.sk?.S?.startsWith("item#") && item.data?.B) {
        found.set(item.sk.S.slice("item#".length), new Uint8Array(item.data.B));
      }
    }
    return found;
  }

  async saveItems(key: string, save: ItemSave, nowMs: number): Promise<number | typeof CONFLICT> {
    const expiresAt = { N: String(Math.floor(nowMs / 1000) + this.stateTtlS) };
    await this.batchWrite(
      [...save.put].map(([name, data]) => ({
        PutRequest: {
          Item: {
            pk: { S: `state#${key}` },
            sk: { S: `item#${name}` },
            data: { B: data },
            expires_at: expiresAt,
          },
        },
      })),
    );
    const version = (save.expectedVersion ?? 0) + 1;
    const writer = randomUUID();
    const written = await this.putHead(
      key,
      save.expectedVersion,
      { version: { N: String(version) }, writer: { S: writer }, root: { B: packRoot(save.root) } },
      nowMs,
      expiresAt,
    );
    if (!written) {
      // The SDK retries a call whose answer was lost: the retry of a write that did land fails its
      // condition. The head then names this writer: the save succeeded.
      const head = await this.getHead(key);
      if (head?.writer === writer && head.version === version) {
        await this.deleteItems(key, save.delete).catch(() => {});
        return version;
      }
      // Nobody references what this attempt wrote (its names are its own): remove it.
      await this.deleteItems(key, [...save.put.keys()]);
      return CONFLICT;
    }
    // After the commit: a failure here leaves superseded items to the table's TTL, never a broken state.
    try {
      await this.deleteItems(key, save.delete);
    } catch {
      // Counted by nobody on purpose: the save itself succeeded.
    }
    return version;
  }

  private async deleteItems(key: string, names: readonly string[]): Promise<void> {
    await this.batchWrite(
      names.map((name) => ({
        DeleteRequest: { Key: { pk: { S: `state#${key}` }, sk: { S: `item#${name}` } } },
      })),
    );
  }

  /** BatchWriteItem in groups of 25, resending what DynamoDB returns as unprocessed. */
  private async batchWrite(requests: NonNullable<BatchWriteItemCommandRequests>): Promise<void> {
    for (let start = 0; start < requests.length; start += 25) {
      let pending = requests.slice(start, start + 25);
      for (let round = 0; pending.length > 0; round++) {
        if (round > 10) throw new Error(`state: writes still unprocessed after ${round} rounds`);
        const response = await this.options.client.send(
          new BatchWriteItemCommand({ RequestItems: { [this.options.tableName]: pending } }),
        );
        pending = (response.UnprocessedItems?.[this.options.tableName] ?? []) as typeof pending;
      }
    }
  }

  async claim(key: string, ttlS: number, nowMs: number, token?: string): Promise<boolean> {
    const nowS = Math.floor(nowMs / 1000);
    return this.putIf({
      Item: {
        pk: { S: `claim#${key}` },
        sk: { S: "claim" },
        expires_at: { N: String(nowS + ttlS) },
        ...(token === undefined ? {} : { token: { S: token } }),
      },
      // TTL deletion is lazy (it can take days), so an expired claim may still be there.
      ConditionExpression:
        token === undefined
          ? "attribute_not_exists(pk) OR expires_at <= :now"
          : "attribute_not_exists(pk) OR expires_at <= :now OR #token = :token",
      ExpressionAttributeValues: {
        ":now": { N: String(nowS) },
        ...(token === undefined ? {} : { ":token": { S: token } }),
      },
      ...(token === undefined ? {} : { ExpressionAttributeNames: { "#token": "token" } }),
    });
  }

  async putRecord(
    partition: string,
    sort: string,
    record: unknown,
    ttlS: number,
    nowMs: number,
  ): Promise<void> {
    await this.options.client.send(
      new PutItemCommand({
        TableName: this.options.tableName,
        Item: {
          pk: { S: `audit#${partition}` },
          sk: { S: sort },
          record: { S: JSON.stringify(record) },
          expires_at: { N: String(Math.floor(nowMs / 1000) + ttlS) },
        },
      }),
    );
  }

  private async getHead(
    key: string,
    consistent = true,
  ): Promise<{ version: number; writer: string; chunks: number; root: string | null } | null> {
    const response = await this.options.client.send(
      new GetItemCommand({
        TableName: this.options.tableName,
        Key: { pk: { S: `state#${key}` }, sk: { S: "head" } },
        ConsistentRead: consistent,
      }),
    );
    const item = response.Item;
    if (!item?.version?.N) return null;
    return {
      version: Number(item.version.N),
      writer: item.writer?.S ?? "",
      chunks: Number(item.chunks?.N ?? "1"),
      root: item.root?.B ? inflateRawSync(item.root.B).toString("utf8") : null,
    };
  }
}

type BatchWriteItemCommandRequests = WriteRequest[];

export function createDynamoClient(settings: AwsClientSettings): DynamoDBClient {
  return new DynamoDBClient(sdkClientConfig(settings, DYNAMODB_ATTEMPTS));
}

/**
 * The table this store expects (Terraform creates the same in infra/; tests and emulators use this).
 * TTL on `expires_at` is enabled separately (UpdateTimeToLive), as in Terraform's `ttl` block.
 */
export function stateTableDefinition(tableName: string): CreateTableCommandInput {
  return pkSkTable(tableName);
}
