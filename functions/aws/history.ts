import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type CreateTableCommandInput,
  type DynamoDBClient,
  GetItemCommand,
  type GetItemCommandInput,
  PutItemCommand,
  type PutItemCommandInput,
  QueryCommand,
  type QueryCommandInput,
} from "@aws-sdk/client-dynamodb";
import {
  compareEvents,
  compareIncidents,
  DEFAULT_LIST_LIMIT,
  foldIncident,
  incidentMatches,
} from "../../shared/history/summary.js";
import type {
  HistoryEvent,
  HistoryStore,
  IncidentQuery,
  IncidentSummary,
  SilenceRecord,
} from "../../shared/history/types.js";
import { DAY_MS, parseIncidentId, utcDay } from "../../shared/history/types.js";
import { pkSkTable } from "./client.js";

export const FINGERPRINT_INDEX = "by_fingerprint";
/** A `list` without an upper bound looks this far past the wall clock (clock skew between hosts). */
const FUTURE_SLACK_MS = DAY_MS;
/** Most days one `list` walks; a year of history at most. */
const MAX_DAYS_PER_QUERY = 400;
/** Summary read-modify-write attempts when two writers race on one incident. */
const SUMMARY_RACE_ATTEMPTS = 8;

export interface DynamoHistoryOptions {
  client: DynamoDBClient;
  tableName: string;
  /** Items expire (DynamoDB TTL on `expires_at`) this long after they are written. */
  retentionDays?: number;
  now?: () => number;
}

/**
 * The history on AWS: one DynamoDB table (infra/history.tf), TTL on `expires_at`.
 * - incident summary: pk `alerts#<service>#<YYYY-MM-DD of start>`, sk `<start, 15 digits>#<fingerprint>`,
 *   with `fingerprint` and `starts_at` for the `by_fingerprint` index, `rev` for optimistic updates;
 * - event:            pk `incident#<incident>`, sk `<at, 15 digits>#<event id>` (written once);
 * - day index:        pk `days#<YYYY-MM-DD>`, sk `<service>` (which service partitions a day has);
 * - silence:          pk `silences`, sk `<id>`.
 * Listing walks the days of the window and, per day, the services that had incidents: only queries.
 */
export class DynamoHistoryStore implements HistoryStore {
  readonly kind = "dynamodb" as const;
  private readonly retentionS: number;
  private readonly now: () => number;

  constructor(private readonly options: DynamoHistoryOptions) {
    this.retentionS = (options.retentionDays ?? 90) * 86_400;
    this.now = options.now ?? Date.now;
  }

  private expiresAt(): AttributeValue {
    return { N: String(Math.floor(this.now() / 1000) + this.retentionS) };
  }

  private put(input: PutItemCommandInput) {
    return this.options.client.send(new PutItemCommand(input));
  }

  private get(input: GetItemCommandInput) {
    return this.options.client.send(new GetItemCommand(input));
  }

  private query(input: QueryCommandInput) {
    return this.options.client.send(new QueryCommand(input));
  }

  async append(events: readonly HistoryEvent[]): Promise<void> {
    const fresh = new Map<string, HistoryEvent[]>();
    for (const event of events) {
      try {
        await this.put({
          TableName: this.options.tableName,
          Item: {
            pk: { S: `incident#${event.incident}` },
            sk: { S: `${pad(event.atMs)}#${event.id}` },
            event: { S: JSON.stringify(event) },
            expires_at: this.expiresAt(),
          },
          ConditionExpression: "attribute_not_exists(pk)",
        });
      } catch (error) {
        // Written before (an at-least-once retry): the summary already counts it.
        if (error instanceof ConditionalCheckFailedException) continue;
        throw error;
      }
      const list = fresh.get(event.incident) ?? [];
      list.push(event);
      fresh.set(event.incident, list);
    }
    for (const [incident, list] of fresh) await this.foldInto(incident, list);
  }

  private async foldInto(incident: string, events: HistoryEvent[]): Promise<void> {
    const first = events[0] as HistoryEvent;
    const startsAtMs = parseIncidentId(incident)?.startsAtMs ?? first.atMs;
    const key = summaryKey(first.service, startsAtMs, first.fingerprint);
    for (let attempt = 1; ; attempt++) {
      const got = await this.get({ TableName: this.options.tableName, Key: key, ConsistentRead: true });
      const rev = Number(got.Item?.rev?.N ?? "0");
      let summary = got.Item?.summary?.S ? (JSON.parse(got.Item.summary.S) as IncidentSummary) : null;
      for (const event of events) summary = foldIncident(summary, event);
      const s = summary as IncidentSummary;
      try {
        await this.put({
          TableName: this.options.tableName,
          Item: {
            ...key,
            incident: { S: incident },
            fingerprint: { S: s.fingerprint },
            starts_at: { N: String(s.startsAtMs) },
            state: { S: s.state },
            type: { S: s.type },
            summary: { S: JSON.stringify(s) },
            rev: { N: String(rev + 1) },
            expires_at: this.expiresAt(),
          },
          ConditionExpression: rev === 0 ? "attribute_not_exists(pk)" : "rev = :rev",
          ...(rev === 0 ? {} : { ExpressionAttributeValues: { ":rev": { N: String(rev) } } }),
        });
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException && attempt < SUMMARY_RACE_ATTEMPTS) continue;
        throw error;
      }
      if (rev === 0) {
        await this.put({
          TableName: this.options.tableName,
          Item: {
            pk: { S: `days#${utcDay(startsAtMs)}` },
            sk: { S: s.service },
            expires_at: this.expiresAt(),
          },
        });
      }
      return;
    }
  }

  async listIncidents(query: IncidentQuery): Promise<IncidentSummary[]> {
    const untilMs = query.untilMs ?? this.now() + FUTURE_SLACK_MS;
    const firstDay = Math.floor(query.sinceMs / DAY_MS);
    const lastDay = Math.min(Math.floor((untilMs - 1) / DAY_MS), firstDay + MAX_DAYS_PER_QUERY - 1);
    const found: IncidentSummary[] = [];
    for (let day = lastDay; day >= firstDay; day--) {
      const dayName = utcDay(day * DAY_MS);
      const services =
        query.service !== undefined
          ? [query.service]
          : (await this.queryAll({ pk: `days#${dayName}` })).map((item) => item.sk?.S ?? "");
      for (const service of services) {
        const items = await this.queryAll({
          pk: `alerts#${service}#${dayName}`,
          skBetween: [pad(Math.max(query.sinceMs, 0)), pad(Math.max(untilMs - 1, 0))],
        });
        for (const item of items) {
          if (!item.summary?.S) continue;
          const summary = JSON.parse(item.summary.S) as IncidentSummary;
          if (incidentMatches(summary, { ...query, untilMs })) found.push(summary);
        }
      }
    }
    return found.sort(compareIncidents).slice(0, query.limit ?? DEFAULT_LIST_LIMIT);
  }

  async incident(incident: string): Promise<IncidentSummary | null> {
    const parsed = parseIncidentId(incident);
    if (parsed === null) return null;
    const items = await this.queryAll({
      index: { fingerprint: parsed.fingerprint, startsAtMs: parsed.startsAtMs },
    });
    const item = items.find((i) => i.incident?.S === incident);
    return item?.summary?.S ? (JSON.parse(item.summary.S) as IncidentSummary) : null;
  }

  async timeline(incident: string): Promise<HistoryEvent[]> {
    const items = await this.queryAll({ pk: `incident#${incident}` });
    return items
      .filter((i) => i.event?.S)
      .map((i) => JSON.parse(i.event?.S as string) as HistoryEvent)
      .sort(compareEvents);
  }

  async putSilence(silence: SilenceRecord): Promise<void> {
    await this.put({
      TableName: this.options.tableName,
      Item: {
        pk: { S: "silences" },
        sk: { S: silence.id },
        silence: { S: JSON.stringify(silence) },
        // Kept for the retention period after it ends, then DynamoDB deletes it.
        expires_at: { N: String(Math.floor(silence.endsAtMs / 1000) + this.retentionS) },
      },
    });
  }

  async expireSilence(id: string, nowMs: number): Promise<SilenceRecord | null> {
    const got = await this.get({
      TableName: this.options.tableName,
      Key: { pk: { S: "silences" }, sk: { S: id } },
      ConsistentRead: true,
    });
    if (!got.Item?.silence?.S) return null;
    const silence = JSON.parse(got.Item.silence.S) as SilenceRecord;
    if (silence.expiredAtMs === null || silence.expiredAtMs > nowMs) silence.expiredAtMs = nowMs;
    await this.putSilence(silence);
    return silence;
  }

  async listSilences(): Promise<SilenceRecord[]> {
    const items = await this.queryAll({ pk: "silences", consistent: true });
    return items
      .filter((i) => i.silence?.S)
      .map((i) => JSON.parse(i.silence?.S as string) as SilenceRecord)
      .sort((a, b) => b.startsAtMs - a.startsAtMs || a.id.localeCompare(b.id));
  }

  async close(): Promise<void> {}

  private async queryAll(q: {
    pk?: string;
    skBetween?: [string, string];
    index?: { fingerprint: string; startsAtMs: number };
    consistent?: boolean;
  }): Promise<Record<string, AttributeValue>[]> {
    const input: QueryCommandInput =
      q.index !== undefined
        ? {
            TableName: this.options.tableName,
            IndexName: FINGERPRINT_INDEX,
            KeyConditionExpression: "fingerprint = :fp AND starts_at = :start",
            ExpressionAttributeValues: {
              ":fp": { S: q.index.fingerprint },
              ":start": { N: String(q.index.startsAtMs) },
            },
          }
        : {
            TableName: this.options.tableName,
            KeyConditionExpression:
              q.skBetween === undefined ? "pk = :pk" : "pk = :pk AND sk BETWEEN :from AND :to",
            ExpressionAttributeValues: {
              ":pk": { S: q.pk ?? "" },
              ...(q.skBetween === undefined
                ? {}
                : { ":from": { S: q.skBetween[0] }, ":to": { S: `${q.skBetween[1]}~` } }),
            },
            ConsistentRead: q.consistent ?? true,
          };
    const out: Record<string, AttributeValue>[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.query({ ...input, ...(startKey ? { ExclusiveStartKey: startKey } : {}) });
      out.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return out;
  }
}

/** Fixed-width milliseconds so that string order is time order (years 1970..33658). */
function pad(ms: number): string {
  return String(Math.max(0, Math.floor(ms))).padStart(15, "0");
}

function summaryKey(
  service: string,
  startsAtMs: number,
  fingerprint: string,
): Record<string, AttributeValue> {
  return {
    pk: { S: `alerts#${service}#${utcDay(startsAtMs)}` },
    sk: { S: `${pad(startsAtMs)}#${fingerprint}` },
  };
}

/** The table this store expects; infra/history.tf creates the same (tests create it from this). */
export function historyTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    ...pkSkTable(tableName, [
      { AttributeName: "fingerprint", AttributeType: "S" },
      { AttributeName: "starts_at", AttributeType: "N" },
    ]),
    GlobalSecondaryIndexes: [
      {
        IndexName: FINGERPRINT_INDEX,
        KeySchema: [
          { AttributeName: "fingerprint", KeyType: "HASH" },
          { AttributeName: "starts_at", KeyType: "RANGE" },
        ],
        Projection: { ProjectionType: "ALL" },
      },
    ],
  };
}
