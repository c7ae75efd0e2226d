import { randomUUID } from "node:crypto";
import type { Context, ScheduledEvent } from "aws-lambda";
import { awsClientSettings } from "../aws/client.js";
import { createLogsClient, LogShipper } from "../aws/cloudwatch-logs.js";
import { createLogger, emfLine, type Logger } from "../lambda/log.js";
import { generateWindow, type Shipper } from "./generator.js";
import { type GeneratorSettings, generatorSettings } from "./settings.js";

export interface GeneratorInvocationResult {
  windowStartMs: number;
  windowEndMs: number;
  generated: number;
  sent: number;
  calls: number;
  refused: number;
}

/**
 * One scheduled run: generate the window that ends at the schedule's time and ship it. The window
 * comes from the event's `time`, not the clock, so a retried delivery of the same event ships the
 * same lines (CloudWatch keeps both copies; the processor's windows tolerate a duplicate batch).
 */
export async function runScheduled(
  event: Pick<ScheduledEvent, "time">,
  settings: GeneratorSettings,
  shipper: Shipper,
  logger: Logger,
  writeMetrics: (line: string) => void,
  nowMs: number,
): Promise<GeneratorInvocationResult> {
  const scheduled = Date.parse(event.time);
  const windowEndMs = Math.floor((Number.isFinite(scheduled) ? scheduled : nowMs) / 1000) * 1000;
  const windowStartMs = windowEndMs - settings.windowS * 1000;
  const events = generateWindow({
    seed: settings.seed,
    startMs: windowStartMs,
    endMs: windowEndMs,
    minIntervalS: settings.minIntervalS,
    maxIntervalS: settings.maxIntervalS,
  });
  const shipped = await shipper.ship(events);
  const refused =
    shipped.rejected.tooOld + shipped.rejected.tooNew + shipped.rejected.expired + shipped.rejected.oversized;
  const result = {
    windowStartMs,
    windowEndMs,
    generated: events.length,
    sent: shipped.sent,
    calls: shipped.calls,
    refused,
  };
  logger.info("window shipped", {
    ...result,
    logGroup: settings.logGroupName,
    logStream: settings.logStreamName,
  });
  writeMetrics(emfLine("generator", { events: events.length, shipped: shipped.sent, refused }, nowMs));
  return result;
}

let runtime: { settings: GeneratorSettings; shipper: LogShipper; logger: Logger } | null = null;

/** Lambda entry point: an EventBridge scheduled event. */
export async function handler(event: ScheduledEvent, _context?: Context): Promise<GeneratorInvocationResult> {
  if (runtime === null) {
    const env = process.env;
    // One stream per execution environment: concurrent environments never share a stream.
    const settings = generatorSettings(
      env,
      `lambda/${new Date().toISOString().slice(0, 10)}/${randomUUID()}`,
    );
    const logger = createLogger({ function: "generator" });
    const shipper = new LogShipper({
      client: createLogsClient(awsClientSettings(env)),
      logGroupName: settings.logGroupName,
      logStreamName: settings.logStreamName,
      logger,
    });
    runtime = { settings, shipper, logger };
  }
  return await runScheduled(
    event,
    runtime.settings,
    runtime.shipper,
    runtime.logger,
    (line) => process.stdout.write(`${line}\n`),
    Date.now(),
  );
}
