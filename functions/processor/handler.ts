import type { CloudWatchLogsEvent, Context } from "aws-lambda";
import { awsClientSettings, type Env, numberEnv, requireEnv } from "../lib/env.js";
import { createHistoryFromEnv } from "../lib/history-env.js";
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
    history: createHistoryFromEnv(env, settings, logger),
  });
}

let processor: Processor | null = null;

/** Lambda entry point: a CloudWatch Logs subscription delivery. */
export async function handler(event: CloudWatchLogsEvent, _context?: Context): Promise<ProcessorOutcome> {
  // Built on first use and kept for the life of the execution environment (warm invocations reuse
  // the pipeline and the clients).
  processor ??= createProcessorFromEnv(process.env);
  return await processor.handle(event);
}
