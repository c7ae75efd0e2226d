import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG } from "../../../shared/config/defaults.js";
import { type ConfigProblem, parseConfig, validateConfig } from "../../../shared/config/load.js";

function errorsOf(text: string, format: "json" | "yaml" | "auto" = "auto") {
  const result = parseConfig(text, format);
  if (result.ok) throw new Error(`expected errors for ${text}`);
  return result.errors;
}

describe("parseConfig: valid documents", () => {
  it.each<[string, string, "json" | "yaml" | "auto"]>([
    ["an empty YAML file", "", "auto"],
    ["a YAML comment only", "# nothing overridden yet\n", "yaml"],
    ["an empty JSON object", "{}", "json"],
  ])("%s gives the defaults", (_label, text, format) => {
    expect(parseConfig(text, format)).toEqual({ ok: true, config: DEFAULT_CONFIG });
  });

  it("accepts the defaults written out in full, as JSON and as YAML", () => {
    expect(validateConfig(DEFAULT_CONFIG)).toEqual({ ok: true, config: DEFAULT_CONFIG });
    expect(parseConfig(JSON.stringify(DEFAULT_CONFIG), "json")).toEqual({ ok: true, config: DEFAULT_CONFIG });
  });

  it("merges a partial YAML override deeply and keeps every other default", () => {
    const result = parseConfig(
      [
        "detectors:",
        "  cpu:",
        "    threshold_pct: 95",
        "    recovery_pct: 80",
        "remediation:",
        "  dry_run: true",
        "",
      ].join("\n"),
      "yaml",
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.detectors.cpu).toEqual({
      ...DEFAULT_CONFIG.detectors.cpu,
      threshold_pct: 95,
      recovery_pct: 80,
    });
    expect(result.config.detectors.memory).toEqual(DEFAULT_CONFIG.detectors.memory);
    expect(result.config.remediation).toEqual({ ...DEFAULT_CONFIG.remediation, dry_run: true });
    expect(result.config.alerting).toEqual(DEFAULT_CONFIG.alerting);
  });

  it("merges a partial JSON override (auto-detected)", () => {
    const result = parseConfig('{"detectors": {"ml": {"enabled": false}}}');
    expect(result.ok).toBe(true);
    if (result.ok)
      expect(result.config.detectors.ml).toEqual({ ...DEFAULT_CONFIG.detectors.ml, enabled: false });
  });

  it("never hands out DEFAULT_CONFIG's own objects, so a caller cannot corrupt the defaults", () => {
    const result = parseConfig("");
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    result.config.detectors.cpu.threshold_pct = 1;
    result.config.remediation.actions.high_cpu = "rollback_deploy";
    expect(DEFAULT_CONFIG.detectors.cpu.threshold_pct).toBe(85);
    expect(DEFAULT_CONFIG.remediation.actions.high_cpu).toBe("scale_out");
  });

  it("merges actions per alert type; null makes a type notify-only", () => {
    const result = parseConfig(
      "remediation:\n  actions:\n    high_cpu: restart_service\n    high_error_rate: null\n",
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.remediation.actions.high_cpu).toBe("restart_service");
    expect("high_error_rate" in result.config.remediation.actions).toBe(false);
    expect(result.config.remediation.actions.brute_force_ip).toBe("block_ip");
  });

  it("replaces the silence list with valid silences", () => {
    const yaml = [
      "alerting:",
      "  silences:",
      "    - matchers: { service: billing, type: high_cpu }",
      '      expires_at: "2026-02-01T00:00:00Z"',
      "      reason: planned load test",
    ].join("\n");
    const result = parseConfig(yaml, "yaml");
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.config.alerting.silences).toEqual([
        {
          matchers: { service: "billing", type: "high_cpu" },
          expires_at: "2026-02-01T00:00:00Z",
          reason: "planned load test",
        },
      ]);
    }
  });
});

describe("parseConfig: each error names its key", () => {
  it.each<[string, string, string, ConfigProblem, string]>([
    [
      "a string where a number belongs",
      '{"detectors":{"cpu":{"threshold_pct":"abc"}}}',
      "detectors.cpu.threshold_pct",
      "wrong_type",
      'detectors.cpu.threshold_pct: must be a number in 0..100, got "abc"',
    ],
    [
      "a percentage over 100",
      "detectors:\n  memory:\n    threshold_pct: 150\n",
      "detectors.memory.threshold_pct",
      "out_of_range",
      "must be a number in 0..100, got 150",
    ],
    [
      "a fractional count",
      "detectors:\n  brute_force:\n    ip_max_failures: 2.5\n",
      "detectors.brute_force.ip_max_failures",
      "out_of_range",
      "must be an integer",
    ],
    [
      "a zero window",
      "detectors:\n  error_rate:\n    window_s: 0\n",
      "detectors.error_rate.window_s",
      "out_of_range",
      "must be a number in 1..2678400 (windows are kept in 1-second buckets), got 0",
    ],
    [
      "a duration in milliseconds by mistake",
      "remediation:\n  cooldown_s: 300000000\n",
      "remediation.cooldown_s",
      "out_of_range",
      "0..2678400",
    ],
    [
      "a YAML word instead of a boolean",
      "remediation:\n  dry_run: yes\n",
      "remediation.dry_run",
      "wrong_type",
      'must be true or false, got "yes"',
    ],
    [
      "an unknown severity",
      "detectors:\n  cpu:\n    severity: page\n",
      "detectors.cpu.severity",
      "unknown_enum",
      'must be one of info, warning, critical, got "page"',
    ],
    [
      "a misspelt key",
      "detectors:\n  cpu:\n    treshold_pct: 90\n",
      "detectors.cpu.treshold_pct",
      "unknown_key",
      'did you mean "threshold_pct"?',
    ],
    ["a misspelt section", "detector:\n  cpu: {}\n", "detector", "unknown_key", 'did you mean "detectors"?'],
    [
      "an unrelated key",
      "colour: blue\n",
      "colour",
      "unknown_key",
      "known keys: detectors, alerting, remediation",
    ],
    [
      "a section that is not a mapping",
      "alerting: 5\n",
      "alerting",
      "wrong_type",
      "must be a mapping, got 5",
    ],
    [
      "an unknown action",
      "remediation:\n  actions:\n    high_cpu: reboot\n",
      "remediation.actions.high_cpu",
      "unknown_enum",
      "must be one of scale_out",
    ],
    [
      "an unknown alert type in actions",
      "remediation:\n  actions:\n    high_cpuu: scale_out\n",
      "remediation.actions.high_cpuu",
      "unknown_key",
      'did you mean "high_cpu"?',
    ],
    [
      "recovery at or above threshold",
      "detectors:\n  cpu:\n    threshold_pct: 60\n",
      "detectors.cpu.recovery_pct",
      "cross_field",
      "must be below threshold_pct (60)",
    ],
    [
      "error-rate recovery above threshold",
      "detectors:\n  error_rate:\n    recovery_ratio: 0.5\n",
      "detectors.error_rate.recovery_ratio",
      "cross_field",
      "must be below threshold_ratio (0.2)",
    ],
    [
      "a warm-up longer than the training set can hold (learning would never start)",
      "detectors:\n  ml:\n    warmup_windows: 600\n    max_training_windows: 512\n",
      "detectors.ml.warmup_windows",
      "cross_field",
      "must be at most detectors.ml.max_training_windows (512)",
    ],
    [
      "a quantile of 1",
      "detectors:\n  ml:\n    threshold_quantile: 1\n",
      "detectors.ml.threshold_quantile",
      "out_of_range",
      "strictly between 0 and 1",
    ],
    [
      "a quantile of 0",
      "detectors:\n  ml:\n    threshold_quantile: 0\n",
      "detectors.ml.threshold_quantile",
      "out_of_range",
      "strictly between 0 and 1",
    ],
    [
      "an IP ban for a CPU alert",
      "remediation:\n  actions:\n    high_cpu: block_ip\n",
      "remediation.actions.high_cpu",
      "cross_field",
      "only fits brute_force_ip, http_probing, request_flood alerts",
    ],
    [
      "a silence with an invalid expiry date",
      'alerting:\n  silences:\n    - matchers: { service: api }\n      expires_at: "2026-02-30T00:00:00Z"\n      reason: x\n',
      "alerting.silences[0].expires_at",
      "invalid_date",
      "day 30 does not exist",
    ],
    [
      "a silence expiry without a zone",
      'alerting:\n  silences:\n    - matchers: { service: api }\n      expires_at: "2026-02-01T00:00:00"\n      reason: x\n',
      "alerting.silences[0].expires_at",
      "invalid_date",
      "missing zone",
    ],
    [
      "a silence with an unknown matcher key",
      'alerting:\n  silences:\n    - matchers: { servce: api }\n      expires_at: "2026-02-01T00:00:00Z"\n      reason: x\n',
      "alerting.silences[0].matchers.servce",
      "unknown_key",
      'did you mean "service"?',
    ],
    [
      "a silence matching an unknown alert type",
      'alerting:\n  silences:\n    - matchers: { type: cpu }\n      expires_at: "2026-02-01T00:00:00Z"\n      reason: x\n',
      "alerting.silences[0].matchers.type",
      "unknown_enum",
      "must be one of high_cpu",
    ],
    [
      "a silence without matchers",
      'alerting:\n  silences:\n    - matchers: {}\n      expires_at: "2026-02-01T00:00:00Z"\n      reason: x\n',
      "alerting.silences[0].matchers",
      "out_of_range",
      "needs at least one of",
    ],
    [
      "a silence without a reason",
      'alerting:\n  silences:\n    - matchers: { service: api }\n      expires_at: "2026-02-01T00:00:00Z"\n',
      "alerting.silences[0].reason",
      "wrong_type",
      "non-empty string",
    ],
    [
      "silences that are not a list",
      "alerting:\n  silences: {}\n",
      "alerting.silences",
      "wrong_type",
      "must be a list",
    ],
    ["a top-level list", "- a\n- b\n", "", "not_an_object", "must be a mapping of settings, got a list"],
    ["a top-level scalar", "42", "", "not_an_object", "got 42"],
  ])("%s", (_label, text, path, problem, messagePart) => {
    const errors = errorsOf(text);
    const error = errors.find((candidate) => candidate.path === path);
    expect(error, JSON.stringify(errors)).toBeDefined();
    expect(error?.problem).toBe(problem);
    expect(error?.message).toContain(messagePart);
    expect(error?.message.startsWith(path || "config")).toBe(true);
  });

  it("reports every problem in one pass", () => {
    const errors = errorsOf(
      "detectors:\n  cpu:\n    threshold_pct: abc\n    for_s: -1\nremediation:\n  max_actions: 0\n",
    );
    expect(errors.map((error) => error.path).sort()).toEqual([
      "detectors.cpu.for_s",
      "detectors.cpu.threshold_pct",
      "remediation.max_actions",
    ]);
  });

  it.each<[string, string, "json" | "yaml" | "auto", string]>([
    ["broken JSON", '{"detectors": {', "json", "JSON syntax error"],
    [
      "broken YAML indentation",
      "detectors:\n  cpu:\n threshold_pct: 1\n   x: 2\n",
      "yaml",
      "YAML syntax error",
    ],
    ["duplicate YAML keys", "remediation:\n  dry_run: true\n  dry_run: false\n", "yaml", "unique"],
    ["JSON forced on YAML text", "detectors: {}", "json", "JSON syntax error"],
  ])("reports %s as a syntax error with its position", (_label, text, format, messagePart) => {
    const errors = errorsOf(text, format);
    expect(errors[0]).toMatchObject({ path: "", problem: "syntax" });
    expect(errors[0]?.message).toContain(messagePart);
  });

  it("gives the line and column of a JSON syntax error", () => {
    const errors = errorsOf('{\n  "detectors": {\n    "cpu" 2\n  }\n}', "json");
    expect(errors[0]?.message).toContain("at line 3, column 11");
  });

  it("still checks cross-field rules when other keys have type errors", () => {
    const errors = errorsOf("remediation:\n  dry_run: yes\n  actions:\n    high_cpu: lock_user\n");
    expect(errors.map((error) => error.problem).sort()).toEqual(["cross_field", "wrong_type"]);
  });

  it("refuses a YAML alias bomb instead of expanding it", () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let level = 1; level <= 8; level++) {
      const previous = String.fromCharCode(96 + level);
      const name = String.fromCharCode(97 + level);
      lines.push(`${name}: &${name} [${Array(10).fill(`*${previous}`).join(",")}]`);
    }
    const errors = errorsOf(lines.join("\n"), "yaml");
    expect(errors[0]).toMatchObject({ path: "", problem: "syntax" });
  });

  it("refuses a __proto__ key instead of skipping it", () => {
    const errors = errorsOf('{"detectors": {"cpu": {"__proto__": {"threshold_pct": 1}}}}', "json");
    expect(errors).toMatchObject([{ path: "detectors.cpu", problem: "unknown_key" }]);
    expect(errors[0]?.message).toContain('unknown key "__proto__"');
  });

  it("validateConfig rejects non-finite numbers handed in from code", () => {
    const result = validateConfig({ detectors: { cpu: { threshold_pct: Number.NaN } } });
    expect(result).toMatchObject({
      ok: false,
      errors: [{ path: "detectors.cpu.threshold_pct", problem: "wrong_type" }],
    });
  });
});
