import { SettingsError } from "../../shared/errors.js";
export type Env = Readonly<Record<string, string | undefined>>;

/** The value of a required variable; throws naming the variable and what it is for. */
export function requireEnv(env: Env, name: string, purpose: string): string {
  const value = env[name]?.trim();
  if (!value) throw new SettingsError(`environment variable ${name} is required (${purpose}) but is not set`);
  return value;
}

export function optionalEnv(env: Env, name: string): string | null {
  const value = env[name]?.trim();
  return value ? value : null;
}

/** A positive number from the environment, or the fallback when unset; a malformed value fails fast. */
export function numberEnv(
  env: Env,
  name: string,
  fallback: number,
  { min = 0 }: { min?: number } = {},
): number {
  const raw = optionalEnv(env, name);
  if (raw === null) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) {
    throw new SettingsError(
      `environment variable ${name} must be a number >= ${min}, got ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

export function booleanEnv(env: Env, name: string, fallback: boolean): boolean {
  const raw = optionalEnv(env, name)?.toLowerCase();
  if (raw === undefined || raw === null) return fallback;
  if (["1", "true", "yes"].includes(raw)) return true;
  if (["0", "false", "no"].includes(raw)) return false;
  throw new SettingsError(`environment variable ${name} must be true or false, got ${JSON.stringify(raw)}`);
}
