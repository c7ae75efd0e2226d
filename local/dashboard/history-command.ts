import { parseArgs } from "node:util";
import type { HistoryStore } from "../../shared/history/types.js";
import { defaultHistoryPath } from "../history/paths.js";
import { SqliteHistoryStore } from "../history/sqlite-store.js";
import { type HistoryDashboard, startHistoryDashboard } from "./history.js";

export const DASHBOARD_USAGE = `Usage: npm run dashboard -- [options]

The dashboard over the recorded alert history (what \`npm run local\` writes): firing and recent
incidents with their timelines (fired, notified per sink, silenced, inhibited, actions, resolved),
alerts per type per hour over the last 7 days, and the silences in force. The silence button
(needs the token printed at start) writes the silence into the history, where running
\`npm run local\` picks it up. The page re-reads the file every 2 s.

Options:
  --history FILE   the SQLite history file (default ${defaultHistoryPath()})
  --port N         port (default 8787; 0 picks a free one)
  --host H         address to listen on (default 127.0.0.1; 0.0.0.0 exposes it to the network)
  --help           this text

DASHBOARD_TOKEN sets the silence token (at least 16 characters) instead of a random one.`;

export interface DashboardCliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: NodeJS.ProcessEnv;
}

/** Parses the flags, opens the store and starts serving; null (after printing why) when it cannot. */
export async function dashboardMain(
  argv: readonly string[],
  io: DashboardCliIo,
): Promise<{ code: number; dashboard: HistoryDashboard | null; store: HistoryStore | null }> {
  let values: { history?: string; port?: string; host?: string; help?: boolean };
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        history: { type: "string" },
        port: { type: "string" },
        host: { type: "string" },
        help: { type: "boolean" },
      },
      strict: true,
    }).values;
  } catch (error) {
    io.stderr.write(`error: ${(error as Error).message}\n\nRun with --help for the options.\n`);
    return { code: 2, dashboard: null, store: null };
  }
  if (values.help) {
    io.stdout.write(`${DASHBOARD_USAGE}\n`);
    return { code: 0, dashboard: null, store: null };
  }
  const port = values.port === undefined ? 8787 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    io.stderr.write(`error: --port must be a port number 0..65535, got "${values.port}"\n`);
    return { code: 2, dashboard: null, store: null };
  }
  const token = io.env.DASHBOARD_TOKEN?.trim() || undefined;
  if (token !== undefined && token.length < 16) {
    io.stderr.write("error: DASHBOARD_TOKEN must be at least 16 characters\n");
    return { code: 2, dashboard: null, store: null };
  }
  const host = values.host ?? "127.0.0.1";
  const path = values.history ?? defaultHistoryPath(io.env);
  let store: HistoryStore | null = null;
  try {
    store = new SqliteHistoryStore(path);
    const dashboard = await startHistoryDashboard({ store, host, port, token });
    io.stdout.write(`dashboard: history ${path}\n`);
    io.stdout.write(`dashboard: ${dashboard.url}#token=${dashboard.token}\n`);
    io.stdout.write(
      `dashboard: silence token ${dashboard.token} (the link above carries it; or send "Authorization: Bearer TOKEN")\n`,
    );
    return { code: 0, dashboard, store };
  } catch (error) {
    await store?.close().catch(() => {});
    const code = (error as NodeJS.ErrnoException).code;
    io.stderr.write(
      `error: cannot serve the dashboard on ${host}:${port} over ${path}: ${code ?? (error as Error).message}\n`,
    );
    return { code: 2, dashboard: null, store: null };
  }
}
