import { ALERT_TYPES, type AlertType, SEVERITIES } from "../alerts/types.js";
import type { SilenceMatcherKey, SilenceRecord } from "./types.js";

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `90s`, `30m`, `2h`, `1d`, `1w`, or `1h30m`; null when it is not a positive duration. */
export function parseDuration(text: string): number | null {
  const trimmed = text.trim();
  if (!/^(\d+(\.\d+)?[smhdw])+$/.test(trimmed)) return null;
  let total = 0;
  for (const match of trimmed.matchAll(/(\d+(?:\.\d+)?)([smhdw])/g)) {
    total += Number(match[1]) * (UNITS[match[2] as string] as number);
  }
  return total > 0 && Number.isFinite(total) ? Math.round(total) : null;
}

const MATCHER_KEYS: readonly SilenceMatcherKey[] = ["type", "service", "entity", "severity"];

/**
 * `--matcher key=value` flags into a matcher set. Every problem is a sentence for the user; an empty
 * set is refused (a silence matching everything would hide every page).
 */
export function parseMatchers(
  flags: readonly string[],
): { ok: true; matchers: SilenceRecord["matchers"] } | { ok: false; error: string } {
  const matchers: SilenceRecord["matchers"] = {};
  for (const flag of flags) {
    const at = flag.indexOf("=");
    if (at <= 0) return { ok: false, error: `--matcher must look like key=value, got "${flag}"` };
    const key = flag.slice(0, at).trim();
    const value = flag.slice(at + 1).trim();
    if (!(MATCHER_KEYS as readonly string[]).includes(key)) {
      return { ok: false, error: `unknown matcher key "${key}" (use ${MATCHER_KEYS.join(", ")})` };
    }
    if (key === "type" && !(ALERT_TYPES as readonly string[]).includes(value)) {
      return { ok: false, error: `unknown alert type "${value}" (one of ${ALERT_TYPES.join(", ")})` };
    }
    if (key === "severity" && !(SEVERITIES as readonly string[]).includes(value)) {
      return { ok: false, error: `unknown severity "${value}" (one of ${SEVERITIES.join(", ")})` };
    }
    if (key !== "entity" && value === "") return { ok: false, error: `matcher ${key} needs a value` };
    if (matchers[key as SilenceMatcherKey] !== undefined) {
      return { ok: false, error: `matcher ${key} given twice` };
    }
    matchers[key as SilenceMatcherKey] = value;
  }
  if (Object.keys(matchers).length === 0) {
    return { ok: false, error: "a silence needs at least one --matcher (for example --matcher service=api)" };
  }
  return { ok: true, matchers };
}

export function isAlertType(value: string): value is AlertType {
  return (ALERT_TYPES as readonly string[]).includes(value);
}

/** The exact command that silences one alert (printed in notifications and `history show`). */
export function silenceCommand(
  alert: { service: string; type: string; entity: string },
  forText = "2h",
): string {
  const matchers = [`service=${alert.service}`, `type=${alert.type}`];
  if (alert.entity !== "") matchers.push(`entity=${alert.entity}`);
  return `npm run silence -- add ${matchers.map((m) => `--matcher ${shellQuote(m)}`).join(" ")} --for ${forText} --reason "..."`;
}

/** Quote for a POSIX shell only when needed: service names and IPs are usually safe as they are. */
export function shellQuote(text: string): string {
  return /^[A-Za-z0-9_.:=@%+,/-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
