import type { MutedAlert } from "../../shared/alerts/muted.js";
import type { DetectorFinding, Notification } from "../../shared/alerts/types.js";
import { HistoryEventBuilder } from "../../shared/history/from-audit.js";
import { SilenceSync } from "../../shared/history/silence-sync.js";
import type { HistoryStore } from "../../shared/history/types.js";
import type { Pipeline } from "../../shared/pipeline.js";
import { AuditTrail } from "../../shared/remediation/audit.js";
import type { SinkResult } from "../../shared/sinks/sink.js";
import type { Logger } from "../lambda/log.js";

export interface ProcessorHistoryOptions {
  store: HistoryStore;
  logger: Logger;
  /** Wall clock (silences run on it). */
  now: () => number;
  /** Wall time between two reads of the silences per warm instance (default 30 s). */
  silencePollMs?: number;
}

/**
 * The processor's link to the alert history (DynamoDB): before a batch, the run-time silences
 * (`npm run silence -- --table ...`) are put in force, read at most once per `silencePollMs`; after
 * it, the transitions, each publish and the muted alerts are recorded. A history failure is logged
 * and the batch goes on: alerts matter more than their record.
 */
export class ProcessorHistory {
  private readonly audit = new AuditTrail();
  private readonly builder = new HistoryEventBuilder();
  private readonly silences: SilenceSync;

  constructor(private readonly options: ProcessorHistoryOptions) {
    this.silences = new SilenceSync(
      () => options.store.listSilences(),
      options.now,
      options.silencePollMs ?? 30_000,
    );
  }

  async beforeBatch(pipeline: Pipeline): Promise<void> {
    try {
      const added = await this.silences.apply(pipeline);
      if (added > 0) this.options.logger.info("run-time silences applied", { added });
    } catch (error) {
      this.options.logger.warn("silences not read from the history table", { error });
    }
  }

  async afterBatch(
    findings: readonly DetectorFinding[],
    published: readonly { notification: Notification; sink: string; result: SinkResult }[],
    muted: readonly MutedAlert[],
  ): Promise<void> {
    for (const finding of findings) this.audit.detection(finding);
    for (const p of published)
      this.audit.notification(p.notification, [{ sink: p.sink, result: p.result, ms: 0 }]);
    const events = [...this.builder.fromAudit(this.audit.drain()), ...this.builder.fromMuted(muted)];
    if (events.length === 0) return;
    try {
      await this.options.store.append(events);
    } catch (error) {
      this.options.logger.error("alert history not written", { error, events: events.length });
    }
  }
}
