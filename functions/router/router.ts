import { gzipSync } from "node:zlib";
import type { KinesisClient } from "@aws-sdk/client-kinesis";
import type {
  CloudWatchLogsDecodedData,
  CloudWatchLogsLogEvent,
  KinesisStreamBatchResponse,
  KinesisStreamEvent,
} from "aws-lambda";
import { parseLogLine } from "../../shared/log/parse.js";
import { decodeAwsLogsEvent } from "../aws/awslogs.js";
import { MAX_RECORD_BYTES, putAllRecords, type StreamRecord } from "../aws/kinesis.js";
import { emfLine, type Logger } from "../lambda/log.js";

/** Where a line goes when it names no service: one processor counts those rejections. */
export const UNROUTED_KEY = "_unparsed";

/**
 * The partition key of a line: its service. Every line of a service lands on the same shard, so one
 * processor instance at a time sees that service's lines in order and owns its state.
 */
export function serviceKey(message: string): string {
  const parsed = parseLogLine(message);
  return parsed.ok ? parsed.event.service : UNROUTED_KEY;
}

/**
 * One CloudWatch Logs subscription payload, split by service into payloads of the same shape (the
 * processor reads them exactly as a direct subscription delivery), each under 1 MiB compressed:
 * a group too large is halved until it fits.
 */
export function splitByService(data: CloudWatchLogsDecodedData): StreamRecord[] {
  const groups = new Map<string, CloudWatchLogsLogEvent[]>();
  for (const logEvent of data.logEvents) {
    const key = serviceKey(logEvent.message);
    let group = groups.get(key);
    if (group === undefined) {
      group = [];
      groups.set(key, group);
    }
    group.push(logEvent);
  }
  const records: StreamRecord[] = [];
  for (const [partitionKey, logEvents] of groups) encodeFitting(data, partitionKey, logEvents, records);
  return records;
}

function encodeFitting(
  data: CloudWatchLogsDecodedData,
  partitionKey: string,
  logEvents: CloudWatchLogsLogEvent[],
  into: StreamRecord[],
): void {
  const payload = gzipSync(Buffer.from(JSON.stringify({ ...data, logEvents }), "utf8"));
  if (payload.byteLength <= MAX_RECORD_BYTES || logEvents.length === 1) {
    // A single line over 1 MiB compressed cannot be split further; Kinesis refuses it and the
    // router reports the batch item failed (it goes to the dead-letter destination).
    into.push({ partitionKey, data: payload });
    return;
  }
  const half = Math.ceil(logEvents.length / 2);
  encodeFitting(data, partitionKey, logEvents.slice(0, half), into);
  encodeFitting(data, partitionKey, logEvents.slice(half), into);
}

export interface RouterOptions {
  client: KinesisClient;
  /** The stream the processor reads, partitioned by service. */
  streamName: string;
  logger: Logger;
  writeMetrics: (line: string) => void;
  now?: () => number;
}

export interface RouterOutcome extends KinesisStreamBatchResponse {
  records: number;
  logEvents: number;
  routed: number;
  payloadsRejected: number;
}

/**
 * The scale-out path's first hop: CloudWatch Logs -> Kinesis (the log stream) -> router -> Kinesis
 * (the service stream) -> processor per shard. Source records are handled in order; at the first
 * one that cannot be fully routed the router reports it as the batch item failure, so Lambda retries
 * from there (at least once: that record's groups already put are put again).
 */
export class Router {
  private readonly now: () => number;

  constructor(private readonly options: RouterOptions) {
    this.now = options.now ?? Date.now;
  }

  async handle(event: KinesisStreamEvent): Promise<RouterOutcome> {
    const outcome: RouterOutcome = {
      batchItemFailures: [],
      records: 0,
      logEvents: 0,
      routed: 0,
      payloadsRejected: 0,
    };
    try {
      for (const record of event.Records ?? []) {
        outcome.records++;
        const decoded = decodeAwsLogsEvent({ awslogs: { data: record.kinesis.data } });
        if (!decoded.ok) {
          // Retrying cannot repair a corrupt payload: count it, say why once, go on.
          outcome.payloadsRejected++;
          this.options.logger.error("rejected Kinesis record", {
            reason: decoded.reason,
            detail: decoded.detail,
            sequenceNumber: record.kinesis.sequenceNumber,
          });
          continue;
        }
        if (decoded.data.messageType !== "DATA_MESSAGE") continue;
        outcome.logEvents += decoded.data.logEvents.length;
        const put = await putAllRecords(
          this.options.client,
          this.options.streamName,
          splitByService(decoded.data),
        );
        outcome.routed += put.sent;
        if (put.failed.length > 0) {
          this.options.logger.warn("records still refused after retries; Lambda retries from this record", {
            refused: put.failed.length,
            sequenceNumber: record.kinesis.sequenceNumber,
          });
          outcome.batchItemFailures.push({ itemIdentifier: record.kinesis.sequenceNumber });
          return outcome;
        }
      }
      return outcome;
    } finally {
      this.options.writeMetrics(
        emfLine(
          "router",
          {
            records: outcome.records,
            events: outcome.logEvents,
            routed: outcome.routed,
            payloads_rejected: outcome.payloadsRejected,
            retried: outcome.batchItemFailures.length,
          },
          this.now(),
        ),
      );
    }
  }
}
