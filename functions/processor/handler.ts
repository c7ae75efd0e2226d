import type { CloudWatchLogsEvent, Context, KinesisStreamEvent, ScheduledEvent } from "aws-lambda";
import { type AwsClientSettings, awsClientSettings } from "../aws/client.js";
import { createSqsClient, type DeadLetterQueue, SqsDeadLetterQueue } from "../aws/dead-letter.js";
import { SlackUrlFromSsm, SnsWithSlack } from "../aws/slack.js";
import { createSnsClient, SnsSink } from "../aws/sns.js";
import { createParameterReader } from "../aws/ssm-parameter.js";
import { type Env, numberEnv, optionalEnv, requireEnv } from "../lambda/env.js";
import { createLogger, type Logger } from "../lambda/log.js";
import { createStateStore, loadPipelineConfig } from "../lambda/runtime.js";
import { emailContextFromEnv } from "./email-env.js";
import { createHistoryFromEnv } from "./history-env.js";
import { type KinesisOutcome, KinesisProcessor } from "./kinesis.js";
import { Processor, type ProcessorOutcome } from "./processor.js";

/**
 * Everything a processor needs from the environment, built once: a missing or malformed setting
 * throws a SettingsError. `stateKey` names the state item (one per service on the Kinesis path).
 */
function processorFactory(env: Env): { create: (stateKey?: string) => Processor; logger: Logger } {
  const topicArn = requireEnv(env, "ALERT_TOPIC_ARN", "the SNS topic alerts are published to");
  const settings = awsClientSettings(env);
  const logger = createLogger({ function: "processor" });
  const config = loadPipelineConfig(env);
  const store = createStateStore(env, settings);
  const sink = withSlack(
    env,
    settings,
    new SnsSink({
      client: createSnsClient(settings),
      topicArn,
      logger,
      email: emailContextFromEnv(env, topicArn, config),
    }),
    logger,
  );
  const history = createHistoryFromEnv(env, settings, logger);
  const deadLetterUrl = optionalEnv(env, "DEAD_LETTER_QUEUE_URL");
  const deadLetters: DeadLetterQueue | undefined =
    deadLetterUrl === null
      ? undefined
      : new SqsDeadLetterQueue({ client: createSqsClient(settings), queueUrl: deadLetterUrl, logger });
  const minSaveIntervalMs = numberEnv(env, "STATE_SAVE_INTERVAL_S", 60) * 1000;
  const create = (stateKey?: string) =>
    new Processor({
      config,
      store,
      sink,
      logger: stateKey === undefined ? logger : logger.child({ stateKey }),
      writeMetrics: (line) => process.stdout.write(`${line}\n`),
      minSaveIntervalMs,
      history,
      maxOutbox: numberEnv(env, "OUTBOX_MAX", 1000, { min: 1 }),
      ...(deadLetters === undefined ? {} : { deadLetters }),
      ...(stateKey === undefined ? {} : { stateKey }),
    });
  return { create, logger };
}

export function createProcessorFromEnv(env: Env): Processor {
  return processorFactory(env).create();
}

export function createKinesisProcessorFromEnv(env: Env): KinesisProcessor {
  const { create, logger } = processorFactory(env);
  return new KinesisProcessor(create, logger, numberEnv(env, "MAX_LIVE_SERVICES", 200, { min: 1 }));
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
  return new SnsWithSlack(sns, new SlackUrlFromSsm(createParameterReader(settings), parameter), logger);
}

let processor: Processor | null = null;
let kinesisProcessor: KinesisProcessor | null = null;

function isKinesisEvent(event: unknown): event is KinesisStreamEvent {
  const records = (event as Partial<KinesisStreamEvent> | null)?.Records;
  return Array.isArray(records) && records[0]?.eventSource === "aws:kinesis";
}

/**
 * Lambda entry point: a CloudWatch Logs subscription delivery, the one-minute schedule's tick
 * (EventBridge), which lets event time pass when no logs arrive, or (scale-out, docs/deploy.md) a
 * batch of the service stream's Kinesis records. Built on first use and kept for the life of the
 * execution environment (warm invocations reuse the pipelines and the clients).
 */
export async function handler(
  event: CloudWatchLogsEvent | ScheduledEvent | KinesisStreamEvent,
  context?: Context,
): Promise<ProcessorOutcome | KinesisOutcome> {
  // The context's remaining time sets each invocation's publish budget (docs/lambda.md, "Outages").
  if (isKinesisEvent(event)) {
    kinesisProcessor ??= createKinesisProcessorFromEnv(process.env);
    return await kinesisProcessor.handle(event, context);
  }
  processor ??= createProcessorFromEnv(process.env);
  return await processor.handle(event, context);
}
