import { awsClientSettings } from "../../functions/aws/client.js";
import { DynamoHistoryStore } from "../../functions/aws/history.js";
import { createDynamoClient } from "../../functions/aws/state.js";
import type { Env } from "../../functions/lambda/env.js";
import { SettingsError } from "../../shared/errors.js";
import type { HistoryStore } from "../../shared/history/types.js";
import { defaultHistoryPath } from "./paths.js";
import { SqliteHistoryStore } from "./sqlite-store.js";

/** The flags every history command shares: which store to read. */
export const STORE_OPTIONS = {
  db: { type: "string" },
  table: { type: "string" },
  region: { type: "string" },
  endpoint: { type: "string" },
  "retention-days": { type: "string" },
} as const;

export const STORE_USAGE = `Store (default: the local SQLite file the runner writes):
  --db FILE               the SQLite history file (default ${defaultHistoryPath()})
  --table NAME            read the DynamoDB history table instead (Terraform output history_table_name)
  --region REGION         AWS region for --table (default AWS_REGION)
  --endpoint URL          AWS endpoint for --table, e.g. an emulator (default AWS_ENDPOINT_URL)
  --retention-days N      SQLite: incidents older than this are deleted on open (default 30)`;

export interface StoreFlags {
  db?: string | undefined;
  table?: string | undefined;
  region?: string | undefined;
  endpoint?: string | undefined;
  "retention-days"?: string | undefined;
}

export function openHistoryStore(flags: StoreFlags, env: Env): HistoryStore {
  if (flags.table !== undefined) {
    if (flags.db !== undefined) throw new SettingsError("--db and --table are alternatives: give one");
    const merged: Record<string, string | undefined> = { ...env };
    if (flags.region !== undefined) merged.AWS_REGION = flags.region;
    if (flags.endpoint !== undefined) merged.AWS_ENDPOINT_URL = flags.endpoint;
    try {
      return new DynamoHistoryStore({
        client: createDynamoClient(awsClientSettings(merged)),
        tableName: flags.table,
      });
    } catch (error) {
      if (error instanceof SettingsError)
        throw new SettingsError(`${error.message} (or pass --region)`, { cause: error });
      throw error;
    }
  }
  if (flags.region !== undefined || flags.endpoint !== undefined) {
    throw new SettingsError("--region and --endpoint only apply with --table");
  }
  let retentionDays: number | undefined;
  if (flags["retention-days"] !== undefined) {
    retentionDays = Number(flags["retention-days"]);
    if (!Number.isFinite(retentionDays) || retentionDays < 1) {
      throw new SettingsError(
        `--retention-days must be a number of days >= 1, got "${flags["retention-days"]}"`,
      );
    }
  }
  return new SqliteHistoryStore(flags.db ?? defaultHistoryPath(env as NodeJS.ProcessEnv), { retentionDays });
}
