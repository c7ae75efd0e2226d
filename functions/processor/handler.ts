import type { CloudWatchLogsEvent, Context } from "aws-lambda";
import { emailContextFromEnv } from "../lib/email-env.js";
import {
  type AwsClientSettings,
  awsClientSettings,
  type Env,
  numberEnv,
  optionalEnv,
  requireEnv,
} from "../lib/env.js";
import { createHistoryFromEnv } from "../lib/history-env.js";
import { createLogger } from "../lib/log.js";
import { createStateStore, loadPipelineConfig } from "../lib/runtime.js";
import { createSsmClient, SlackUrlFromSsm, SnsWithSlack } from "../lib/slack.js";
import { createSnsClient, SnsSink } from "../lib/sns.js";
import { Processor, type ProcessorOutcome } from "./processor.js";

/** Build the processor from the environment; a missing or malformed setting throws a ConfigurationError. */
export function createProcessorFromEnv(env: Env): Processor {
  const topicArn = requireEnv(env, "ALERT_TOPIC_ARN", "the SNS topic alerts are published to");
  const settings = awsClientSettings(env);
  const logger = createLogger({ function: "processor" });
  const config = loadPipelineConfig(env);
  return new Processor({
    config,
    store: createStateStore(env, settings),
    sink: withSlack(
      env,
      settings,
      new SnsSink({
        client: createSnsClient(settings),
        topicArn,
        logger,
        email: emailContextFromEnv(env, topicArn, config),
      }),
      logger,
    ),
    logger,
    writeMetrics: (line) => process.stdout.write(`${line}\n`),
    minSaveIntervalMs: numberEnv(env, "STATE_SAVE_INTERVAL_S", 0) * 1000,
    history: createHistoryFromEnv(env, settings, logger),
  });
}

/** `SLACK_WEBHOOK_PARAMETER` (set by infra/slack.tf) names the SSM SecureString holding the Slack URL. */
function withSlack(
  env: Env,
  settings: AwsClientSettings,
  sns: SnsSink,
  logger: ReturnType<typeof createLogger>,
) {
  const parameter = optionalEnv(env, "SLACK_WEBHOOK_PARAMETER");
  if (parameter === null) return sns;
  return new SnsWithSlack(sns, new SlackUrlFromSsm(createSsmClient(settings), parameter), logger);
}

let processor: Processor | null = null;

/** Lambda entry point: a CloudWatch Logs subscription delivery. */
export async function handler(event: CloudWatchLogsEvent, _context?: Context): Promise<ProcessorOutcome> {
  // Built on first use and kept for the life of the execution environment (warm invocations reuse
  // the pipeline and the clients).
  processor ??= createProcessorFromEnv(process.env);
  return await processor.handle(event);
}
