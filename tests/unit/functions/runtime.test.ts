import { describe, expect, it } from "vitest";
import { DynamoStateStore, MemoryStateStore } from "../../../functions/aws/state.js";
import { createStateStore, loadPipelineConfig } from "../../../functions/lambda/runtime.js";
import { createProcessorFromEnv } from "../../../functions/processor/handler.js";
import { DEFAULT_CONFIG } from "../../../shared/config/defaults.js";
import { validateConfig } from "../../../shared/config/load.js";
import { SettingsError } from "../../../shared/errors.js";

describe("loadPipelineConfig (PIPELINE_CONFIG)", () => {
  it("uses the documented defaults when unset", () => {
    expect(loadPipelineConfig({})).toEqual(DEFAULT_CONFIG);
  });

  it("overrides the keys given in the JSON document", () => {
    const config = loadPipelineConfig({ PIPELINE_CONFIG: '{"remediation":{"dry_run":true}}' });
    expect(config.remediation.dry_run).toBe(true);
    expect(config.remediation.cooldown_s).toBe(DEFAULT_CONFIG.remediation.cooldown_s);
  });

  it.each([
    ["not JSON", "dry_run: true", /PIPELINE_CONFIG is not JSON/],
    ["an invalid value", '{"alerting":{"group_wait_s":"soon"}}', /alerting\.group_wait_s/],
  ])("fails fast on %s", (_label, text, message) => {
    expect(() => loadPipelineConfig({ PIPELINE_CONFIG: text })).toThrow(SettingsError);
    expect(() => loadPipelineConfig({ PIPELINE_CONFIG: text })).toThrow(message);
  });
});

describe("PIPELINE_CONFIG with contradictory settings", () => {
  it.each([
    { detectors: { cpu: { smoothing_s: 0 } } },
    { detectors: { ml: { warmup_windows: 600, max_training_windows: 512 } } },
    { detectors: { error_rate: { threshold_ratio: 0.05 } } },
  ])("fails the processor at start-up with the local runner's message: %j", (doc) => {
    const expected = validateConfig(doc);
    expect(expected.ok).toBe(false);
    const lines = expected.ok ? [] : expected.errors.map((error) => `  - ${error.message}`);
    const env = {
      ALERT_TOPIC_ARN: "arn:aws:sns:us-east-1:123456789012:alerts",
      AWS_REGION: "us-east-1",
      PIPELINE_CONFIG: JSON.stringify(doc),
    };
    expect(() => createProcessorFromEnv(env)).toThrow(SettingsError);
    expect(() => createProcessorFromEnv(env)).toThrow(
      `environment variable PIPELINE_CONFIG is not a valid config:\n${lines.join("\n")}`,
    );
  });
});

describe("createStateStore", () => {
  it("keeps state in memory without STATE_TABLE_NAME and in DynamoDB with it", () => {
    const settings = { region: "us-east-1" };
    expect(createStateStore({}, settings)).toBeInstanceOf(MemoryStateStore);
    const durable = createStateStore({ STATE_TABLE_NAME: "state" }, settings);
    expect(durable).toBeInstanceOf(DynamoStateStore);
    expect(durable.durable).toBe(true);
  });
});
