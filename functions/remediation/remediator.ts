import type { ScheduledEvent, SNSEvent } from "aws-lambda";
import type { Notification } from "../../shared/alerts/types.js";
import type { RemediationConfig } from "../../shared/config/types.js";
import { fnv1a32 } from "../../shared/hash.js";
import { actionRecord, incidentId, outcomeRecord, skipRecord } from "../../shared/remediation/audit.js";
import { RemediationEngine } from "../../shared/remediation/engine.js";
import type { AuditRecord, Executor, RemediationDecision } from "../../shared/remediation/types.js";
import { notificationTimeProblem, type TimeBounds } from "../../shared/remediation/validate.js";
import { parseAlertMessage } from "../aws/sns.js";
import { CONFLICT, type StateStore } from "../aws/state.js";
import { emfLine, type Logger } from "../lambda/log.js";
import { isScheduledTick } from "../lambda/schedule.js";

interface RemediatorState {
  engine: unknown;
  /** Alert fingerprint -> firing, from the notifications seen; the outcome check asks it. */
  firing: Record<string, boolean>;
}

export interface RemediatorOptions {
  config: RemediationConfig;
  store: StateStore;
  executor: Executor;
  logger: Logger;
  writeMetrics: (line: string) => void;
  /** Wall clock, for claim and audit TTLs only; the policy runs on the notification's event time. */
  now?: () => number;
  stateKey?: string;
  /** How long an action id stays claimed (at least SNS's redelivery horizon). */
  claimTtlS?: number;
  auditTtlS?: number;
  maxConflictRetries?: number;
  /** Notifications dated further ahead of the wall clock, or older, are refused (`impossible_time`). */
  timeBounds?: Partial<TimeBounds>;
  /**
   * The schedule's tick runs outcome checks due by wall time minus this (the processor's allowed
   * lateness, so the resolve notification of an alert that did resolve has had time to arrive).
   */
  allowedLatenessMs?: number;
}

/** Five minutes of clock skew between the processor's log timestamps and this function's clock. */
export const DEFAULT_TIME_BOUNDS: TimeBounds = { maxFutureSkewMs: 5 * 60_000, maxAgeMs: 24 * 3_600_000 };

export interface RemediationSummary {
  records: number;
  invalid: number;
  acted: number;
  failed: number;
  skipped: number;
  duplicates: number;
  outcomes: number;
  audit: AuditRecord[];
}

/** Fingerprints tracked for the outcome check; the oldest are forgotten beyond this. */
const MAX_TRACKED_FINGERPRINTS = 10_000;

/**
 * Remediation for SNS deliveries. SNS delivers at least once, so every action is claimed in the
 * state store by its id (alert fingerprint + episode start) before it runs: a second delivery, even
 * to a cold instance, finds the claim and records a `duplicate` skip instead of acting again.
 */
export class Remediator {
  private live: {
    engine: RemediationEngine;
    firing: Record<string, boolean>;
    version: number | null;
  } | null = null;
  private readonly now: () => number;
  private readonly stateKey: string;
  private readonly timeBounds: TimeBounds;

  constructor(private readonly options: RemediatorOptions) {
    this.now = options.now ?? Date.now;
    this.stateKey = options.stateKey ?? "remediation";
    this.timeBounds = { ...DEFAULT_TIME_BOUNDS, ...options.timeBounds };
  }

  async handle(event: SNSEvent | ScheduledEvent): Promise<RemediationSummary> {
    const summary: RemediationSummary = {
      records: 0,
      invalid: 0,
      acted: 0,
      failed: 0,
      skipped: 0,
      duplicates: 0,
      outcomes: 0,
      audit: [],
    };
    if (isScheduledTick(event)) {
      // No notification may come for a while: outcome checks that fell due run on the schedule.
      try {
        await this.checkDueOutcomes(this.now() - (this.options.allowedLatenessMs ?? 60_000), summary);
      } catch (error) {
        this.live = null;
        throw error;
      }
      for (const entry of summary.audit) await this.writeAudit(entry);
      this.options.writeMetrics(emfLine("remediation", { ticks: 1, outcomes: summary.outcomes }, this.now()));
      return summary;
    }
    const records = this.recordsOf(event);
    for (const record of records) {
      summary.records++;
      const message = parseAlertMessage(record?.Sns?.Message ?? "");
      if (message === null) {
        summary.invalid++;
        this.options.logger.error("SNS message is not an alert notification; ignored", {
          messageId: record?.Sns?.MessageId,
          topicArn: record?.Sns?.TopicArn,
        });
        continue;
      }
      const timeProblem = notificationTimeProblem(message.notification, this.now(), this.timeBounds);
      if (timeProblem !== null) {
        this.refuse(message.notification, timeProblem, summary);
        continue;
      }
      try {
        await this.handleNotification(message.notification, summary);
      } catch (error) {
        // The live engine may hold decisions that were not saved: reload it on the retry.
        this.live = null;
        throw error;
      }
    }
    for (const entry of summary.audit) await this.writeAudit(entry);
    this.options.writeMetrics(
      emfLine(
        "remediation",
        {
          notifications: summary.records - summary.invalid,
          invalid: summary.invalid,
          actions: summary.acted,
          action_failures: summary.failed,
          skipped: summary.skipped,
          duplicates: summary.duplicates,
        },
        this.now(),
      ),
    );
    return summary;
  }

  private async handleNotification(n: Notification, summary: RemediationSummary): Promise<void> {
    const executedHere = new Set<string>();
    const maxRetries = this.options.maxConflictRetries ?? 5;
    for (let attempt = 1; ; attempt++) {
      const state = await this.current();
      const audit: AuditRecord[] = [];
      const counts = { acted: 0, failed: 0, skipped: 0, duplicates: 0, outcomes: 0 };
      const nowMs = n.atMs;
      for (const alert of n.alerts) state.firing[alert.fingerprint] = alert.status === "firing";
      trimFiring(state.firing);

      for (const decision of state.engine.decide(n, nowMs)) {
        if (decision.kind === "skip") {
          counts.skipped++;
          audit.push(skipRecord(this.incidentOf(n, decision), decision, nowMs));
          continue;
        }
        const { action } = decision;
        if (!executedHere.has(action.id)) {
          const claimed = await this.options.store.claim(
            `action#${action.id}`,
            this.options.claimTtlS ?? 7 * 24 * 3600,
            this.now(),
          );
          if (!claimed) {
            // Another delivery (or instance) already acted for this episode.
            counts.duplicates++;
            audit.push(
              skipRecord(
                action.id,
                {
                  kind: "skip",
                  reason: "duplicate",
                  alertFingerprint: action.alertFingerprint,
                  alertType: action.alertType,
                  detail: `${action.type} for this episode was already claimed by an earlier delivery`,
                },
                nowMs,
              ),
            );
            continue;
          }
          executedHere.add(action.id);
          const result = await this.options.executor.execute(action);
          state.engine.recordResult(action, result, nowMs);
          if (result.status === "ok") counts.acted++;
          else counts.failed++;
          audit.push(actionRecord(action, result));
          this.options.logger.info("remediation action", { action, result });
        }
      }
      for (const outcome of state.engine.dueOutcomes(nowMs, (fp) => state.firing[fp] === true)) {
        counts.outcomes++;
        audit.push(outcomeRecord(outcome));
      }

      const saved = await this.options.store.save<RemediatorState>(
        this.stateKey,
        { engine: state.engine.snapshot(), firing: state.firing },
        state.version,
        this.now(),
      );
      if (saved === CONFLICT) {
        this.live = null;
        if (attempt >= maxRetries)
          throw new Error(`state ${this.stateKey}: lost ${attempt} write races in a row`);
        continue;
      }
      this.live = { ...state, version: saved };
      summary.acted += counts.acted;
      summary.failed += counts.failed;
      summary.skipped += counts.skipped;
      summary.duplicates += counts.duplicates;
      summary.outcomes += counts.outcomes;
      summary.audit.push(...audit);
      return;
    }
  }

  /**
   * SNS sends `Records`. A camelCase `records` (a hand-built test event, another integration) is
   * accepted with a warning rather than dropped in silence; anything else is logged as empty.
   */
  private recordsOf(event: SNSEvent | ScheduledEvent): SNSEvent["Records"] {
    const value = event as unknown as Record<string, unknown> | null;
    if (Array.isArray(value?.Records)) return value.Records as SNSEvent["Records"];
    if (Array.isArray(value?.records)) {
      this.options.logger.warn("event has `records` instead of SNS's `Records`; processing it anyway", {
        records: value.records.length,
      });
      return value.records as SNSEvent["Records"];
    }
    this.options.logger.error("event has no Records array; nothing to do", {
      keys: value !== null && typeof value === "object" ? Object.keys(value).slice(0, 10) : typeof value,
    });
    return [];
  }

  /**
   * A notification whose time cannot be right is not acted on and does not touch the engine: its
   * time would otherwise prune every cooldown or fill the breaker's window for years.
   */
  private refuse(n: Notification, problem: string, summary: RemediationSummary): void {
    this.options.logger.warn("notification refused: impossible time", { notificationId: n.id, problem });
    for (const alert of n.alerts) {
      summary.skipped++;
      summary.audit.push(
        skipRecord(
          incidentId(alert.fingerprint, alert.startsAtMs),
          {
            kind: "skip",
            reason: "impossible_time",
            alertFingerprint: alert.fingerprint,
            alertType: alert.type,
            detail: problem,
          },
          // The audit store keys records by time; the refused time itself could be anything.
          this.now(),
        ),
      );
    }
  }

  private async checkDueOutcomes(nowMs: number, summary: RemediationSummary): Promise<void> {
    const maxRetries = this.options.maxConflictRetries ?? 5;
    for (let attempt = 1; ; attempt++) {
      const state = await this.current();
      if (state.engine.nextDueMs() > nowMs) return;
      const audit = state.engine
        .dueOutcomes(nowMs, (fp) => state.firing[fp] === true)
        .map((outcome) => outcomeRecord(outcome));
      const saved = await this.options.store.save<RemediatorState>(
        this.stateKey,
        { engine: state.engine.snapshot(), firing: state.firing },
        state.version,
        this.now(),
      );
      if (saved === CONFLICT) {
        this.live = null;
        if (attempt >= maxRetries)
          throw new Error(`state ${this.stateKey}: lost ${attempt} write races in a row`);
        continue;
      }
      this.live = { ...state, version: saved };
      summary.outcomes += audit.length;
      summary.audit.push(...audit);
      return;
    }
  }

  private incidentOf(n: Notification, decision: Extract<RemediationDecision, { kind: "skip" }>): string {
    const alert = n.alerts.find((a) => a.fingerprint === decision.alertFingerprint);
    return alert ? incidentId(alert.fingerprint, alert.startsAtMs) : decision.alertFingerprint;
  }

  /** Every audit record is a structured log line, and an item in the state table when there is one. */
  private async writeAudit(record: AuditRecord): Promise<void> {
    this.options.logger.info("audit", { audit: record });
    const sort = `${String(record.atMs).padStart(15, "0")}#${record.stage}#${stableHash(JSON.stringify(record.data))}`;
    await this.options.store.putRecord(
      record.incident,
      sort,
      record,
      this.options.auditTtlS ?? 90 * 24 * 3600,
      this.now(),
    );
  }

  private async current(): Promise<{
    engine: RemediationEngine;
    firing: Record<string, boolean>;
    version: number | null;
  }> {
    const storedVersion = await this.options.store.version(this.stateKey);
    if (this.live !== null && this.live.version === storedVersion) return this.live;
    const engine = new RemediationEngine(this.options.config);
    const stored = await this.options.store.load<RemediatorState>(this.stateKey);
    if (stored === null) return { engine, firing: {}, version: null };
    try {
      engine.restore(stored.value.engine);
    } catch (error) {
      this.options.logger.error(
        "stored remediation state unreadable; starting clean (claims still prevent repeats)",
        {
          error,
        },
      );
      return { engine: new RemediationEngine(this.options.config), firing: {}, version: stored.version };
    }
    return { engine, firing: { ...stored.value.firing }, version: stored.version };
  }
}

function trimFiring(firing: Record<string, boolean>): void {
  const keys = Object.keys(firing);
  for (let i = 0; i < keys.length - MAX_TRACKED_FINGERPRINTS; i++) delete firing[keys[i] as string];
}

/** FNV-1a, so two records of one stage at the same instant get distinct, stable sort keys. */
function stableHash(text: string): string {
  return fnv1a32(text).toString(16).padStart(8, "0");
}
