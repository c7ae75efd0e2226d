import { appendFileSync } from "node:fs";
import type { AuditRecord } from "../shared/remediation/types.js";

/** Append audit records to `path` as JSON lines (one record per line, in causal order). */
export function appendAuditRecords(path: string, records: readonly AuditRecord[]): void {
  if (records.length === 0) return;
  appendFileSync(path, `${records.map((record) => JSON.stringify(record)).join("\n")}\n`);
}
