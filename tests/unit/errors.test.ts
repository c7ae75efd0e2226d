import { describe, expect, it } from "vitest";
import { loadPipelineConfig } from "../../functions/lambda/runtime.js";
import { AlertManager } from "../../shared/alerts/manager.js";
import { DEFAULT_CONFIG } from "../../shared/config/defaults.js";
import { InputError, ObservabilityError, SettingsError, StateError } from "../../shared/errors.js";
import { IsolationForest } from "../../shared/ml/isolation-forest.js";

describe("the error family", () => {
  it("carries a code and a readable name on every member", () => {
    const errors = [new SettingsError("x"), new StateError("thing", "y"), new InputError("z")];
    expect(errors.map((e) => [e.code, e.name])).toEqual([
      ["settings", "SettingsError"],
      ["state", "StateError"],
      ["input", "InputError"],
    ]);
    for (const error of errors) {
      expect(error).toBeInstanceOf(ObservabilityError);
      expect(error).toBeInstanceOf(Error);
    }
  });

  it("names the subject of a state error", () => {
    expect(new StateError("alert manager", "not an object").message).toBe(
      "cannot restore alert manager state: not an object",
    );
  });

  it("keeps the lower error as the cause when a setting is wrapped", () => {
    let thrown: unknown;
    try {
      loadPipelineConfig({ PIPELINE_CONFIG: "{not json" });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(SettingsError);
    expect((thrown as SettingsError).cause).toBeInstanceOf(SyntaxError);
  });

  it("is what the pure core throws on bad snapshots and bad models", () => {
    const manager = new AlertManager(DEFAULT_CONFIG.alerting);
    expect(() => manager.restore({ version: 99 })).toThrow(StateError);
    expect(() => IsolationForest.fromBase64("AAAA")).toThrow(InputError);
  });
});
