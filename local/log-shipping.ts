import type { InputLogEvent } from "@aws-sdk/client-cloudwatch-logs";
import { awsClientSettings } from "../functions/aws/client.js";
import { createLogsClient, LogShipper } from "../functions/aws/cloudwatch-logs.js";
import type { Env } from "../functions/lambda/env.js";
import { SettingsError } from "../shared/errors.js";

/** What `--ship-to-log-group` did, for the summary and the report. */
export interface ShippingReport {
  log_group: string;
  log_stream: string;
  sent: number;
  calls: number;
  /** Accepted by the API but refused by CloudWatch (too old, too new, past retention, oversized). */
  refused: number;
  /** Never delivered: the calls failed after their retries. */
  failed: number;
  first_error: string | null;
}

/** Lines per PutLogEvents round; the shipper splits further to stay within the API limits. */
const FLUSH_LINES = 5_000;
/** Wall time between flushes in a slow (real-time) run, so lines show up in the console promptly. */
const FLUSH_INTERVAL_MS = 2_000;

/**
 * Buffers the runner's log lines and ships them to a CloudWatch Logs group with the same shipper
 * the generator Lambda uses. Shipping problems never stop the run: they are counted, and the first
 * one is reported once.
 */
export class LogGroupShipping {
  readonly report: ShippingReport;
  private readonly shipper: LogShipper;
  private buffer: InputLogEvent[] = [];
  private lastFlushMs: number;

  constructor(
    logGroupName: string,
    logStreamName: string,
    env: Env,
    private readonly wallNow: () => number,
    private readonly warn: (line: string) => void,
  ) {
    let settings: ReturnType<typeof awsClientSettings>;
    try {
      settings = awsClientSettings(env);
    } catch (error) {
      if (error instanceof SettingsError) {
        throw new SettingsError(`--ship-to-log-group: ${error.message}`, { cause: error });
      }
      throw error;
    }
    this.shipper = new LogShipper({
      // Fewer attempts than a Lambda: a run that cannot reach CloudWatch says so sooner.
      client: createLogsClient({ ...settings, maxAttempts: 3 }),
      logGroupName,
      logStreamName,
      createGroup: true,
    });
    this.report = {
      log_group: logGroupName,
      log_stream: logStreamName,
      sent: 0,
      calls: 0,
      refused: 0,
      failed: 0,
      first_error: null,
    };
    this.lastFlushMs = wallNow();
  }

  add(timeMs: number, line: string): void {
    this.buffer.push({ timestamp: timeMs, message: line });
  }

  /** Ship what is buffered when there is enough of it or it has waited long enough. */
  async flushIfDue(): Promise<void> {
    if (this.buffer.length >= FLUSH_LINES || this.wallNow() - this.lastFlushMs >= FLUSH_INTERVAL_MS) {
      await this.flush();
    }
  }

  async flush(): Promise<void> {
    this.lastFlushMs = this.wallNow();
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    try {
      const result = await this.shipper.ship(batch);
      const { tooOld, tooNew, expired, oversized } = result.rejected;
      this.report.sent += result.sent;
      this.report.calls += result.calls;
      this.report.refused += tooOld + tooNew + expired + oversized;
    } catch (error) {
      this.report.failed += batch.length;
      if (this.report.first_error === null) {
        this.report.first_error = (error as Error).message ?? String(error);
        this.warn(`shipping to log group ${this.report.log_group} failed: ${this.report.first_error}`);
      }
    }
  }
}
