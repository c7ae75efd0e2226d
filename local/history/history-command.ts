import { SettingsError } from "../../shared/errors.js";
import { isAlertType, parseDuration } from "../../shared/history/cli-input.js";
import { formatIncidentList, formatStats, formatTimeline } from "../../shared/history/format.js";
import { historyStats } from "../../shared/history/stats.js";
import type { IncidentQuery } from "../../shared/history/types.js";
import { STORE_OPTIONS, STORE_USAGE } from "./open-store.js";
import { type CliIo, runStoreCommand } from "./store-command.js";

export const HISTORY_USAGE = `Usage: npm run history -- <command> [options]

Past alerts, from the store the local runner records into (or the DynamoDB table on AWS).

Commands:
  list                    alerts, newest first
    --since DURATION|ISO  started within this long ago, or since this instant (default 24h)
    --until ISO           ... and before this instant
    --service NAME        only this service
    --type TYPE           only this alert type (high_cpu, brute_force_ip, ...)
    --state firing|resolved
    --limit N             at most N (default 1000)
  show INCIDENT           one incident's timeline: first sign, detection, notifications per sink,
                          silences, remediation and its outcome
  stats                   counts per day, service and type; time to detect and to resolve
    --since, --until, --service, --type as for list (default --since 7d)

Output:
  --json                  machine-readable output
  -h, --help              this help

${STORE_USAGE}

Exit codes: 0 success, 2 bad arguments, 1 store failure (3 when show finds no such incident).`;

const OPTIONS = {
  ...STORE_OPTIONS,
  since: { type: "string" },
  until: { type: "string" },
  service: { type: "string" },
  type: { type: "string" },
  state: { type: "string" },
  limit: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** `--since 24h` (relative to now) or `--since 2026-03-02T08:00:00Z`. */
function parseSince(text: string, nowMs: number, flag: string): number {
  const duration = parseDuration(text);
  if (duration !== null) return nowMs - duration;
  const at = Date.parse(text);
  if (!Number.isFinite(at)) {
    throw new SettingsError(`${flag} must be a duration (24h, 7d, 90m) or an ISO 8601 time, got "${text}"`);
  }
  return at;
}

function buildQuery(
  v: Record<string, string | boolean | undefined>,
  nowMs: number,
  defaultSince: string,
): IncidentQuery {
  const query: IncidentQuery = { sinceMs: parseSince(String(v.since ?? defaultSince), nowMs, "--since") };
  if (typeof v.until === "string") query.untilMs = parseSince(v.until, nowMs, "--until");
  if (typeof v.service === "string") query.service = v.service;
  if (typeof v.type === "string") {
    if (!isAlertType(v.type)) throw new SettingsError(`--type: unknown alert type "${v.type}"`);
    query.type = v.type;
  }
  if (typeof v.state === "string") {
    if (v.state !== "firing" && v.state !== "resolved") {
      throw new SettingsError(`--state must be firing or resolved, got "${v.state}"`);
    }
    query.state = v.state;
  }
  if (typeof v.limit === "string") {
    const limit = Number(v.limit);
    if (!Number.isSafeInteger(limit) || limit < 1)
      throw new SettingsError(`--limit must be a whole number >= 1`);
    query.limit = limit;
  }
  return query;
}

/** `npm run history`: returns the exit code. */
export function historyMain(argv: readonly string[], io: CliIo): Promise<number> {
  const now = io.now ?? Date.now;
  return runStoreCommand(argv, io, {
    options: OPTIONS,
    usage: HISTORY_USAGE,
    async run(v, command, rest, openStore) {
      if (!["list", "show", "stats"].includes(command)) {
        throw new SettingsError(`unknown command "${command}" (list, show, stats)`);
      }
      if (command === "show" ? rest.length !== 1 : rest.length !== 0) {
        throw new SettingsError(
          command === "show" ? "show needs one INCIDENT id (see list)" : `unexpected "${rest[0]}"`,
        );
      }
      const query = command === "show" ? null : buildQuery(v, now(), command === "stats" ? "7d" : "24h");
      const store = openStore();
      if (command === "list") {
        const incidents = await store.listIncidents(query as IncidentQuery);
        io.stdout.write(
          v.json
            ? `${JSON.stringify(incidents.map(toJsonIncident), null, 2)}\n`
            : `${formatIncidentList(incidents)}\n`,
        );
        return 0;
      }
      if (command === "stats") {
        const stats = historyStats(
          await store.listIncidents({ ...(query as IncidentQuery), limit: Number.MAX_SAFE_INTEGER }),
        );
        io.stdout.write(v.json ? `${JSON.stringify(stats, null, 2)}\n` : `${formatStats(stats)}\n`);
        return 0;
      }
      const incident = rest[0] as string;
      const [summary, events] = await Promise.all([store.incident(incident), store.timeline(incident)]);
      if (summary === null && events.length === 0) {
        io.stderr.write(
          `error: no incident ${incident} in this store (npm run history -- list shows the ids)\n`,
        );
        return 3;
      }
      io.stdout.write(
        v.json
          ? `${JSON.stringify({ incident: summary && toJsonIncident(summary), timeline: events.map(toJsonEvent) }, null, 2)}\n`
          : `${formatTimeline(summary, events)}\n`,
      );
      return 0;
    },
  });
}

const rfc3339 = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** Machine output: every time as RFC 3339 next to its epoch milliseconds. */
function toJsonIncident<
  T extends { startsAtMs: number; endsAtMs: number | null; firstSignMs: number | null },
>(s: T) {
  return {
    ...s,
    startsAt: rfc3339(s.startsAtMs),
    endsAt: rfc3339(s.endsAtMs),
    firstSignAt: rfc3339(s.firstSignMs),
  };
}

function toJsonEvent<T extends { atMs: number }>(e: T) {
  return { ...e, at: rfc3339(e.atMs) };
}
