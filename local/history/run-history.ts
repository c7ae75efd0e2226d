import { HistoryEventBuilder } from "../../shared/history/from-audit.js";
import { SilenceSync } from "../../shared/history/silence-sync.js";
import type { HistoryStore } from "../../shared/history/types.js";
import type { Pipeline } from "../../shared/pipeline.js";
import type { AuditRecord } from "../../shared/remediation/types.js";
import { describeError } from "../../shared/sinks/fanout.js";
import type { Responder } from "../responder.js";

export interface RunHistoryReport {
  path: string;
  events: number;
  write_failures: number;
  silences_applied: number;
}

/**
 * The local runner's link to the history store: after every step it files what the responder did
 * (the audit trail, turned into history events) and the alerts a silence muted, and it picks up
 * silences added from the command line while the run goes on. A store failure is reported once and
 * counted; the run itself goes on.
 */
export class RunHistory {
  private readonly builder = new HistoryEventBuilder();
  private readonly silences: SilenceSync;
  /** Audit records handed over as the run goes (the responder's onAudit), recorded at the next step. */
  private pendingAudit: AuditRecord[] = [];
  private warned = false;
  readonly report: RunHistoryReport;

  constructor(
    private readonly store: HistoryStore,
    path: string,
    private readonly options: {
      warn: (line: string) => void;
      wallNow?: () => number;
      /** Wall time between two reads of the silences (default 1 s). */
      silencePollMs?: number;
    },
  ) {
    this.report = { path, events: 0, write_failures: 0, silences_applied: 0 };
    this.silences = new SilenceSync(
      () => store.listSilences(),
      options.wallNow ?? Date.now,
      options.silencePollMs ?? 1000,
    );
  }

  async afterStep(responder: Responder, pipeline: Pipeline): Promise<void> {
    const records = this.pendingAudit;
    this.pendingAudit = [];
    // Whatever the responder still holds (a responder without onAudit keeps its records for drain()).
    for (const record of responder.audit.drain()) records.push(record);
    const events = [...this.builder.fromAudit(records), ...this.builder.fromMuted(pipeline.takeMuted())];
    if (events.length > 0) {
      try {
        await this.store.append(events);
        this.report.events += events.length;
      } catch (error) {
        this.report.write_failures++;
        this.warnOnce(`alert history not written (${describeError(error)}); the run goes on`);
      }
    }
    try {
      this.report.silences_applied += await this.silences.apply(pipeline);
    } catch (error) {
      this.warnOnce(`silences not read from the history store (${describeError(error)})`);
    }
  }

  collectAudit(records: readonly AuditRecord[]): void {
    for (const record of records) this.pendingAudit.push(record);
  }

  async close(): Promise<void> {
    await this.store.close();
  }

  private warnOnce(line: string): void {
    if (this.warned) return;
    this.warned = true;
    this.options.warn(line);
  }
}
