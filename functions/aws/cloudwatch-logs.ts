import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  type InputLogEvent,
  PutLogEventsCommand,
  ResourceAlreadyExistsException,
  ResourceNotFoundException,
} from "@aws-sdk/client-cloudwatch-logs";
import type { Logger } from "../lambda/log.js";
import { type AwsClientSettings, LOGS_ATTEMPTS, sdkClientConfig } from "./client.js";

/** PutLogEvents limits (AWS documentation, CloudWatch Logs quotas). */
export const PUT_LOG_EVENTS_LIMITS = {
  maxEvents: 10_000,
  maxBytes: 1_048_576,
  /** Counted per event on top of the UTF-8 message length. */
  overheadBytes: 26,
  /** A single event's message may not exceed this (the batch limit minus the overhead). */
  maxEventBytes: 1_048_576 - 26,
  /** All events of one call must fall within 24 hours. */
  maxSpanMs: 24 * 3600 * 1000,
} as const;

export interface BatchLimits {
  maxEvents: number;
  maxBytes: number;
  overheadBytes: number;
  maxSpanMs: number;
}

export interface BatchPlan {
  batches: InputLogEvent[][];
  /** Events that can never be sent (a message larger than the per-call limit). */
  oversized: InputLogEvent[];
}

/**
 * Split events into PutLogEvents calls: time order (stable, so equal timestamps keep their order),
 * at most `maxEvents` and `maxBytes` (UTF-8 length plus 26 per event) per call, one call spanning at
 * most 24 hours.
 */
export function planBatches(
  events: readonly InputLogEvent[],
  limits: BatchLimits = PUT_LOG_EVENTS_LIMITS,
): BatchPlan {
  const sorted = events
    .map((event, index) => ({ event, index }))
    .sort((a, b) => (a.event.timestamp ?? 0) - (b.event.timestamp ?? 0) || a.index - b.index);
  const batches: InputLogEvent[][] = [];
  const oversized: InputLogEvent[] = [];
  let current: InputLogEvent[] = [];
  let bytes = 0;
  let firstMs = 0;
  for (const { event } of sorted) {
    const size = Buffer.byteLength(event.message ?? "", "utf8") + limits.overheadBytes;
    if (size > limits.maxBytes) {
      oversized.push(event);
      continue;
    }
    const timestamp = event.timestamp ?? 0;
    if (
      current.length > 0 &&
      (current.length >= limits.maxEvents ||
        bytes + size > limits.maxBytes ||
        timestamp - firstMs >= limits.maxSpanMs)
    ) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    if (current.length === 0) firstMs = timestamp;
    current.push(event);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return { batches, oversized };
}

export interface ShipResult {
  sent: number;
  calls: number;
  /** Events CloudWatch refused (too old, too new, or past the group's retention), by reason. */
  rejected: { tooOld: number; tooNew: number; expired: number; oversized: number };
}

export interface LogShipperOptions {
  client: CloudWatchLogsClient;
  logGroupName: string;
  logStreamName: string;
  /** Create the log group too when it is missing (the local runner against moto); Terraform owns it on AWS. */
  createGroup?: boolean;
  logger?: Logger;
}

/**
 * Ships log lines to one CloudWatch Logs stream. The stream is created on first use (and again if it
 * disappears); throttling and server errors are retried by the client (createLogsClient).
 */
export class LogShipper {
  private streamReady = false;
  constructor(private readonly options: LogShipperOptions) {}

  async ship(events: readonly InputLogEvent[]): Promise<ShipResult> {
    const plan = planBatches(events);
    const result: ShipResult = {
      sent: 0,
      calls: 0,
      rejected: { tooOld: 0, tooNew: 0, expired: 0, oversized: plan.oversized.length },
    };
    if (plan.oversized.length > 0) {
      this.options.logger?.error("log events larger than the PutLogEvents limit were not sent", {
        count: plan.oversized.length,
      });
    }
    for (const batch of plan.batches) {
      await this.ensureStream();
      const response = await this.putRecreatingStream(batch);
      result.calls++;
      const info = response.rejectedLogEventsInfo;
      // Indexes are inclusive/exclusive bounds into the batch (too-new starts at its index, the others end before theirs).
      const tooOld = info?.tooOldLogEventEndIndex ?? 0;
      const expired = info?.expiredLogEventEndIndex ?? 0;
      const tooNew =
        info?.tooNewLogEventStartIndex !== undefined ? batch.length - info.tooNewLogEventStartIndex : 0;
      const refused = Math.min(batch.length, Math.max(tooOld, expired) + tooNew);
      result.rejected.tooOld += tooOld;
      result.rejected.expired += Math.max(0, expired - tooOld);
      result.rejected.tooNew += tooNew;
      result.sent += batch.length - refused;
      if (refused > 0) {
        this.options.logger?.warn("CloudWatch Logs refused some events", { refused, info });
      }
    }
    return result;
  }

  /**
   * The stream was deleted under us (or never existed): create it and put once more. Not a retry
   * the SDK could make: the second call only succeeds after a different call (CreateLogStream).
   */
  private async putRecreatingStream(batch: InputLogEvent[]) {
    try {
      return await this.put(batch);
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
      this.streamReady = false;
      await this.ensureStream();
      return await this.put(batch);
    }
  }

  private put(batch: InputLogEvent[]) {
    return this.options.client.send(
      new PutLogEventsCommand({
        logGroupName: this.options.logGroupName,
        logStreamName: this.options.logStreamName,
        logEvents: batch,
      }),
    );
  }

  private async ensureStream(): Promise<void> {
    if (this.streamReady) return;
    const { client, logGroupName, logStreamName } = this.options;
    if (this.options.createGroup) {
      await ignoreAlreadyExists(() => client.send(new CreateLogGroupCommand({ logGroupName })));
    }
    await ignoreAlreadyExists(() => client.send(new CreateLogStreamCommand({ logGroupName, logStreamName })));
    this.streamReady = true;
  }
}

async function ignoreAlreadyExists(operation: () => Promise<unknown>): Promise<void> {
  try {
    await operation();
  } catch (error) {
    if (!(error instanceof ResourceAlreadyExistsException)) throw error;
  }
}

export function createLogsClient(settings: AwsClientSettings): CloudWatchLogsClient {
  return new CloudWatchLogsClient(sdkClientConfig(settings, LOGS_ATTEMPTS));
}
