import { randomUUID } from "node:crypto";
import { gunzipSync, gzipSync } from "node:zlib";
import {
  type AttributeValue,
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  type CreateTableCommandInput,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
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
 * Where handlers keep state between invocations. `MemoryStateStore` lives as long as the Lambda
 * execution environment (lost on a cold start); `DynamoStateStore` survives cold starts and
 * serialises concurrent writers with conditional writes.
 */
export interface StateStore {
  readonly durable: boolean;
  load<T>(key: string): Promise<Versioned<T> | null>;
  /** The current version without the value (cheap: tells a warm instance whether its copy is stale). */
  version(key: string): Promise<number | null>;
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
   * second S + ttlS - 1 and free again from S + ttlS, in every implementation.
   */
  claim(key: string, ttlS: number, nowMs: number): Promise<boolean>;
  /** Append a record (audit trail); idempotent by (partition, sort). */
  putRecord(partition: string, sort: string, record: unknown, ttlS: number, nowMs: number): Promise<void>;
}

const MEMORY_RECORDS_KEPT = 1000;

export class MemoryStateStore implements StateStore {
  readonly durable = false;
  private readonly values = new Map<string, { json: string; version: number }>();
  private readonly claims = new Map<string, number>();
  readonly records = new Map<string, unknown>();

  async load<T>(key: string): Promise<Versioned<T> | null> {
    const stored = this.values.get(key);
    // A copy, so a caller mutating its state cannot change what is "saved".
    return stored ? { value: JSON.parse(stored.json) as T, version: stored.version } : null;
  }

  async version(key: string): Promise<number | null> {
    return this.values.get(key)?.version ?? null;
  }

  async save<T>(key: string, value: T, expectedVersion: number | null): Promise<number | typeof CONFLICT> {
    const current = this.values.get(key)?.version ?? null;
    if (current !== expectedVersion) return CONFLICT;
    const version = (current ?? 0) + 1;
    this.values.set(key, { json: JSON.stringify(value), version });
    return version;
  }

  async claim(key: string, ttlS: number, nowMs: number): Promise<boolean> {
    const nowS = Math.floor(nowMs / 1000);
    const expiresS = this.claims.get(key);
    if (expiresS !== undefined && expiresS > nowS) return false;
    this.claims.set(key, nowS + ttlS);
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
    // BatchGetItem takes at most 100 keys and may return some as unprocessed: loop until done. This
    // loop stays ours: a partly answered call is a success to the SDK, so its retry strategy never
    // sees the keys left over.
    for (let start = 0; start < keys.length; start += 100) {
      let pending: Record<string, AttributeValue>[] = keys.slice(start, start + 100);
      for (let round = 0; pending.length > 0; round++) {
        if (round > 10) throw new Error(`state ${key}: chunks still unprocessed after ${round} rounds`);
        const response = await this.options.client.send(
          new BatchGetItemCommand({
            RequestItems: { [this.options.tableName]: { Keys: pending, ConsistentRead: true } },
          }),
        );
        for (const item of response.Responses?.[this.options.tableName] ?? []) {
          if (item.sk?.S && item.data?.B) found.set(item.sk.S, Buffer.from(item.data.B));
        }
        pending = (response.UnprocessedKeys?.[this.options.tableName]?.Keys ?? []) as Record<
          string,
          AttributeValue
        >[];
      }
    }
    for (const k of keys) {
      const chunk = found.get(k.sk.S);
      if (!chunk) throw new Error(`state ${key}: chunk ${k.sk.S} of version ${head.version} is missing`);
      parts.push(chunk);
    }
    const value = JSON.parse(gunzipSync(Buffer.concat(parts)).toString("utf8")) as T;
    return { value, version: head.version };
  }

  async version(key: string): Promise<number | null> {
    return (await this.getHead(key))?.version ?? null;
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
    try {
      await this.options.client.send(
        new PutItemCommand({
          TableName: this.options.tableName,
          Item: {
            pk: { S: `state#${key}` },
            sk: { S: "head" },
            version: { N: String(version) },
            writer: { S: writer },
            chunks: { N: String(chunks.length) },
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
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return CONFLICT;
      throw error;
    }
    return version;
  }

  async claim(key: string, ttlS: number, nowMs: number): Promise<boolean> {
    const nowS = Math.floor(nowMs / 1000);
    try {
      await this.options.client.send(
        new PutItemCommand({
          TableName: this.options.tableName,
          Item: { pk: { S: `claim#${key}` }, sk: { S: "claim" }, expires_at: { N: String(nowS + ttlS) } },
          // TTL deletion is lazy (it can take days), so an expired claim may still be there.
          ConditionExpression: "attribute_not_exists(pk) OR expires_at <= :now",
          ExpressionAttributeValues: { ":now": { N: String(nowS) } },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
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

  private async getHead(key: string): Promise<{ version: number; writer: string; chunks: number } | null> {
    const response = await this.options.client.send(
      new GetItemCommand({
        TableName: this.options.tableName,
        Key: { pk: { S: `state#${key}` }, sk: { S: "head" } },
        ConsistentRead: true,
      }),
    );
    const item = response.Item;
    if (!item?.version?.N) return null;
    return {
      version: Number(item.version.N),
      writer: item.writer?.S ?? "",
      chunks: Number(item.chunks?.N ?? "1"),
    };
  }
}

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
