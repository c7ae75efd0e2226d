/**
 * The config schema: the one place that says which keys exist, their types, defaults, ranges, the
 * rules between keys and the error messages. The types (types.ts) are inferred from it,
 * DEFAULT_CONFIG is what it makes of an empty document, and docs/configuration.md is generated from
 * it (`npm run docs:config`). Every bound a detector constructor asserts is a rule here too, so a
 * config that validates always builds a pipeline.
 */
import * as v from "valibot";
import {
  DEFAULT_INHIBIT_RULES,
  INHIBIT_LABELS,
  InhibitConfigError,
  parseMatcher,
} from "../alerts/inhibit.js";
import { ALERT_TYPES, type AlertType, SEVERITIES } from "../alerts/types.js";
import { AddressList } from "../detectors/address-list.js";
import { checkSources } from "../ingest/sources.js";
import { FORMATS } from "../ingest/types.js";
import { parseIsoTimestamp } from "../log/parse.js";
import {
  allowed,
  describe,
  flag,
  MAX_DURATION_S,
  numberIn,
  oneOf,
  type Range,
  required,
  say,
  section,
  strings,
  text,
  unknownKeyText,
} from "./kit.js";
import { SINKS_SCHEMA } from "./sinks.js";
import { ACTION_TYPES, type ActionType } from "./types.js";

const PERCENT: Range = { min: 0, max: 100 };
const DURATION: Range = { min: 0, max: MAX_DURATION_S };
const POSITIVE_DURATION: Range = { min: 0, minExclusive: true, max: MAX_DURATION_S };
/**
 * Sliding windows (shared/detectors/window.ts) are kept in buckets of at least one second: a
 * shorter window would silently be one second long.
 */
const WINDOW: Range = { min: 1, max: MAX_DURATION_S, why: "windows are kept in 1-second buckets" };
const count = (min: number, max = 1_000_000): Range => ({ min, max, integer: true });
const CAPACITY = count(1, 10_000_000);

const severity = (fallback: (typeof SEVERITIES)[number]) =>
  v.optional(oneOf(SEVERITIES, "alert severity"), fallback);

function thresholdRule(threshold: number, recovery: number) {
  return v.optional(
    section(
      {
        threshold_pct: v.optional(
          numberIn(PERCENT, "fire when the smoothed value stays at or above this for `for_s`"),
          threshold,
        ),
        recovery_pct: v.optional(
          numberIn(PERCENT, "resolve only below this (hysteresis, so alerts do not flap)"),
          recovery,
        ),
        for_s: v.optional(
          numberIn(DURATION, "hold time before pending becomes firing (Prometheus `for`)"),
          30,
        ),
        smoothing_s: v.optional(numberIn(WINDOW, "smoothing window of the per-service value"), 15),
        severity: severity("warning"),
        max_services: v.optional(
          numberIn(
            CAPACITY,
            "services tracked at once; past it new ones are refused and `pipeline_capacity` fires",
          ),
          1000,
        ),
      },
      {
        rules: [
          {
            keys: ["threshold_pct", "recovery_pct"],
            at: "recovery_pct",
            holds: (rule) => rule.recovery_pct < rule.threshold_pct,
            message: (rule) =>
              `must be below threshold_pct (${rule.threshold_pct}) so the alert can resolve without flapping, got ${rule.recovery_pct}`,
            doc: "below `threshold_pct`",
          },
        ],
      },
    ),
    {},
  );
}

const bruteForce = section({
  ip_max_failures: v.optional(
    numberIn(count(1), "auth failures from one IP within `find_time_s` that fire (fail2ban's maxretry)"),
    8,
  ),
  user_max_failures: v.optional(
    numberIn(count(1), "failures against one user, from any IPs, within `find_time_s`"),
    10,
  ),
  user_min_ips: v.optional(
    numberIn(count(1), "the per-user rule also needs this many distinct IPs (credential stuffing)"),
    3,
  ),
  find_time_s: v.optional(numberIn(WINDOW, "counting window"), 60),
  severity: severity("critical"),
  max_keys: v.optional(
    numberIn(CAPACITY, "IPs tracked at once, and users separately; past it `pipeline_capacity` fires"),
    10_000,
  ),
});

const sshdJail = section({
  enabled: v.optional(flag("off: sshd failures go to `brute_force` like any other"), true),
  max_retry: v.optional(
    numberIn(count(1), "failures of one host within `find_time_s` that ban it (maxretry)"),
    5,
  ),
  find_time_s: v.optional(numberIn(POSITIVE_DURATION, "counting window, in log time (findtime)"), 600),
  ban_time_s: v.optional(
    numberIn(POSITIVE_DURATION, "the ban: `block_ip` lasts this long, the alert resolves when it ends"),
    600,
  ),
  ignore_ips: v.optional(
    v.pipe(
      strings("never counted (ignoreip); the list replaces the default as a whole"),
      allowed("addresses, CIDR ranges, host names"),
      v.check(
        (list) => new AddressList(list).invalid.length === 0,
        (issue) =>
          say(
            "out_of_range",
            `not an address, CIDR range or host name: ${new AddressList(issue.input).invalid.map((entry) => JSON.stringify(entry)).join(", ")}`,
          ),
      ),
    ),
    () => ["127.0.0.1/8", "::1"],
  ),
  severity: severity("critical"),
});

const httpProbing = section({
  enabled: v.optional(flag("crowdsec's http-probing scenario"), true),
  capacity: v.optional(
    numberIn(count(1), "distinct 404/403/400 non-static paths per client IP the bucket holds"),
    10,
  ),
  leak_s: v.optional(
    numberIn(POSITIVE_DURATION, "one path leaks out this often; the path after a full bucket overflows it"),
    10,
  ),
  blackhole_s: v.optional(
    numberIn(DURATION, "after an overflow, no new alert for that IP for this long"),
    300,
  ),
  severity: severity("warning"),
});

const requestFlood = section({
  enabled: v.optional(flag("too many requests from one client IP"), true),
  max_requests: v.optional(
    numberIn(count(1), "requests from one client IP within `window_s` that fire"),
    600,
  ),
  window_s: v.optional(
    numberIn(
      { ...count(1, 3600), why: "the detector keeps one counter per second per client IP" },
      "sliding window in whole seconds; resolves below half the limit",
    ),
    60,
  ),
  severity: severity("warning"),
});

const errorRate = section(
  {
    window_s: v.optional(numberIn(WINDOW, "sliding window"), 60),
    threshold_ratio: v.optional(
      numberIn({ min: 0, minExclusive: true, max: 1 }, "errors / requests at or above this fires"),
      0.2,
    ),
    recovery_ratio: v.optional(numberIn({ min: 0, max: 1, maxExclusive: true }, "resolves below this"), 0.08),
    min_requests: v.optional(numberIn(count(1), "no verdict on fewer requests than this in the window"), 30),
    severity: severity("critical"),
    max_services: v.optional(numberIn(CAPACITY, "services tracked; past it `pipeline_capacity` fires"), 1000),
  },
  {
    rules: [
      {
        keys: ["threshold_ratio", "recovery_ratio"],
        at: "recovery_ratio",
        holds: (rule) => rule.recovery_ratio < rule.threshold_ratio,
        message: (rule) =>
          `must be below threshold_ratio (${rule.threshold_ratio}), got ${rule.recovery_ratio}`,
        doc: "below `threshold_ratio`",
      },
    ],
  },
);

const ml = section(
  {
    enabled: v.optional(flag("per-service isolation forest"), true),
    window_s: v.optional(numberIn(POSITIVE_DURATION, "length of one feature window"), 10),
    warmup_windows: v.optional(
      numberIn(
        { ...count(2), why: "a model needs two windows to learn from" },
        "no ML alerts before this many windows per service (the model trains on them, so it cannot wait for more than it keeps)",
      ),
      60,
    ),
    retrain_every_windows: v.optional(numberIn(count(1), "retrain after this many new windows"), 60),
    max_training_windows: v.optional(numberIn(count(2), "recent normal windows kept for training"), 512),
    threshold_quantile: v.optional(
      numberIn(
        { min: 0, max: 1, minExclusive: true, maxExclusive: true },
        "threshold = this quantile of recent normal window scores ...",
      ),
      0.995,
    ),
    score_margin: v.optional(numberIn({ min: -1, max: 1 }, "... plus this margin"), 0.02),
    for_windows: v.optional(numberIn(count(1), "consecutive anomalous windows before firing"), 3),
    trees: v.optional(numberIn(count(1, 10_000), "trees in each service's forest"), 50),
    sample_size: v.optional(
      numberIn(
        { ...count(2, 32_768), why: "the isolation forest's limit" },
        "windows each tree is grown on (at most the training windows kept)",
      ),
      256,
    ),
    seed: v.optional(numberIn(count(0, 0xffff_ffff), "same seed, same model, same alerts"), 1),
    severity: severity("warning"),
    max_services: v.optional(
      numberIn(CAPACITY, "services modelled; past it `pipeline_capacity` fires"),
      1000,
    ),
  },
  {
    rules: [
      {
        // The model trains once warmup_windows normal windows are kept, and at most
        // max_training_windows are: with the first above the second it would never train.
        keys: ["warmup_windows", "max_training_windows"],
        at: "warmup_windows",
        holds: (config) => config.warmup_windows <= config.max_training_windows,
        message: (config) =>
          `must be at most detectors.ml.max_training_windows (${config.max_training_windows}): training waits for ${config.warmup_windows} windows but keeps only ${config.max_training_windows}, so the model would never learn, got ${config.warmup_windows}`,
        doc: "at most `max_training_windows`",
      },
    ],
  },
);

const SILENCE_MATCHER_KEYS = ["type", "service", "entity", "severity"] as const;

/** An optional string with its documentation line (silence matchers, source fields). */
const stringField = (doc: string) =>
  v.optional(
    v.pipe(
      v.string((issue) => say("wrong_type", `must be a string, got ${describe(issue.input)}`)),
      v.description(doc),
    ),
  );

const silence = section(
  {
    matchers: required(
      section(
        {
          type: v.optional(oneOf(ALERT_TYPES, "an alert type")),
          service: stringField("a service name"),
          entity: stringField("an entity (IP, user)"),
          severity: v.optional(oneOf(SEVERITIES, "a severity")),
        },
        {
          doc: "every key given must equal the alert's value",
          expected: `a mapping of ${SILENCE_MATCHER_KEYS.join(", ")}`,
          unknownKey: (key, known) => unknownKeyText(key, known, "matcher key"),
          rules: [
            {
              // A silence without matchers would mute every alert: far more likely a mistake.
              keys: SILENCE_MATCHER_KEYS,
              holds: (m) => SILENCE_MATCHER_KEYS.some((key) => m[key] !== undefined),
              message: () => `needs at least one of ${SILENCE_MATCHER_KEYS.join(", ")}`,
              problem: "out_of_range",
              doc: "at least one matcher",
            },
          ],
        },
      ),
    ),
    expires_at: required(
      v.pipe(
        v.string((issue) =>
          say("wrong_type", `must be an ISO 8601 date with a zone, got ${describe(issue.input)}`),
        ),
        v.check(
          (value) => typeof parseIsoTimestamp(value) === "number",
          (issue) =>
            say("invalid_date", `${parseIsoTimestamp(issue.input)}, got ${JSON.stringify(issue.input)}`),
        ),
        v.description("the silence stops applying after this instant"),
        allowed("ISO 8601 date with a zone"),
      ),
    ),
    reason: required(text("why; it appears in the audit trail", "a non-empty string saying why")),
  },
  { expected: "a mapping with matchers, expires_at, reason" },
);

/** The problem parseMatcher finds in a matcher, or null. */
function matcherProblem(matcher: string): string | null {
  try {
    parseMatcher(matcher, "");
    return null;
  } catch (error) {
    if (!(error instanceof InhibitConfigError)) throw error;
    return error.message.slice(error.path.length + 2);
  }
}

const matcherList = (doc: string) => {
  const wrongType = (issue: { input: unknown }) =>
    say("wrong_type", `must be a list of strings, got ${describe(issue.input)}`);
  return v.pipe(
    v.array(
      v.pipe(
        v.string(wrongType),
        v.check(
          (matcher) => matcherProblem(matcher) === null,
          (issue) => say("invalid_matcher", matcherProblem(issue.input as string) ?? ""),
        ),
      ),
      wrongType,
    ),
    v.check(
      (list) => list.length > 0,
      // An empty matcher list matches every alert: a rule that could mute everything.
      () => say("invalid_matcher", "needs at least one matcher"),
    ),
    v.description(doc),
    allowed('list of matchers like `type="ml_anomaly"`, at least one'),
  );
};

export const INHIBIT_RULE_SCHEMA = section(
  {
    source_matchers: required(matcherList("while an alert matching all of these fires ...")),
    target_matchers: required(matcherList("... alerts matching all of these do not page ...")),
    equal: v.optional(
      v.pipe(
        v.array(oneOf(INHIBIT_LABELS, "a label"), (issue) =>
          say("wrong_type", `must be a list of strings, got ${describe(issue.input)}`),
        ),
        v.description("... when they share the values of these labels"),
      ),
      () => [],
    ),
    hold_s: v.optional(
      numberIn({ min: 0, max: 86_400 }, "a new target alert waits this long before it may page (default 0)"),
    ),
  },
  { expected: "a mapping with source_matchers, target_matchers, equal, hold_s" },
);

/** Which action each alert type triggers by default; a type not listed is notify-only. */
const DEFAULT_ACTIONS: Partial<Record<AlertType, ActionType>> = {
  high_cpu: "scale_out",
  high_memory: "restart_service",
  brute_force_ip: "block_ip",
  brute_force_user: "lock_user",
  high_error_rate: "rollback_deploy",
  http_probing: "block_ip",
};

/**
 * Bans need an IP or user to act on, and only these alerts carry one as their entity; every other
 * alert is about a whole service.
 */
const ACTIONS_NEEDING_ENTITY: Partial<Record<ActionType, readonly AlertType[]>> = {
  block_ip: ["brute_force_ip", "http_probing", "request_flood"],
  lock_user: ["brute_force_user"],
};

const actionField = v.optional(
  v.pipe(
    v.nullable(oneOf(ACTION_TYPES, "", " or null (notify only)")),
    v.description("the action for this alert type; null: notify only"),
  ),
);
const actionEntries = Object.fromEntries(ALERT_TYPES.map((type) => [type, actionField])) as {
  [K in AlertType]: typeof actionField;
};

/** Actions merge per alert type over the defaults; `null` makes that type notify-only. */
const actions = v.pipe(
  section(actionEntries, {
    expected: "a mapping of alert type to action",
    unknownKey: (key, known) => unknownKeyText(key, known, "alert type", "alert types"),
  }),
  v.transform((given) => {
    const merged: Partial<Record<AlertType, ActionType>> = { ...DEFAULT_ACTIONS };
    for (const [type, action] of Object.entries(given) as [AlertType, ActionType | null | undefined][]) {
      if (action === null) delete merged[type];
      else if (action !== undefined) merged[type] = action;
    }
    return merged;
  }),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    for (const [type, action] of Object.entries(dataset.value) as [AlertType, ActionType][]) {
      const onlyFor = ACTIONS_NEEDING_ENTITY[action];
      if (onlyFor === undefined || onlyFor.includes(type)) continue;
      addIssue({
        message: say(
          "cross_field",
          `${action} needs an ${action === "block_ip" ? "IP" : "user"} to act on and only fits ${onlyFor.join(", ")} alerts`,
        ),
        path: [{ type: "object", origin: "value", input: dataset.value, key: type, value: action }],
      });
    }
  }),
  v.metadata({
    rules: Object.entries(ACTIONS_NEEDING_ENTITY).map(([action, types]) => ({
      at: undefined,
      doc: `\`${action}\` only for ${types.join(", ")}`,
    })),
  }),
  v.description("which action each alert type triggers; merged over the defaults, `null` removes one"),
);

const source = section(
  {
    log_group: required(
      text(
        "a log group name; `*` matches any run of characters (`/aws/lambda/*`)",
        "a log group name or pattern",
      ),
    ),
    format: required(oneOf(FORMATS, "how the group's lines are read")),
    service: stringField("service name for formats that carry none (default: the group's last part)"),
    mapping: v.optional(
      v.pipe(
        v.union(
          [
            v.string(),
            v.custom<Record<string, unknown>>(
              (value) => typeof value === "object" && value !== null && !Array.isArray(value),
            ),
          ],
          (issue) => say("wrong_type", `must be a preset name or a mapping, got ${describe(issue.input)}`),
        ),
        v.description("a mapping preset name or an inline mapping (json, lambda, auto)"),
      ),
    ),
    mode: stringField("sshd: `normal`, `ddos`, `extra`, `aggressive`"),
    timezone: stringField("zone of zone-less timestamps"),
    log_format: stringField("nginx/apache: a `log_format` / `LogFormat` string"),
    metric_field: stringField("metric-csv: `cpu_pct` or `memory_pct`"),
  },
  { expected: "a mapping with log_group and format" },
);

const sources = v.pipe(
  v.array(source, (issue) =>
    say("wrong_type", `must be a list of sources (log_group, format, ...), got ${describe(issue.input)}`),
  ),
  v.rawCheck(({ dataset, addIssue }) => {
    // Validations still run after the list itself failed: only look at a list.
    if (!Array.isArray(dataset.value)) return;
    const bad = new Set((dataset.issues ?? []).map((issue) => issue.path?.[0]?.key));
    // The items without errors of their own are typed.
    (dataset.value as v.InferOutput<typeof source>[]).forEach((item, index) => {
      if (bad.has(index)) return;
      // The adapter is built once here, so a source that cannot be read is refused at load time.
      for (const problem of checkSources([item])) {
        addIssue({ message: say("cross_field", problem.replace(/^sources\[0\]/, `sources[${index}]`)) });
      }
    });
  }),
  v.description("how the processor Lambda reads each log group; the first matching entry decides"),
);

export const CONFIG_SCHEMA = section({
  detectors: v.optional(
    section({
      cpu: thresholdRule(85, 70),
      memory: thresholdRule(90, 80),
      brute_force: v.optional(bruteForce, {}),
      sshd_jail: v.optional(sshdJail, {}),
      http_probing: v.optional(httpProbing, {}),
      request_flood: v.optional(requestFlood, {}),
      error_rate: v.optional(errorRate, {}),
      ml: v.optional(ml, {}),
    }),
    {},
  ),
  alerting: v.optional(
    section({
      group_wait_s: v.optional(
        numberIn(DURATION, "wait after a group's first alert to gather its burst"),
        10,
      ),
      group_interval_s: v.optional(
        numberIn(POSITIVE_DURATION, "minimum gap between notifications about one group"),
        60,
      ),
      repeat_interval_s: v.optional(
        numberIn(POSITIVE_DURATION, "re-notify a still-firing group after this long"),
        3600,
      ),
      silences: v.optional(
        v.pipe(
          v.array(silence, (issue) =>
            say("wrong_type", `must be a list of silences, got ${describe(issue.input)}`),
          ),
          v.description("silences; the list replaces the default as a whole"),
        ),
        () => [],
      ),
      inhibit_rules: v.optional(
        v.pipe(
          v.array(INHIBIT_RULE_SCHEMA, (issue) =>
            say("wrong_type", `must be a list of inhibit rules, got ${describe(issue.input)}`),
          ),
          v.description("Alertmanager-style inhibit rules; `[]` turns inhibition off"),
        ),
        // Typed as plain input so the config types do not depend on the default's own type.
        (): Record<string, unknown>[] => structuredClone([...DEFAULT_INHIBIT_RULES]),
      ),
    }),
    {},
  ),
  remediation: v.optional(
    section({
      dry_run: v.optional(flag("log what would be done, execute nothing"), false),
      kill_switch: v.optional(flag("emergency stop: no actions at all"), false),
      cooldown_s: v.optional(numberIn(DURATION, "per target: no second action within this time"), 300),
      max_actions: v.optional(numberIn(count(1), "circuit breaker: at most this many actions ..."), 10),
      max_actions_window_s: v.optional(
        numberIn(POSITIVE_DURATION, "... within this window, across all targets"),
        600,
      ),
      verify_after_s: v.optional(
        numberIn(POSITIVE_DURATION, "check this long after acting whether the alert resolved"),
        120,
      ),
      ban_duration_s: v.optional(numberIn(POSITIVE_DURATION, "expiry of `block_ip` / `lock_user`"), 3600),
      actions: v.optional(actions, {}),
    }),
    {},
  ),
  sinks: v.optional(SINKS_SCHEMA, () => []),
  time: v.optional(
    section({
      max_future_skew_s: v.optional(
        numberIn(
          POSITIVE_DURATION,
          "a line dated more than this ahead of the reference clock is refused as `timestamp_in_future`",
        ),
        300,
      ),
      allowed_lateness_s: v.optional(
        numberIn(
          DURATION,
          "a line up to this far behind its source's clock is ordinary; older ones are `late`",
        ),
        60,
      ),
    }),
    {},
  ),
  sources: v.optional(sources, () => []),
});
