/**
 * Config loading: a JSON or YAML document that overrides any subset of DEFAULT_CONFIG. Every problem
 * in the document is reported at once, each naming its key path, so one edit-run cycle fixes them all.
 * The spec below is the single source of truth for types and ranges; docs/configuration.md mirrors it.
 */
import { parseDocument } from "yaml";
import { compileInhibitRules, InhibitConfigError } from "../alerts/inhibit.js";
import { ALERT_TYPES, type AlertType, SEVERITIES } from "../alerts/types.js";
import { AddressList } from "../detectors/address-list.js";
import { checkSources as checkSourceAdapters } from "../ingest/sources.js";
import { FORMATS } from "../ingest/types.js";
import { parseIsoTimestamp } from "../log/parse.js";
import { DEFAULT_CONFIG } from "./defaults.js";
import { checkSinks } from "./sinks.js";
import {
  ACTION_TYPES,
  type ActionType,
  type InhibitRuleConfig,
  type InputSourceConfig,
  type PipelineConfig,
  type SilenceConfig,
} from "./types.js";

export const CONFIG_PROBLEMS = [
  "syntax",
  "not_an_object",
  "unknown_key",
  "wrong_type",
  "out_of_range",
  "unknown_enum",
  "invalid_date",
  "cross_field",
  "invalid_matcher",
] as const;
export type ConfigProblem = (typeof CONFIG_PROBLEMS)[number];

export interface ConfigError {
  /** Dotted key path, with [i] for list items; "" for the document itself. */
  path: string;
  problem: ConfigProblem;
  /** Full sentence for a human, starting with the path. */
  message: string;
}

export type ConfigResult = { ok: true; config: PipelineConfig } | { ok: false; errors: ConfigError[] };

export type ConfigFormat = "json" | "yaml" | "auto";

/** Durations above a month are almost always milliseconds written where seconds were meant. */
const MAX_DURATION_S = 31 * 24 * 3600;

interface NumberSpec {
  kind: "number";
  min: number;
  max: number;
  minExclusive?: boolean;
  maxExclusive?: boolean;
  integer?: boolean;
}
interface BooleanSpec {
  kind: "boolean";
}
interface EnumSpec {
  kind: "enum";
  values: readonly string[];
}
interface ObjectSpec {
  kind: "object";
  fields: Record<string, FieldSpec>;
}
interface SilencesSpec {
  kind: "silences";
}
interface ActionsSpec {
  kind: "actions";
}
/** A list of strings that replaces the default list as a whole. */
interface StringsSpec {
  kind: "strings";
}
/** The processor's input sources (log group pattern -> format). */
interface SourcesSpec {
  kind: "sources";
}
interface SinksSpec {
  kind: "sinks";
}
interface InhibitRulesSpec {
  kind: "inhibit_rules";
}
type FieldSpec =
  | NumberSpec
  | BooleanSpec
  | EnumSpec
  | ObjectSpec
  | SilencesSpec
  | ActionsSpec
  | StringsSpec
  | SourcesSpec
  | InhibitRulesSpec
  | SinksSpec;

const percent: NumberSpec = { kind: "number", min: 0, max: 100 };
const duration: NumberSpec = { kind: "number", min: 0, max: MAX_DURATION_S };
const positiveDuration: NumberSpec = { kind: "number", min: 0, minExclusive: true, max: MAX_DURATION_S };
const count = (min: number, max = 1_000_000): NumberSpec => ({ kind: "number", min, max, integer: true });
const severity: EnumSpec = { kind: "enum", values: SEVERITIES };
const bool: BooleanSpec = { kind: "boolean" };

const thresholdRule: ObjectSpec = {
  kind: "object",
  fields: {
    threshold_pct: percent,
    recovery_pct: percent,
    for_s: duration,
    smoothing_s: duration,
    severity,
    max_services: count(1, 10_000_000),
  },
};

const CONFIG_SPEC: ObjectSpec = {
  kind: "object",
  fields: {
    detectors: {
      kind: "object",
      fields: {
        cpu: thresholdRule,
        memory: thresholdRule,
        brute_force: {
          kind: "object",
          fields: {
            ip_max_failures: count(1),
            user_max_failures: count(1),
            user_min_ips: count(1),
            find_time_s: positiveDuration,
            severity,
            max_keys: count(1, 10_000_000),
          },
        },
        sshd_jail: {
          kind: "object",
          fields: {
            enabled: bool,
            max_retry: count(1),
            find_time_s: positiveDuration,
            ban_time_s: positiveDuration,
            ignore_ips: { kind: "strings" },
            severity,
          },
        },
        http_probing: {
          kind: "object",
          fields: {
            enabled: bool,
            capacity: count(1),
            leak_s: positiveDuration,
            blackhole_s: duration,
            severity,
          },
        },
        request_flood: {
          kind: "object",
          fields: { enabled: bool, max_requests: count(1), window_s: positiveDuration, severity },
        },
        error_rate: {
          kind: "object",
          fields: {
            window_s: positiveDuration,
            threshold_ratio: { kind: "number", min: 0, minExclusive: true, max: 1 },
            recovery_ratio: { kind: "number", min: 0, max: 1, maxExclusive: true },
            min_requests: count(1),
            severity,
            max_services: count(1, 10_000_000),
          },
        },
        ml: {
          kind: "object",
          fields: {
            enabled: bool,
            window_s: positiveDuration,
            warmup_windows: count(1),
            retrain_every_windows: count(1),
            max_training_windows: count(2),
            threshold_quantile: { kind: "number", min: 0, max: 1, minExclusive: true, maxExclusive: true },
            score_margin: { kind: "number", min: -1, max: 1 },
            for_windows: count(1),
            trees: count(1, 10_000),
            sample_size: count(2, 1_000_000),
            seed: count(0, 0xffff_ffff),
            severity,
            max_services: count(1, 10_000_000),
          },
        },
      },
    },
    alerting: {
      kind: "object",
      fields: {
        group_wait_s: duration,
        group_interval_s: positiveDuration,
        repeat_interval_s: positiveDuration,
        silences: { kind: "silences" },
        inhibit_rules: { kind: "inhibit_rules" },
      },
    },
    remediation: {
      kind: "object",
      fields: {
        dry_run: bool,
        kill_switch: bool,
        cooldown_s: duration,
        max_actions: count(1),
        max_actions_window_s: positiveDuration,
        verify_after_s: positiveDuration,
        ban_duration_s: positiveDuration,
        actions: { kind: "actions" },
      },
    },
    sinks: { kind: "sinks" },
    time: {
      kind: "object",
      fields: {
        max_future_skew_s: positiveDuration,
        allowed_lateness_s: duration,
      },
    },
    sources: { kind: "sources" },
  },
};

const SILENCE_MATCHER_KEYS = ["type", "service", "entity", "severity"] as const;

/**
 * Bans need an IP or user to act on, and only the brute-force alerts carry one as their entity;
 * every other alert is about a whole service.
 */
const ACTIONS_NEEDING_ENTITY: Partial<Record<ActionType, readonly AlertType[]>> = {
  block_ip: ["brute_force_ip", "http_probing", "request_flood"],
  lock_user: ["brute_force_user"],
};

/**
 * Parse a config document. `auto` reads JSON when the text starts with "{", YAML otherwise. An
 * empty document means "all defaults".
 */
export function parseConfig(text: string, format: ConfigFormat = "auto"): ConfigResult {
  const trimmed = text.trim();
  const useJson = format === "json" || (format === "auto" && trimmed.startsWith("{"));
  let value: unknown;
  if (useJson) {
    try {
      value = JSON.parse(text);
    } catch (error) {
      return failure([
        { path: "", problem: "syntax", message: `JSON syntax error: ${describeJsonError(error, text)}` },
      ]);
    }
  } else {
    const document = parseDocument(text);
    if (document.errors.length > 0) {
      return failure(
        document.errors.map((error) => ({
          path: "",
          problem: "syntax" as const,
          // The yaml message continues with a source excerpt; its first line names line and column.
          message: `YAML syntax error: ${(error.message.split("\n")[0] ?? error.message).replace(/:$/, "")}`,
        })),
      );
    }
    try {
      value = document.toJS();
    } catch (error) {
      // toJS throws on alias bombs ("Excessive alias count"), which a config file has no need for.
      const detail = error instanceof Error ? error.message : String(error);
      return failure([{ path: "", problem: "syntax", message: `YAML error: ${detail}` }]);
    }
  }
  if (value === null || value === undefined) value = {};
  return validateConfig(value);
}

/** Validate an already decoded document and merge it over DEFAULT_CONFIG. Never throws. */
export function validateConfig(value: unknown): ConfigResult {
  const errors: ConfigError[] = [];
  if (!isPlainObject(value)) {
    return failure([
      {
        path: "",
        problem: "not_an_object",
        message: `config: must be a mapping of settings, got ${describe(value)}`,
      },
    ]);
  }
  const merged = mergeObject(CONFIG_SPEC, value, DEFAULT_CONFIG, "", errors) as unknown as PipelineConfig;
  checkCrossFields(merged, errors);
  return errors.length === 0 ? { ok: true, config: merged } : failure(errors);
}

function failure(errors: ConfigError[]): ConfigResult {
  return { ok: false, errors };
}

function pushError(errors: ConfigError[], path: string, problem: ConfigProblem, text: string): void {
  errors.push({ path, problem, message: `${path || "config"}: ${text}` });
}

function join(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

/** Deep merge of `override` over `base`, validating each given key against `spec`. */
function mergeObject(
  spec: ObjectSpec,
  override: Record<string, unknown>,
  base: unknown,
  path: string,
  errors: ConfigError[],
): Record<string, unknown> {
  const baseRecord = base as Record<string, unknown>;
  const known = Object.keys(spec.fields);
  for (const key of Object.keys(override)) {
    if (!(key in spec.fields)) {
      const suggestion = closest(key, known);
      const hint = suggestion ? `did you mean "${suggestion}"?` : `known keys: ${known.join(", ")}`;
      pushError(errors, join(path, key), "unknown_key", `unknown key (${hint})`);
    }
  }
  const result: Record<string, unknown> = {};
  for (const key of known) {
    const fieldSpec = spec.fields[key] as FieldSpec;
    const fieldPath = join(path, key);
    const given = Object.hasOwn(override, key) ? override[key] : undefined;
    result[key] = mergeField(fieldSpec, given, baseRecord[key], fieldPath, errors);
  }
  return result;
}

function mergeField(
  spec: FieldSpec,
  given: unknown,
  base: unknown,
  path: string,
  errors: ConfigError[],
): unknown {
  switch (spec.kind) {
    case "object":
      if (given === undefined) return mergeObject(spec, {}, base, path, errors);
      if (!isPlainObject(given)) {
        pushError(errors, path, "wrong_type", `must be a mapping, got ${describe(given)}`);
        return base;
      }
      return mergeObject(spec, given, base, path, errors);
    case "number":
      return given === undefined ? base : checkNumber(spec, given, path, errors);
    case "boolean":
      if (given === undefined) return base;
      if (typeof given !== "boolean") {
        pushError(errors, path, "wrong_type", `must be true or false, got ${describe(given)}`);
      }
      return given;
    case "enum":
      if (given === undefined) return base;
      if (typeof given !== "string" || !spec.values.includes(given)) {
        const problem = typeof given === "string" ? "unknown_enum" : "wrong_type";
        pushError(errors, path, problem, `must be one of ${spec.values.join(", ")}, got ${describe(given)}`);
      }
      return given;
    case "silences":
      return given === undefined ? structuredClone(base) : checkSilences(given, path, errors);
    case "actions":
      return mergeActions(given, base as Record<string, unknown>, path, errors);
    case "strings":
      return given === undefined ? structuredClone(base) : checkStrings(given, path, errors);
    case "sources":
      return given === undefined ? structuredClone(base) : checkSources(given, path, errors);
    case "sinks": {
      if (given === undefined) return structuredClone(base);
      const checked = checkSinks(given, path);
      for (const p of checked.problems) pushError(errors, p.path, p.problem, p.text);
      return checked.sinks;
    }
    case "inhibit_rules":
      return given === undefined ? structuredClone(base) : checkInhibitRules(given, path, errors);
  }
}

function checkStrings(given: unknown, path: string, errors: ConfigError[]): string[] {
  if (!Array.isArray(given) || !given.every((item) => typeof item === "string")) {
    pushError(errors, path, "wrong_type", `must be a list of strings, got ${describe(given)}`);
    return [];
  }
  if (path.endsWith("ignore_ips")) {
    const invalid = new AddressList(given).invalid;
    if (invalid.length > 0) {
      pushError(
        errors,
        path,
        "out_of_range",
        `not an address, CIDR range or host name: ${invalid.map((v) => JSON.stringify(v)).join(", ")}`,
      );
    }
  }
  return [...given];
}

const SOURCE_KEYS = [
  "log_group",
  "format",
  "service",
  "mapping",
  "mode",
  "timezone",
  "log_format",
  "metric_field",
];

function checkSources(given: unknown, path: string, errors: ConfigError[]): InputSourceConfig[] {
  if (!Array.isArray(given)) {
    pushError(
      errors,
      path,
      "wrong_type",
      `must be a list of sources (log_group, format, ...), got ${describe(given)}`,
    );
    return [];
  }
  const sources: InputSourceConfig[] = [];
  given.forEach((item: unknown, index) => {
    const itemPath = `${path}[${index}]`;
    if (!isPlainObject(item)) {
      pushError(
        errors,
        itemPath,
        "wrong_type",
        `must be a mapping with log_group and format, got ${describe(item)}`,
      );
      return;
    }
    let valid = true;
    for (const key of Object.keys(item)) {
      if (!SOURCE_KEYS.includes(key)) {
        const suggestion = closest(key, SOURCE_KEYS);
        pushError(
          errors,
          `${itemPath}.${key}`,
          "unknown_key",
          `unknown key (${suggestion ? `did you mean "${suggestion}"?` : `known keys: ${SOURCE_KEYS.join(", ")}`})`,
        );
        valid = false;
      }
    }
    if (typeof item.log_group !== "string" || item.log_group === "") {
      pushError(
        errors,
        `${itemPath}.log_group`,
        "wrong_type",
        `must be a log group name or pattern, got ${describe(item.log_group)}`,
      );
      valid = false;
    }
    if (typeof item.format !== "string" || !(FORMATS as readonly string[]).includes(item.format)) {
      pushError(
        errors,
        `${itemPath}.format`,
        "unknown_enum",
        `must be one of ${FORMATS.join(", ")}, got ${describe(item.format)}`,
      );
      valid = false;
    }
    for (const key of ["service", "mode", "timezone", "log_format", "metric_field"] as const) {
      if (item[key] !== undefined && typeof item[key] !== "string") {
        pushError(errors, `${itemPath}.${key}`, "wrong_type", `must be a string, got ${describe(item[key])}`);
        valid = false;
      }
    }
    if (item.mapping !== undefined && typeof item.mapping !== "string" && !isPlainObject(item.mapping)) {
      pushError(
        errors,
        `${itemPath}.mapping`,
        "wrong_type",
        `must be a preset name or a mapping, got ${describe(item.mapping)}`,
      );
      valid = false;
    }
    if (valid) sources.push(structuredClone(item) as unknown as InputSourceConfig);
  });
  return sources;
}

function rangeText(spec: NumberSpec): string {
  const what = spec.integer ? "an integer" : "a number";
  if (spec.minExclusive && spec.maxExclusive) return `${what} strictly between ${spec.min} and ${spec.max}`;
  if (spec.minExclusive) return `${what} > ${spec.min} and <= ${spec.max}`;
  if (spec.maxExclusive) return `${what} >= ${spec.min} and < ${spec.max}`;
  return `${what} in ${spec.min}..${spec.max}`;
}

function checkNumber(spec: NumberSpec, given: unknown, path: string, errors: ConfigError[]): unknown {
  if (typeof given !== "number" || !Number.isFinite(given)) {
    pushError(errors, path, "wrong_type", `must be ${rangeText(spec)}, got ${describe(given)}`);
    return given;
  }
  const belowMin = spec.minExclusive ? given <= spec.min : given < spec.min;
  const aboveMax = spec.maxExclusive ? given >= spec.max : given > spec.max;
  if ((spec.integer && !Number.isInteger(given)) || belowMin || aboveMax) {
    pushError(errors, path, "out_of_range", `must be ${rangeText(spec)}, got ${given}`);
  }
  return given;
}

/** Inhibit rules replace the default list as a whole, like silences; each is compiled to check it. */
function checkInhibitRules(given: unknown, path: string, errors: ConfigError[]): InhibitRuleConfig[] {
  if (!Array.isArray(given)) {
    pushError(errors, path, "wrong_type", `must be a list of inhibit rules, got ${describe(given)}`);
    return [];
  }
  const rules: InhibitRuleConfig[] = [];
  given.forEach((item: unknown, index) => {
    const itemPath = `${path}[${index}]`;
    if (!isPlainObject(item)) {
      pushError(errors, itemPath, "wrong_type", `must be a mapping, got ${describe(item)}`);
      return;
    }
    const rule: Record<string, string[] | number> = {};
    if (item.hold_s !== undefined) rule.hold_s = item.hold_s as number;
    for (const key of ["source_matchers", "target_matchers", "equal"] as const) {
      const value = item[key] ?? (key === "equal" ? [] : undefined);
      if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
        pushError(
          errors,
          `${itemPath}.${key}`,
          "wrong_type",
          `must be a list of strings, got ${describe(value)}`,
        );
        return;
      }
      rule[key] = value as string[];
    }
    for (const key of Object.keys(item)) {
      if (!["source_matchers", "target_matchers", "equal", "hold_s"].includes(key)) {
        pushError(
          errors,
          `${itemPath}.${key}`,
          "unknown_key",
          "is not a key of an inhibit rule (source_matchers, target_matchers, equal, hold_s)",
        );
        return;
      }
    }
    const config = rule as unknown as InhibitRuleConfig;
    try {
      compileInhibitRules([config], path);
    } catch (error) {
      if (!(error instanceof InhibitConfigError)) throw error;
      pushError(
        errors,
        error.path.replace(`${path}[0]`, itemPath),
        "invalid_matcher",
        error.message.replace(`${path}[0]`, itemPath),
      );
      return;
    }
    rules.push(config);
  });
  return rules;
}

/** Silences replace the default list as a whole: a list cannot be merged item by item meaningfully. */
function checkSilences(given: unknown, path: string, errors: ConfigError[]): SilenceConfig[] {
  if (!Array.isArray(given)) {
    pushError(errors, path, "wrong_type", `must be a list of silences, got ${describe(given)}`);
    return [];
  }
  const silences: SilenceConfig[] = [];
  given.forEach((item: unknown, index) => {
    const itemPath = `${path}[${index}]`;
    if (!isPlainObject(item)) {
      pushError(
        errors,
        itemPath,
        "wrong_type",
        `must be a mapping with matchers, expires_at, reason; got ${describe(item)}`,
      );
      return;
    }
    const known = ["matchers", "expires_at", "reason"];
    for (const key of Object.keys(item)) {
      if (!known.includes(key)) {
        const suggestion = closest(key, known);
        const hint = suggestion ? `did you mean "${suggestion}"?` : `known keys: ${known.join(", ")}`;
        pushError(errors, `${itemPath}.${key}`, "unknown_key", `unknown key (${hint})`);
      }
    }
    const matchers = checkMatchers(item.matchers, `${itemPath}.matchers`, errors);
    const expiresAt = item.expires_at;
    if (typeof expiresAt !== "string") {
      pushError(
        errors,
        `${itemPath}.expires_at`,
        "wrong_type",
        `must be an ISO 8601 date with a zone, got ${describe(expiresAt)}`,
      );
    } else {
      const parsed = parseIsoTimestamp(expiresAt);
      if (typeof parsed === "string") {
        pushError(
          errors,
          `${itemPath}.expires_at`,
          "invalid_date",
          `${parsed}, got ${JSON.stringify(expiresAt)}`,
        );
      }
    }
    const reason = item.reason;
    if (typeof reason !== "string" || reason.trim() === "") {
      pushError(
        errors,
        `${itemPath}.reason`,
        "wrong_type",
        `must be a non-empty string saying why, got ${describe(reason)}`,
      );
    }
    if (matchers && typeof expiresAt === "string" && typeof reason === "string") {
      silences.push({ matchers, expires_at: expiresAt, reason });
    }
  });
  return silences;
}

function checkMatchers(
  given: unknown,
  path: string,
  errors: ConfigError[],
): SilenceConfig["matchers"] | null {
  if (!isPlainObject(given)) {
    pushError(
      errors,
      path,
      "wrong_type",
      `must be a mapping of ${SILENCE_MATCHER_KEYS.join(", ")}, got ${describe(given)}`,
    );
    return null;
  }
  const keys = Object.keys(given);
  if (keys.length === 0) {
    // A silence without matchers would mute every alert: far more likely a mistake than an intent.
    pushError(errors, path, "out_of_range", `needs at least one of ${SILENCE_MATCHER_KEYS.join(", ")}`);
    return null;
  }
  const matchers: SilenceConfig["matchers"] = {};
  let valid = true;
  for (const key of keys) {
    const value = given[key];
    const keyPath = `${path}.${key}`;
    if (!(SILENCE_MATCHER_KEYS as readonly string[]).includes(key)) {
      const suggestion = closest(key, SILENCE_MATCHER_KEYS);
      const hint = suggestion
        ? `did you mean "${suggestion}"?`
        : `known keys: ${SILENCE_MATCHER_KEYS.join(", ")}`;
      pushError(errors, keyPath, "unknown_key", `unknown matcher key (${hint})`);
      valid = false;
      continue;
    }
    if (typeof value !== "string") {
      pushError(errors, keyPath, "wrong_type", `must be a string, got ${describe(value)}`);
      valid = false;
      continue;
    }
    const allowed = key === "type" ? ALERT_TYPES : key === "severity" ? SEVERITIES : null;
    if (allowed && !(allowed as readonly string[]).includes(value)) {
      pushError(
        errors,
        keyPath,
        "unknown_enum",
        `must be one of ${allowed.join(", ")}, got ${describe(value)}`,
      );
      valid = false;
      continue;
    }
    matchers[key as (typeof SILENCE_MATCHER_KEYS)[number]] = value;
  }
  return valid ? matchers : null;
}

/**
 * Actions merge per alert type over the defaults; `null` removes a default so that alert type
 * becomes notify-only.
 */
function mergeActions(
  given: unknown,
  base: Record<string, unknown>,
  path: string,
  errors: ConfigError[],
): Partial<Record<AlertType, ActionType>> {
  const result: Record<string, unknown> = { ...base };
  if (given === undefined) return result;
  if (!isPlainObject(given)) {
    pushError(
      errors,
      path,
      "wrong_type",
      `must be a mapping of alert type to action, got ${describe(given)}`,
    );
    return result;
  }
  for (const [alertType, action] of Object.entries(given)) {
    const keyPath = `${path}.${alertType}`;
    if (!(ALERT_TYPES as readonly string[]).includes(alertType)) {
      const suggestion = closest(alertType, ALERT_TYPES);
      const hint = suggestion ? `did you mean "${suggestion}"?` : `alert types: ${ALERT_TYPES.join(", ")}`;
      pushError(errors, keyPath, "unknown_key", `unknown alert type (${hint})`);
      continue;
    }
    if (action === null) {
      delete result[alertType];
      continue;
    }
    if (typeof action !== "string" || !(ACTION_TYPES as readonly string[]).includes(action)) {
      const problem = typeof action === "string" ? "unknown_enum" : "wrong_type";
      pushError(
        errors,
        keyPath,
        problem,
        `must be one of ${ACTION_TYPES.join(", ")} or null (notify only), got ${describe(action)}`,
      );
      continue;
    }
    result[alertType] = action;
  }
  return result as Partial<Record<AlertType, ActionType>>;
}

/** The merged values are unchecked where a type error was already reported; skip those pairs. */
function bothNumbers(a: unknown, b: unknown): boolean {
  return typeof a === "number" && typeof b === "number";
}

function checkCrossFields(config: PipelineConfig, errors: ConfigError[]): void {
  for (const name of ["cpu", "memory"] as const) {
    const rule = config.detectors[name];
    if (bothNumbers(rule.recovery_pct, rule.threshold_pct) && rule.recovery_pct >= rule.threshold_pct) {
      pushError(
        errors,
        `detectors.${name}.recovery_pct`,
        "cross_field",
        `must be below threshold_pct (${rule.threshold_pct}) so the alert can resolve without flapping, got ${rule.recovery_pct}`,
      );
    }
  }
  const errorRate = config.detectors.error_rate;
  if (
    bothNumbers(errorRate.recovery_ratio, errorRate.threshold_ratio) &&
    errorRate.recovery_ratio >= errorRate.threshold_ratio
  ) {
    pushError(
      errors,
      "detectors.error_rate.recovery_ratio",
      "cross_field",
      `must be below threshold_ratio (${errorRate.threshold_ratio}), got ${errorRate.recovery_ratio}`,
    );
  }
  if (Array.isArray(config.sources)) {
    for (const problem of checkSourceAdapters(config.sources))
      pushError(errors, "sources", "cross_field", problem);
  }
  const ml = config.detectors.ml;
  // The model trains once warmup_windows normal windows are kept, and at most max_training_windows
  // are: with the first above the second it never trains, and ML alerting is off without a word.
  if (
    bothNumbers(ml.warmup_windows, ml.max_training_windows) &&
    ml.warmup_windows > ml.max_training_windows
  ) {
    pushError(
      errors,
      "detectors.ml.warmup_windows",
      "cross_field",
      `must be at most detectors.ml.max_training_windows (${ml.max_training_windows}): training waits for ${ml.warmup_windows} windows but keeps only ${ml.max_training_windows}, so the model would never learn, got ${ml.warmup_windows}`,
    );
  }
  for (const [alertType, action] of Object.entries(config.remediation.actions)) {
    const onlyFor = action === undefined ? undefined : ACTIONS_NEEDING_ENTITY[action];
    if (onlyFor !== undefined && !onlyFor.includes(alertType as AlertType)) {
      pushError(
        errors,
        `remediation.actions.${alertType}`,
        "cross_field",
        `${action} needs an ${action === "block_ip" ? "IP" : "user"} to act on and only fits ${onlyFor.join(", ")} alerts`,
      );
    }
  }
}

/** V8 reports a character offset; people look for line and column. */
function describeJsonError(error: unknown, text: string): string {
  const message = error instanceof Error ? error.message : String(error);
  const position = /at position (\d+)/.exec(message)?.[1];
  if (position === undefined) return message;
  const before = text.slice(0, Number(position));
  const line = before.split("\n").length;
  const column = Number(position) - before.lastIndexOf("\n");
  return `${message.replace(/ in JSON at position \d+.*$/, "")} at line ${line}, column ${column}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string")
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value);
  return String(value);
}

/** The known key nearest to a misspelt one, if it is near enough to be a plausible typo. */
function closest(key: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(key.toLowerCase(), candidate);
    if (distance < bestDistance) {
      bestDistance = distance;
      best = candidate;
    }
  }
  return best !== null && bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : null;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
