import type { Context, ScheduledEvent, SNSEvent } from "aws-lambda";
import { SimulatedExecutor } from "../../shared/remediation/simulated-executor.js";
import { awsClientSettings } from "../aws/client.js";
import type { Env } from "../lambda/env.js";
import { createLogger } from "../lambda/log.js";
import { createStateStore, loadPipelineConfig } from "../lambda/runtime.js";
import { type RemediationSummary, Remediator } from "./remediator.js";

/**
 * Build the remediator from the environment. Actions go through the simulated executor: it logs
 * what a real executor would do (docs/lambda.md says how to plug in a real one).
 */
export function createRemediatorFromEnv(env: Env): Remediator {
  const settings = awsClientSettings(env);
  const logger = createLogger({ function: "remediation" });
  const config = loadPipelineConfig(env);
  return new Remediator({
    config: config.remediation,
    allowedLatenessMs: config.time.allowed_lateness_s * 1000,
    store: createStateStore(env, settings),
    executor: new SimulatedExecutor({ log: (line) => logger.info("executor", { line }) }),
    logger,
    writeMetrics: (line) => process.stdout.write(`${line}\n`),
  });
}

let remediator: Remediator | null = null;

/**
 * Lambda entry point: SNS deliveries from the alert topic, or the one-minute schedule's tick (due
 * outcome checks). Returns a summary without the audit bodies.
 */
export async function handler(
  event: SNSEvent | ScheduledEvent,
  context?: Context,
): Promise<Omit<RemediationSummary, "audit"> & { auditRecords: number }> {
  remediator ??= createRemediatorFromEnv(process.env);
  // The context's remaining time bounds how long this invocation holds the intents it records.
  const { audit, ...summary } = await remediator.handle(event, context);
  return { ...summary, auditRecords: audit.length };
}
