import type { DetectorFinding, Notification } from "../shared/alerts/types.js";
import type { ActionType, PipelineConfig } from "../shared/config/types.js";
import type { AlertEpisode } from "../shared/eval/truth.js";
import type { Pipeline } from "../shared/pipeline.js";
import { AuditTrail } from "../shared/remediation/audit.js";
import { RemediationEngine } from "../shared/remediation/engine.js";
import type { Executor, OutcomeStatus, RemediationOutcome, SkipReason } from "../shared/remediation/types.js";
import { fanOut } from "../shared/sinks/fanout.js";
import type { Sink } from "../shared/sinks/sink.js";

export interface ActionTally {
  executed: number;
  failed: number;
  outcomes: Partial<Record<OutcomeStatus, number>>;
}

export interface ResponderStats {
  notifications: number;
  sinkFailures: Record<string, number>;
  actions: Partial<Record<ActionType, ActionTally>>;
  skipped: Partial<Record<SkipReason, number>>;
  escalations: number;
}

/**
 * What happens after detection, in one process: fan notifications out to the sinks, let the
 * remediation policy decide, execute through the executor, verify outcomes and keep the audit
 * trail. On AWS the same steps are split between the processor (sinks) and remediation Lambdas.
 */
export class Responder {
  readonly stats: ResponderStats = {
    notifications: 0,
    sinkFailures: {},
    actions: {},
    skipped: {},
    escalations: 0,
  };
  /** One entry per firing episode, for the evaluation against ground truth. */
  readonly episodes: AlertEpisode[] = [];
  readonly audit = new AuditTrail();
  private readonly engine: RemediationEngine;

  constructor(
    private readonly pipeline: Pipeline,
    config: PipelineConfig,
    private readonly sinks: Sink[],
    private readonly executor: Executor,
    private readonly onEscalation: (outcome: RemediationOutcome) => void = () => {},
  ) {
    this.engine = new RemediationEngine(config.remediation);
  }

  /** When the next remediation outcome check is due (event time); +Infinity when none is pending. */
  nextDueMs(): number {
    return this.engine.nextDueMs();
  }

  /** Drain what the pipeline decided since the last call and act on it at event time `nowMs`. */
  async handle(nowMs: number): Promise<void> {
    for (const finding of this.pipeline.takeFindings()) this.recordFinding(finding);
    for (const notification of this.pipeline.takeNotifications()) await this.deliver(notification, nowMs);
    for (const outcome of this.engine.dueOutcomes(nowMs, (fp) => this.pipeline.isFiring(fp))) {
      const tally = this.tally(outcome.actionType);
      tally.outcomes[outcome.status] = (tally.outcomes[outcome.status] ?? 0) + 1;
      this.audit.outcome(outcome);
      if (outcome.status === "not_effective_escalated" || outcome.status === "failed_escalated") {
        this.stats.escalations++;
        this.onEscalation(outcome);
      }
    }
  }

  private recordFinding(finding: DetectorFinding): void {
    if (finding.status === "firing") {
      this.episodes.push({
        type: finding.type,
        service: finding.service,
        entity: finding.entity,
        startsAtMs: finding.atMs,
      });
    }
    this.audit.detection(finding);
  }

  private async deliver(notification: Notification, nowMs: number): Promise<void> {
    this.stats.notifications++;
    const reports = await fanOut(this.sinks, notification);
    for (const report of reports) {
      if (report.result.status !== "ok") {
        this.stats.sinkFailures[report.sink] = (this.stats.sinkFailures[report.sink] ?? 0) + 1;
      }
    }
    this.audit.notification(notification, reports);

    for (const decision of this.engine.decide(notification, nowMs)) {
      if (decision.kind === "skip") {
        this.stats.skipped[decision.reason] = (this.stats.skipped[decision.reason] ?? 0) + 1;
        this.audit.skip(decision, nowMs);
        continue;
      }
      const result = await this.executor.execute(decision.action);
      this.engine.recordResult(decision.action, result, nowMs);
      const tally = this.tally(decision.action.type);
      if (result.status === "ok") tally.executed++;
      else tally.failed++;
      this.audit.action(decision.action, result);
    }
  }

  private tally(type: ActionType): ActionTally {
    let tally = this.stats.actions[type];
    if (!tally) {
      tally = { executed: 0, failed: 0, outcomes: {} };
      this.stats.actions[type] = tally;
    }
    return tally;
  }
}
