import type { AttributeDefinition, CreateTableCommandInput } from "@aws-sdk/client-dynamodb";
import { SettingsError } from "../../shared/errors.js";
import { type Env, optionalEnv } from "../lambda/env.js";

/**
 * Settings every AWS client shares. `AWS_ENDPOINT_URL` is the SDK's own variable for emulators
 * (moto, LocalStack); it is read explicitly so that a test can pass an env object, not mutate process.env.
 */
export interface AwsClientSettings {
  region: string;
  endpoint?: string;
  /** Overrides the client kind's attempts below (the local runner ships logs with fewer). */
  maxAttempts?: number;
}

export function awsClientSettings(env: Env): AwsClientSettings {
  const region = optionalEnv(env, "AWS_REGION") ?? optionalEnv(env, "AWS_DEFAULT_REGION");
  if (region === null) {
    throw new SettingsError(
      "environment variable AWS_REGION is required (the region of the AWS APIs) but is not set",
    );
  }
  const endpoint = optionalEnv(env, "AWS_ENDPOINT_URL");
  return endpoint === null ? { region } : { region, endpoint };
}

/**
 * Attempts per call, first included, by client. Retries are the SDK's own standard strategy: it
 * retries throttling, 5xx, timeouts and network errors with exponential backoff and full jitter (base
 * 100 ms, 500 ms after throttling, at most 20 s), honours Retry-After, and keeps a retry quota per
 * client, so a dependency that is down does not turn a warm fleet of Lambdas into a retry storm.
 * What is left hand-written is what the SDK cannot see: records or keys refused inside a call it
 * counts as a success (Kinesis PutRecords, DynamoDB BatchGetItem) and conditional-write races (the
 * caller reloads and tries again on CONFLICT).
 */
export const LOGS_ATTEMPTS = 5;
export const SNS_ATTEMPTS = 4;
export const DYNAMODB_ATTEMPTS = 4;
export const KINESIS_ATTEMPTS = 4;

export function sdkClientConfig(
  settings: AwsClientSettings,
  attempts: number,
): { region: string; endpoint?: string; maxAttempts: number; retryMode: "standard" } {
  return { ...settings, maxAttempts: settings.maxAttempts ?? attempts, retryMode: "standard" };
}

/** How many attempts the SDK made before it gave up, from the error it threw (undefined if not an SDK error). */
export function sdkAttempts(error: unknown): number | undefined {
  const attempts = (error as { $metadata?: { attempts?: unknown } } | null)?.$metadata?.attempts;
  return typeof attempts === "number" ? attempts : undefined;
}

/**
 * A pay-per-request DynamoDB table keyed by string `pk` (hash) and `sk` (range), the layout both
 * stores use (state.ts, history.ts); `attributes` declares the extra ones an index keys on.
 */
export function pkSkTable(
  tableName: string,
  attributes: AttributeDefinition[] = [],
): CreateTableCommandInput & { AttributeDefinitions: AttributeDefinition[] } {
  return {
    TableName: tableName,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: [
      { AttributeName: "pk", AttributeType: "S" },
      { AttributeName: "sk", AttributeType: "S" },
      ...attributes,
    ],
    KeySchema: [
      { AttributeName: "pk", KeyType: "HASH" },
      { AttributeName: "sk", KeyType: "RANGE" },
    ],
  };
}
