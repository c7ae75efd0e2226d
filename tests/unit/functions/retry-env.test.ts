import { describe, expect, it } from "vitest";
import { awsClientSettings } from "../../../functions/aws/client.js";
import { isRetryableAwsError, withRetries } from "../../../functions/aws/retry.js";
import { numberEnv, requireEnv } from "../../../functions/lambda/env.js";
import { SettingsError } from "../../../shared/errors.js";

const noWait = { sleep: async () => {}, random: () => 0.5, baseDelayMs: 100, maxDelayMs: 1000 };

describe("withRetries", () => {
  it("stops after the configured attempts and rethrows the last error", async () => {
    let calls = 0;
    const failing = withRetries(
      async () => {
        calls++;
        throw Object.assign(new Error("slow down"), { name: "ThrottlingException" });
      },
      { attempts: 4, isRetryable: isRetryableAwsError, ...noWait },
    );
    await expect(failing).rejects.toThrow("slow down");
    expect(calls).toBe(4);
  });

  it("does not retry an error that cannot succeed later", async () => {
    let calls = 0;
    const failing = withRetries(
      async () => {
        calls++;
        throw Object.assign(new Error("bad"), {
          name: "InvalidParameterException",
          $metadata: { httpStatusCode: 400 },
        });
      },
      { attempts: 4, isRetryable: isRetryableAwsError, ...noWait },
    );
    await expect(failing).rejects.toThrow("bad");
    expect(calls).toBe(1);
  });

  it("backs off exponentially with a cap", async () => {
    const delays: number[] = [];
    let calls = 0;
    const result = await withRetries(
      async () => {
        if (++calls < 6) throw Object.assign(new Error("x"), { code: "ECONNRESET" });
        return "done";
      },
      {
        attempts: 6,
        isRetryable: isRetryableAwsError,
        ...noWait,
        random: () => 0.999999,
        onRetry: (_e, _a, d) => delays.push(d),
      },
    );
    expect(result).toBe("done");
    expect(delays).toEqual([100, 200, 400, 800, 1000]);
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
