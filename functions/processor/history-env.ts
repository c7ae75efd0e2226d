import type { AwsClientSettings } from "../aws/client.js";
import { DynamoHistoryStore } from "../aws/history.js";
import { createDynamoClient } from "../aws/state.js";
import { type Env, numberEnv, optionalEnv } from "../lambda/env.js";
import type { Logger } from "../lambda/log.js";
import { ProcessorHistory } from "./history.js";

/**
 * The processor's alert history from the environment: `HISTORY_TABLE_NAME` (set by
 * infra/history.tf) switches it on; `HISTORY_RETENTION_DAYS` (default 90) is the items' TTL;
 * `SILENCE_POLL_S` (default 30) bounds how often a warm instance reads the run-time silences.
 */
export function createHistoryFromEnv(
  env: Env,
  settings: AwsClientSettings,
  logger: Logger,
  now: () => number = Date.now,
): ProcessorHistory | undefined {
  const tableName = optionalEnv(env, "HISTORY_TABLE_NAME");
  if (tableName === null) return undefined;
  return new ProcessorHistory({
    store: new DynamoHistoryStore({
      client: createDynamoClient(settings),
      tableName,
      retentionDays: numberEnv(env, "HISTORY_RETENTION_DAYS", 90, { min: 1 }),
      now,
    }),
    logger,
    now,
    silencePollMs: numberEnv(env, "SILENCE_POLL_S", 30) * 1000,
  });
}
