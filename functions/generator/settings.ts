import { SettingsError } from "../../shared/errors.js";
import { type Env, numberEnv, optionalEnv, requireEnv } from "../lambda/env.js";

/**
 * The generator's settings from the environment: one module that both the scheduled Lambda
 * (handler.ts) and the long-running daemon (daemon.ts) read, so the daemon does not load the handler.
 */
export interface GeneratorSettings {
  logGroupName: string;
  /** The stream this execution environment writes to. */
  logStreamName: string;
  seed: number;
  /** Seconds of logs each scheduled invocation generates (match the schedule's rate). */
  windowS: number;
  minIntervalS: number;
  maxIntervalS: number;
}

export function generatorSettings(env: Env, defaultStream: string): GeneratorSettings {
  const minIntervalS = numberEnv(env, "MIN_INTERVAL_S", 0.05, { min: 0.001 });
  const maxIntervalS = numberEnv(env, "MAX_INTERVAL_S", 0.2, { min: 0.001 });
  if (maxIntervalS < minIntervalS) {
    throw new SettingsError(`MAX_INTERVAL_S (${maxIntervalS}) must be >= MIN_INTERVAL_S (${minIntervalS})`);
  }
  return {
    logGroupName: requireEnv(
      env,
      "LOG_GROUP_NAME",
      "the CloudWatch Logs group generated logs are shipped to",
    ),
    logStreamName: optionalEnv(env, "LOG_STREAM_NAME") ?? defaultStream,
    seed: numberEnv(env, "SEED", 1),
    windowS: numberEnv(env, "WINDOW_S", 60, { min: 1 }),
    minIntervalS,
    maxIntervalS,
  };
}
