import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import type { InputLogEvent } from "@aws-sdk/client-cloudwatch-logs";
import { SettingsError } from "../../shared/errors.js";
import { createGenerator } from "../../shared/generator/index.js";
import { formatLogLine } from "../../shared/log/parse.js";
import { awsClientSettings } from "../aws/client.js";
import { createLogsClient, LogShipper } from "../aws/cloudwatch-logs.js";
import { type Env, numberEnv } from "../lambda/env.js";
import { createLogger, type Logger } from "../lambda/log.js";
import type { Shipper } from "./generator.js";
import { type GeneratorSettings, generatorSettings } from "./settings.js";

export interface DaemonOptions {
  settings: GeneratorSettings;
  /** Event-rate multiplier: SPEED=10 generates ten times the events per second. Time stays real. */
  speed: number;
  shipper: Shipper;
  logger: Logger;
  /** Aborted on SIGTERM/SIGINT: ship what is buffered, then return. */
  signal: AbortSignal;
  flushIntervalMs?: number;
  now?: () => number;
}

export interface DaemonSummary {
  generated: number;
  sent: number;
  failedFlushes: number;
}

/** Beyond this many unsent events (CloudWatch unreachable for long) the oldest are dropped, and counted. */
const MAX_BUFFERED_EVENTS = 200_000;

/**
 * The generator as a long-running process (EC2 host, systemd): log lines stamped with the real
 * clock, shipped every `flushIntervalMs`. Stops cleanly on abort after a final flush.
 */
export async function runDaemon(options: DaemonOptions): Promise<DaemonSummary> {
  const now = options.now ?? Date.now;
  const flushIntervalMs = options.flushIntervalMs ?? 1000;
  const { settings, speed } = options;
  const generator = createGenerator({
    seed: settings.seed,
    startMs: now(),
    minIntervalS: settings.minIntervalS / speed,
    maxIntervalS: settings.maxIntervalS / speed,
  });
  const summary: DaemonSummary = { generated: 0, sent: 0, failedFlushes: 0 };
  let buffer: InputLogEvent[] = [];
  let next = generator.next();

  const flush = async () => {
    if (buffer.length === 0) return;
    const batch = buffer;
    buffer = [];
    try {
      const result = await options.shipper.ship(batch);
      summary.sent += result.sent;
    } catch (error) {
      // Keep the lines for the next flush: a CloudWatch outage delays logs, it does not lose them.
      summary.failedFlushes++;
      buffer = batch.concat(buffer);
      const excess = buffer.length - MAX_BUFFERED_EVENTS;
      if (excess > 0) {
        buffer.splice(0, excess);
        options.logger.error("send buffer full: oldest log lines dropped", { dropped: excess });
      }
      options.logger.error("shipping failed; will retry on the next flush", {
        error,
        buffered: buffer.length,
      });
    }
  };

  options.logger.info("generator daemon started", {
    logGroup: settings.logGroupName,
    logStream: settings.logStreamName,
    speed,
  });
  while (!options.signal.aborted) {
    const upTo = now();
    while (next.timeMs <= upTo) {
      buffer.push({ timestamp: next.timeMs, message: formatLogLine(next) });
      summary.generated++;
      next = generator.next();
    }
    await flush();
    try {
      await sleep(flushIntervalMs, undefined, { signal: options.signal });
    } catch {
      // aborted: leave the loop and flush below
    }
  }
  await flush();
  options.logger.info("generator daemon stopped", { ...summary, unsent: buffer.length });
  return summary;
}

/** `RUN_MODE=daemon node index.js`: read the environment, run until SIGTERM, exit 0 after the final flush. */
export async function startDaemonFromEnv(env: Env): Promise<void> {
  const logger = createLogger({ function: "generator", mode: "daemon" });
  let settings: GeneratorSettings;
  let speed: number;
  let shipper: LogShipper;
  try {
    settings = generatorSettings(env, `ec2/${hostname()}/${new Date().toISOString().slice(0, 10)}`);
    speed = numberEnv(env, "SPEED", 1, { min: 0.001 });
    shipper = new LogShipper({
      client: createLogsClient(awsClientSettings(env)),
      logGroupName: settings.logGroupName,
      logStreamName: settings.logStreamName,
      logger,
    });
  } catch (error) {
    if (error instanceof SettingsError) {
      logger.error(error.message);
      process.exitCode = 2;
      return;
    }
    throw error;
  }
  const controller = new AbortController();
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      logger.info(`received ${signal}; flushing and stopping`);
      controller.abort();
    });
  }
  await runDaemon({ settings, speed, shipper, logger, signal: controller.signal });
}
