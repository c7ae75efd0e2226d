import { randomBytes } from "node:crypto";
import { userInfo } from "node:os";
import { SettingsError } from "../../shared/errors.js";
import { parseDuration, parseMatchers } from "../../shared/history/cli-input.js";
import { formatSilences } from "../../shared/history/format.js";
import type { SilenceRecord } from "../../shared/history/types.js";
import { silenceActive } from "../../shared/history/types.js";
import { STORE_OPTIONS, STORE_USAGE } from "./open-store.js";
import { type CliIo, runStoreCommand } from "./store-command.js";

export const SILENCE_USAGE = `Usage: npm run silence -- <command> [options]

Mute matching alerts while a run (or the processor Lambda) keeps going: no restart, no redeploy.
A running local runner picks a change up within a second; the processor at its next invocation
(at most SILENCE_POLL_S later, default 30 s). Muted alerts are recorded in the history.

Commands:
  add                     add a silence
    --matcher KEY=VALUE   repeatable; KEY is service, type, entity or severity; every one must match
    --for DURATION        how long (90m, 2h, 1d; at most 30d)
    --reason TEXT         why (shown in list and in the history); required
    --by NAME             who (default: the login name)
  list                    silences, newest first (--all includes ended and expired ones)
  expire ID               end a silence now

Output:
  --json                  machine-readable output
  -h, --help              this help

${STORE_USAGE}

Example:
  npm run silence -- add --matcher service=api --matcher type=high_cpu --for 2h --reason "load test"`;

const OPTIONS = {
  ...STORE_OPTIONS,
  matcher: { type: "string", multiple: true },
  for: { type: "string" },
  reason: { type: "string" },
  by: { type: "string" },
  all: { type: "boolean" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** Longest silence: a forgotten silence hides real pages, so it has to be renewed on purpose. */
const MAX_SILENCE_MS = 30 * 86_400_000;

function whoAmI(env: NodeJS.ProcessEnv): string {
  try {
    return env.USER || userInfo().username || "unknown";
  } catch {
    return "unknown";
  }
}

const rfc3339 = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const toJson = (s: SilenceRecord) => ({
  ...s,
  startsAt: rfc3339(s.startsAtMs),
  endsAt: rfc3339(s.endsAtMs),
  expiredAt: rfc3339(s.expiredAtMs),
});

/** `npm run silence`: returns the exit code. */
export function silenceMain(argv: readonly string[], io: CliIo): Promise<number> {
  const now = io.now ?? Date.now;
  return runStoreCommand(argv, io, {
    options: OPTIONS,
    usage: SILENCE_USAGE,
    async run(v, command, rest, openStore) {
      if (command === "add") {
        if (rest.length > 0) throw new SettingsError(`unexpected "${rest[0]}"`);
        const matchers = parseMatchers(v.matcher ?? []);
        if (!matchers.ok) throw new SettingsError(matchers.error);
        if (v.for === undefined) throw new SettingsError("add needs --for DURATION (for example --for 2h)");
        const forMs = parseDuration(v.for);
        if (forMs === null)
          throw new SettingsError(`--for must be a duration such as 90m, 2h or 1d, got "${v.for}"`);
        if (forMs > MAX_SILENCE_MS)
          throw new SettingsError("--for is at most 30d; renew a longer silence on purpose");
        const reason = v.reason?.trim() ?? "";
        if (reason === "")
          throw new SettingsError(
            'add needs --reason "why" (it is shown to whoever wonders why an alert is quiet)',
          );
        const startsAtMs = now();
        const silence: SilenceRecord = {
          id: `s-${randomBytes(4).toString("hex")}`,
          matchers: matchers.matchers,
          startsAtMs,
          endsAtMs: startsAtMs + forMs,
          reason,
          createdBy: v.by?.trim() || whoAmI(io.env),
          expiredAtMs: null,
        };
        const store = openStore();
        await store.putSilence(silence);
        io.stdout.write(
          v.json
            ? `${JSON.stringify(toJson(silence), null, 2)}\n`
            : `Silence ${silence.id} active until ${rfc3339(silence.endsAtMs)}.\nEnd it early with: npm run silence -- expire ${silence.id}\n`,
        );
        return 0;
      }
      if (command === "list") {
        if (rest.length > 0) throw new SettingsError(`unexpected "${rest[0]}"`);
        const store = openStore();
        const nowMs = now();
        const all = await store.listSilences();
        const shown = v.all ? all : all.filter((s) => silenceActive(s, nowMs) || s.startsAtMs > nowMs);
        io.stdout.write(
          v.json ? `${JSON.stringify(shown.map(toJson), null, 2)}\n` : `${formatSilences(shown, nowMs)}\n`,
        );
        return 0;
      }
      if (command === "expire") {
        if (rest.length !== 1) throw new SettingsError("expire needs one silence ID (see list)");
        const store = openStore();
        const expired = await store.expireSilence(rest[0] as string, now());
        if (expired === null) {
          io.stderr.write(`error: no silence ${rest[0]}\n`);
          return 3;
        }
        io.stdout.write(
          v.json ? `${JSON.stringify(toJson(expired), null, 2)}\n` : `Silence ${expired.id} expired.\n`,
        );
        return 0;
      }
      throw new SettingsError(`unknown command "${command}" (add, list, expire)`);
    },
  });
}
