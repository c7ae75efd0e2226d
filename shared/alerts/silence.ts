import type { SilenceConfig } from "../config/types.js";
import { SettingsError } from "../errors.js";
import type { Alert } from "./types.js";

/**
 * Label matchers: every key given must equal the alert's value. Plain strings: silences also come
 * from the history store at run time, not only from the validated config.
 */
export type SilenceMatchers = Partial<Record<"type" | "service" | "entity" | "severity", string>>;

/** A silence in force until `expiresAtMs` (event time). */
export interface Silence {
  id: string;
  matchers: SilenceMatchers;
  expiresAtMs: number;
  reason: string;
}

const MATCHER_KEYS = ["type", "service", "entity", "severity"] as const;

/**
 * Turns the configured silences into runtime ones. Throws SettingsError naming the entry on a
 * bad expiry or an empty matcher set: a silence that matched everything would hide every page.
 */
export function silencesFromConfig(configs: readonly SilenceConfig[]): Silence[] {
  return configs.map((config, index) => {
    const expiresAtMs = Date.parse(config.expires_at);
    if (!Number.isFinite(expiresAtMs)) {
      throw new SettingsError(
        `alerting.silences[${index}]: ` + `expires_at "${config.expires_at}" is not an ISO 8601 instant`,
      );
    }
    validateMatchers(
      config.matchers,
      (problem) => new SettingsError(`alerting.silences[${index}]: ` + problem),
    );
    return { id: `config-${index}`, matchers: { ...config.matchers }, expiresAtMs, reason: config.reason };
  });
}

export function validateMatchers(matchers: SilenceMatchers, fail: (problem: string) => Error): void {
  const keys = Object.keys(matchers);
  if (keys.length === 0) throw fail("a silence needs at least one matcher");
  for (const key of keys) {
    if (!(MATCHER_KEYS as readonly string[]).includes(key)) {
      throw fail(`unknown matcher "${key}" (use ${MATCHER_KEYS.join(", ")})`);
    }
    if (typeof matchers[key as keyof SilenceMatchers] !== "string")
      throw fail(`matcher "${key}" must be a string`);
  }
}

export function silenceMatches(silence: Silence, alert: Alert, nowMs: number): boolean {
  if (nowMs >= silence.expiresAtMs) return false;
  for (const key of MATCHER_KEYS) {
    const wanted = silence.matchers[key];
    if (wanted !== undefined && alert[key] !== wanted) return false;
  }
  return true;
}
