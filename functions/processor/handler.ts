import type { CloudWatchLogsEvent, Context, ScheduledEvent } from "aws-lambda";
import { awsClientSettings, type Env, numberEnv, requireEnv } from "../lib/env.js";
import { createLogger } from "../lib/log.js";
import { createStateStore, loadPipelineConfig } from "../lib/runtime.js";
import { createSnsClient, SnsSink } from "../lib/sns.js";
import { Processor, type ProcessorOutcome } from "./processor.js";

/** Build the processor from the environment; a missing or malformed setting throws a ConfigurationError. */
export function createProcessorFromEnv(env: Env): Processor {
  const topicArn = requireEnv(env, "ALERT_TOPIC_ARN", "the SNS topic alerts are published to");
  const settings = awsClientSettings(env);
  const logger = createLogger({ function: "processor" });
  return new Processor({
    config: loadPipelineConfig(env),
    store: createStateStore(env, settings),
    sink: new SnsSink({ client: createSnsClient(settings), topicArn, logger }),
    logger,
    writeMetrics: (line) => process.stdout.write(`${line}\n`),
    minSaveIntervalMs: numberEnv(env, "STATE_SAVE_INTERVAL_S", 0) * 1000,
  });
}

let processor: Processor | null = null;

/**
 * Lambda entry point: a CloudWatch Logs subscription delivery, or the one-minute schedule's tick
 * (EventBridge), which lets event time pass when no logs arrive.
 */
export async function handler(
  event: CloudWatchLogsEvent | ScheduledEvent,
  _context?: Context,
): Promise<ProcessorOutcome> {
  // Built on first use and kept for the life of the execution environment (warm invocations reuse
  // the pipeline and the clients).
  processor ??= createProcessorFromEnv(process.env);
  return await processor.handle(event);
}
