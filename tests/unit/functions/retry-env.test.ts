import { describe, expect, it } from "vitest";
import {
  awsClientSettings,
  LOGS_ATTEMPTS,
  SNS_ATTEMPTS,
  sdkAttempts,
  sdkClientConfig,
} from "../../../functions/aws/client.js";
import { isRetryableAwsError } from "../../../functions/aws/retry.js";
import { numberEnv, requireEnv } from "../../../functions/lambda/env.js";
import { SettingsError } from "../../../shared/errors.js";

describe("SDK client retries", () => {
  it("gives each client kind its attempts in the SDK's standard mode", () => {
    const settings = { region: "eu-west-1" };
    expect(sdkClientConfig(settings, SNS_ATTEMPTS)).toEqual({
      region: "eu-west-1",
      maxAttempts: SNS_ATTEMPTS,
      retryMode: "standard",
    });
    expect(sdkClientConfig({ ...settings, maxAttempts: 1 }, LOGS_ATTEMPTS).maxAttempts).toBe(1);
  });

  it("reads the attempts the SDK made from its error", () => {
    expect(sdkAttempts(Object.assign(new Error("x"), { $metadata: { attempts: 3 } }))).toBe(3);
    expect(sdkAttempts(new Error("plain"))).toBeUndefined();
    expect(sdkAttempts(null)).toBeUndefined();
  });
});

describe("isRetryableAwsError", () => {
  it.each([
    [{ name: "ThrottlingException" }, true],
    [{ name: "TooManyRequestsException" }, true],
    [{ name: "X", $metadata: { httpStatusCode: 503 } }, true],
    [{ name: "X", $metadata: { httpStatusCode: 429 } }, true],
    [{ code: "ECONNREFUSED" }, true],
    [{ name: "Error", cause: { code: "ECONNREFUSED" } }, true],
    [{ name: "NotFoundException", $metadata: { httpStatusCode: 404 } }, false],
    [{ name: "ValidationError", $metadata: { httpStatusCode: 400 } }, false],
    ["a string", false],
    [null, false],
  ])("%j -> %s", (error, expected) => {
    expect(isRetryableAwsError(error)).toBe(expected);
  });
});

describe("environment", () => {
  it("names the missing variable and its purpose", () => {
    expect(() => requireEnv({}, "ALERT_TOPIC_ARN", "the SNS topic")).toThrow(
      new SettingsError("environment variable ALERT_TOPIC_ARN is required (the SNS topic) but is not set"),
    );
    expect(() => requireEnv({ ALERT_TOPIC_ARN: "  " }, "ALERT_TOPIC_ARN", "x")).toThrow(SettingsError);
  });

  it("passes AWS_ENDPOINT_URL through for emulators and requires a region", () => {
    expect(awsClientSettings({ AWS_REGION: "eu-west-1", AWS_ENDPOINT_URL: "http://127.0.0.1:5000" })).toEqual(
      {
        region: "eu-west-1",
        endpoint: "http://127.0.0.1:5000",
      },
    );
    expect(awsClientSettings({ AWS_DEFAULT_REGION: "us-east-1" })).toEqual({ region: "us-east-1" });
    expect(() => awsClientSettings({})).toThrow(/AWS_REGION/);
  });

  it("refuses a malformed number instead of guessing", () => {
    expect(() => numberEnv({ SPEED: "fast" }, "SPEED", 1)).toThrow(/SPEED must be a number/);
    expect(numberEnv({}, "SPEED", 1)).toBe(1);
    expect(numberEnv({ SPEED: "2.5" }, "SPEED", 1)).toBe(2.5);
  });
});
