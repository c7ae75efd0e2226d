import { SettingsError } from "../../shared/errors.js";
import { type Env, optionalEnv } from "../lambda/env.js";

/**
 * Settings every AWS client shares. `AWS_ENDPOINT_URL` is the SDK's own variable for emulators
 * (moto, LocalStack); it is read explicitly so that a test can pass an env object, not mutate process.env.
 */
export interface AwsClientSettings {
  region: string;
  endpoint?: string;
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
