import type { InhibitRuleConfig } from "../config/types.js";
import { SettingsError } from "../errors.js";
import type { Alert } from "./types.js";

/**
 * Inhibition, as Alertmanager's `inhibit_rules`: while an alert matching a rule's source matchers
 * fires, alerts matching its target matchers that carry the same values for every `equal` label
 * are not notified. They stay firing and are reported as inhibited, never dropped. The default
 * rule keeps one incident to one page: any rule alert on a service inhibits that service's
 * `ml_anomaly` (the ML detector sees the same CPU spike the CPU rule names better).
 *
 * Matchers are Alertmanager's text form on the labels type, service, entity and severity:
 * `label="value"`, `label!="value"`, `label=~"regex"`, `label!~"regex"` (regexes anchored).
 */

export const INHIBIT_LABELS = ["type", "service", "entity", "severity"] as const;
export type InhibitLabel = (typeof INHIBIT_LABELS)[number];

export const DEFAULT_INHIBIT_RULES: readonly InhibitRuleConfig[] = [
  {
    source_matchers: ['type!="ml_anomaly"'],
    target_matchers: ['type="ml_anomaly"'],
    equal: ["service"],
    // The CPU rule fires after its for_s (30 s) and smoothing; the ML detector often 10-20 s sooner.
    hold_s: 60,
  },
];

interface Matcher {
  label: InhibitLabel;
  negate: boolean;
  test: (value: string) => boolean;
}

export interface InhibitRule {
  index: number;
  source: Matcher[];
  target: Matcher[];
  equal: InhibitLabel[];
  holdMs: number;
}

/** Subclassed because the config loader turns it into a keyed config error (it carries the path). */
export class InhibitConfigError extends SettingsError {
  override name = "InhibitConfigError";

  constructor(
    readonly path: string,
    problem: string,
  ) {
    super(`${path}: ${problem}`);
  }
}

const MATCHER = /^\s*([a-z_]+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*$/;

export function parseMatcher(text: string, path: string): Matcher {
  const m = MATCHER.exec(text);
  if (m === null) throw new InhibitConfigError(path, `"${text}" is not a matcher like type="ml_anomaly"`);
  const [, label, op, rawValue] = m as unknown as [string, string, string, string];
  if (!(INHIBIT_LABELS as readonly string[]).includes(label)) {
    throw new InhibitConfigError(path, `unknown label "${label}" (use ${INHIBIT_LABELS.join(", ")})`);
  }
  const value = rawValue.replace(/\\(.)/g, "$1");
  const negate = op.startsWith("!");
  let test: (v: string) => boolean;
  if (op.endsWith("~")) {
    let pattern: RegExp;
    try {
      pattern = new RegExp(`^(?:${value})$`);
    } catch (error) {
      throw new InhibitConfigError(
        path,
        `bad regex "${value}": ${error instanceof Error ? error.message : ""}`,
      );
    }
    test = (v) => pattern.test(v);
  } else {
    test = (v) => v === value;
  }
  return { label: label as InhibitLabel, negate, test };
}

/** A rule as code may hand it in: the config schema has checked the configured ones already. */
export interface InhibitRuleInput {
  source_matchers: readonly string[];
  target_matchers: readonly string[];
  equal: readonly string[];
  hold_s?: number | undefined;
}

/** Validates and compiles the configured rules; throws InhibitConfigError naming the bad entry. */
export function compileInhibitRules(
  configs: readonly InhibitRuleInput[],
  path = "alerting.inhibit_rules",
): InhibitRule[] {
  return configs.map((config, index) => {
    const at = `${path}[${index}]`;
    if (config.source_matchers.length === 0 || config.target_matchers.length === 0) {
      // An empty matcher list matches every alert: a rule that could mute everything.
      throw new InhibitConfigError(at, "source_matchers and target_matchers each need at least one matcher");
    }
    for (const label of config.equal) {
      if (!(INHIBIT_LABELS as readonly string[]).includes(label)) {
        throw new InhibitConfigError(
          `${at}.equal`,
          `unknown label "${label}" (use ${INHIBIT_LABELS.join(", ")})`,
        );
      }
    }
    const hold = config.hold_s ?? 0;
    if (typeof hold !== "number" || !Number.isFinite(hold) || hold < 0 || hold > 86_400) {
      throw new InhibitConfigError(
        `${at}.hold_s`,
        `must be a number of seconds in 0..86400, got ${String(hold)}`,
      );
    }
    return {
      index,
      holdMs: hold * 1000,
      source: config.source_matchers.map((m, i) => parseMatcher(m, `${at}.source_matchers[${i}]`)),
      target: config.target_matchers.map((m, i) => parseMatcher(m, `${at}.target_matchers[${i}]`)),
      equal: config.equal as InhibitLabel[],
    };
  });
}

/**
 * True while `target` is younger than the longest hold of the rules it is a target of: it may not
 * page yet, because a source could still fire and inhibit it.
 */
export function heldForInhibition(rules: readonly InhibitRule[], target: Alert, nowMs: number): boolean {
  for (const rule of rules) {
    if (rule.holdMs > 0 && nowMs - target.startsAtMs < rule.holdMs && matches(rule.target, target))
      return true;
  }
  return false;
}

function matches(matchers: readonly Matcher[], alert: Alert): boolean {
  for (const m of matchers) if (m.test(alert[m.label]) === m.negate) return false;
  return true;
}

export interface Inhibition {
  rule: number;
  /** Fingerprint of the firing alert that inhibits. */
  by: string;
}

/**
 * The first firing source alert that inhibits `target` under any rule, or null. An alert never
 * inhibits itself (a rule whose source and target both match it would otherwise mute it alone).
 */
export function inhibitionOf(
  rules: readonly InhibitRule[],
  target: Alert,
  firing: Iterable<Alert>,
): Inhibition | null {
  for (const rule of rules) {
    if (!matches(rule.target, target)) continue;
    for (const source of firing) {
      if (source.status !== "firing" || source.fingerprint === target.fingerprint) continue;
      if (!matches(rule.source, source)) continue;
      if (rule.equal.every((label) => source[label] === target[label])) {
        return { rule: rule.index, by: source.fingerprint };
      }
    }
  }
  return null;
}
