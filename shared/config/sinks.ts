/**
 * The `sinks:` section of the config: where notifications go besides the console and files. A sink
 * names where its URL comes from (an environment variable or a file), never the URL itself: webhook
 * URLs are secrets (anyone holding a Slack webhook URL can post to the channel), and config files
 * get committed, pasted and logged.
 */

export const SINK_TYPES = ["webhook", "slack", "alertmanager"] as const;
export type SinkType = (typeof SINK_TYPES)[number];

export interface SinkConfig {
  type: SinkType;
  /** Shown in reports and the history; unique. Default: the type. */
  name: string;
  /** Environment variable holding the URL ... */
  url_env?: string;
  /** ... or a file holding it (first line; for example a mounted secret). Exactly one of the two. */
  url_file?: string;
  /** Least seconds between two messages to this URL (default 1 for slack, else 0). */
  min_interval_s?: number;
  /** alertmanager: the `receiver` the message names (default: the sink's name). */
  receiver?: string;
  /** alertmanager: the `externalURL` backlink (default ""). */
  external_url?: string;
  /** alertmanager: most alerts per message, the rest counted in `truncatedAlerts` (0 = all). */
  max_alerts?: number;
}

export interface SinkConfigProblem {
  path: string;
  problem: "wrong_type" | "unknown_key" | "unknown_enum" | "out_of_range" | "cross_field";
  text: string;
}

const KEYS = [
  "type",
  "name",
  "url_env",
  "url_file",
  "min_interval_s",
  "receiver",
  "external_url",
  "max_alerts",
];

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Validate the section; every problem is reported with its path. */
export function checkSinks(
  given: unknown,
  path: string,
): { sinks: SinkConfig[]; problems: SinkConfigProblem[] } {
  const problems: SinkConfigProblem[] = [];
  const sinks: SinkConfig[] = [];
  if (given === undefined || given === null) return { sinks, problems };
  if (!Array.isArray(given)) {
    problems.push({ path, problem: "wrong_type", text: "must be a list of sinks" });
    return { sinks, problems };
  }
  const names = new Set<string>();
  given.forEach((item: unknown, index) => {
    const at = `${path}[${index}]`;
    if (!isPlainObject(item)) {
      problems.push({
        path: at,
        problem: "wrong_type",
        text: "must be a mapping with type and url_env or url_file",
      });
      return;
    }
    const before = problems.length;
    for (const key of Object.keys(item)) {
      if (!KEYS.includes(key)) {
        problems.push({
          path: `${at}.${key}`,
          problem: "unknown_key",
          text: `unknown key (known keys: ${KEYS.join(", ")})`,
        });
      }
    }
    const type = item.type;
    if (typeof type !== "string" || !(SINK_TYPES as readonly string[]).includes(type)) {
      problems.push({
        path: `${at}.type`,
        problem: "unknown_enum",
        text: `must be one of ${SINK_TYPES.join(", ")}`,
      });
    }
    for (const key of ["name", "url_env", "url_file", "receiver", "external_url"]) {
      if (item[key] !== undefined && (typeof item[key] !== "string" || item[key] === "")) {
        problems.push({ path: `${at}.${key}`, problem: "wrong_type", text: "must be a non-empty string" });
      }
    }
    if (typeof item.url_env === "string" && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(item.url_env)) {
      problems.push({
        path: `${at}.url_env`,
        problem: "wrong_type",
        text: "must be an environment variable name",
      });
    }
    if ((item.url_env === undefined) === (item.url_file === undefined)) {
      problems.push({
        path: at,
        problem: "cross_field",
        text: "needs exactly one of url_env (an environment variable) or url_file (a file) holding the URL; URLs are secrets and do not belong in the config",
      });
    }
    if (typeof item.url === "string" || typeof item.webhook_url === "string") {
      problems.push({
        path: at,
        problem: "cross_field",
        text: "put the URL in an environment variable or a file, not in the config",
      });
    }
    for (const [key, max] of [
      ["min_interval_s", 3600],
      ["max_alerts", 10_000],
    ] as const) {
      const value = item[key];
      if (
        value !== undefined &&
        (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > max)
      ) {
        problems.push({
          path: `${at}.${key}`,
          problem: "out_of_range",
          text: `must be a number in 0..${max}`,
        });
      }
    }
    if (problems.length > before) return;
    const name = (item.name as string | undefined) ?? (type as string);
    if (names.has(name)) {
      problems.push({
        path: `${at}.name`,
        problem: "cross_field",
        text: `sink name "${name}" is used twice; give each a name`,
      });
      return;
    }
    names.add(name);
    sinks.push({ ...(item as unknown as SinkConfig), name });
  });
  return { sinks, problems };
}
