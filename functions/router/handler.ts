import type { Context, KinesisStreamEvent } from "aws-lambda";
import { awsClientSettings } from "../aws/client.js";
import { createKinesisClient } from "../aws/kinesis.js";
import { type Env, requireEnv } from "../lambda/env.js";
import { createLogger } from "../lambda/log.js";
import { Router, type RouterOutcome } from "./router.js";

/** Build the router from the environment; a missing setting throws a SettingsError. */
export function createRouterFromEnv(env: Env): Router {
  return new Router({
    client: createKinesisClient(awsClientSettings(env)),
    streamName: requireEnv(
      env,
      "SERVICE_STREAM_NAME",
      "the Kinesis stream the processor reads, partitioned by service",
    ),
    logger: createLogger({ function: "router" }),
    writeMetrics: (line) => process.stdout.write(`${line}\n`),
  });
}

let router: Router | null = null;

/** Lambda entry point: a batch of the log stream's records (an event source mapping with ReportBatchItemFailures). */
export async function handler(event: KinesisStreamEvent, _context?: Context): Promise<RouterOutcome> {
  router ??= createRouterFromEnv(process.env);
  return await router.handle(event);
}
