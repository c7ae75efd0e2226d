import { homedir } from "node:os";
import { join } from "node:path";

/**
 * Where the history lives when no file is given: `$CLOUD_OBSERVABILITY_DATA/history.sqlite`, else
 * `$XDG_DATA_HOME/cloud-observability/history.sqlite`, else `~/.local/share/cloud-observability/...`.
 * The folder is created on first use.
 */
export function defaultHistoryPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir =
    env.CLOUD_OBSERVABILITY_DATA ||
    join(env.XDG_DATA_HOME || join(homedir(), ".local", "share"), "cloud-observability");
  return join(dir, "history.sqlite");
}
