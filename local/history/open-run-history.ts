import { describeError } from "../../shared/sinks/fanout.js";
import type { RunOptions } from "../args.js";
import { RunHistory } from "./run-history.js";
import { SqliteHistoryStore } from "./sqlite-store.js";

/**
 * The runner's history, or null with --no-history. A file that cannot be opened (permissions, a
 * full disk, a file that is not SQLite) is reported and the run goes on without history: losing
 * the record is bad, losing the run is worse.
 */
export function openRunHistory(options: RunOptions, warn: (line: string) => void): RunHistory | null {
  if (options.historyPath === null) return null;
  try {
    const store = new SqliteHistoryStore(options.historyPath);
    return new RunHistory(store, options.historyPath, { warn });
  } catch (error) {
    warn(`alert history ${options.historyPath} not opened (${describeError(error)}); running without it`);
    return null;
  }
}
