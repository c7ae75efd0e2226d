import { DEFAULT_CONFIG } from "../../shared/config/defaults.js";
import { validateConfig } from "../../shared/config/load.js";
import type { PipelineConfig } from "../../shared/config/types.js";
import { SettingsError } from "../../shared/errors.js";
import type { AwsClientSettings } from "../aws/client.js";
import { createDynamoClient, DynamoStateStore, MemoryStateStore, type StateStore } from "../aws/state.js";
import { type Env, numberEnv, optionalEnv } from "./env.js";

/**
 * The pipeline configuration: `PIPELINE_CONFIG` holds the config document itself as JSON (the same
 * keys as the local runner's file; JSON only, so the bundles do not carry a YAML parser); unset
 * means the documented defaults.
 */
export function loadPipelineConfig(env: Env): PipelineConfig {
  const text = optionalEnv(env, "PIPELINE_CONFIG");
  if (text === null) return DEFAULT_CONFIG;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new SettingsError(`environment variable PIPELINE_CONFIG is not JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const result = validateConfig(value);
  if (!result.ok) {
    throw new SettingsError(
      `environment variable PIPELINE_CONFIG is not a valid config:\n${result.errors.map((e) => `  - ${e.message}`).join("\n")}`,
    );
  }
  return result.config;
}

/** DynamoDB when `STATE_TABLE_NAME` is set (state survives cold starts), else memory (docs/lambda.md). */
export function createStateStore(env: Env, settings: AwsClientSettings): StateStore {
  const tableName = optionalEnv(env, "STATE_TABLE_NAME");
  if (tableName === null) return new MemoryStateStore();
  return new DynamoStateStore({
    client: createDynamoClient(settings),
    tableName,
    stateTtlS: numberEnv(env, "STATE_TTL_DAYS", 30, { min: 1 }) * 24 * 3600,
  });
}
