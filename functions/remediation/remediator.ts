import { randomUUID } from "node:crypto";
import type { ScheduledEvent, SNSEvent } from "aws-lambda";
import type { Notification } from "../../shared/alerts/types.js";
import type { RemediationConfig } from "../../shared/config/types.js";
import { fnv1a32 } from "../../shared/hash.js";
import { actionRecord, incidentId, outcomeRecord, skipRecord } from "../../shared/remediation/audit.js";
import { RemediationEngine } from "../../shared/remediation/engine.js";
import type {
  AuditRecord,
  ExecutionResult,
  Executor,
  RemediationAction,
  RemediationDecision,
} from "../../shared/remediation/types.js";
import { notificationTimeProblem, type TimeBounds } from "../../shared/remediation/validate.js";
import { parseAlertMessage } from "../aws/sns.js";
import { CONFLICT } from "../aws/state.js";
import { emfLine } from "../lambda/log.js";
import type { StatefulHandlerOptions } from "../lambda/options.js";
import { isScheduledTick } from "../lambda/schedule.js";

interface RemediatorState {
  engine: unknown;
  /** Alert fingerprint -> firing, from the notifications seen; the outcome check asks it. */
  firing: Record<string, boolean>;
  /** Action id -> an action decided and claimed whose result is not recorded yet. */
  intents?: Record<string, Intent>;
}

/**
 * An action between its decision and its recorded result (docs/lambda.md, "Remediation"). Written in
 * the same conditional write as the decision that claims it; removed by the write that records the
 * result. One left behind (the invocation died) is run by the next tick after its lease ends.
 */
export interface Intent {
  action: RemediationAction;
  /** The notification's event time at the decision: the engine records the result at this time. */
  decidedAtMs: number;
  /** Held by every retry of this intent, so a retry passes the action claim the first run took. */
  token: string;
  /** Wall time the invocation running it ends; until then nobody else runs it. */
  leaseUntilMs: number;
  /** Runs started (the first, then tick retries). */
  attempts: number;
}

/** What a Lambda context gives the remediator: the time left, which bounds an intent's lease. */
export interface InvocationContext {
  getRemainingTimeInMillis(): number;
}

/** A tick gives up on an intent after this many runs that never recorded a result. */
const MAX_INTENT_ATTEMPTS = 3;

export interface RemediatorOptions extends StatefulHandlerOptions {
  config: RemediationConfig;
  executor: Executor;
  /** Wall clock, for claim and audit TTLs only; the policy runs on the notification's event time. */
  now?: () => number;
  /** How long an action id stays claimed (at least SNS's redelivery horizon). */
  claimTtlS?: number;
  auditTtlS?: number;
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
  /** Intents a tick took over from an invocation that died before recording their result. */
  retried: number;
  audit: AuditRecord[];
}

/** Fingerprints tracked for the outcome check; the oldest are forgotten beyond this. */
const MAX_TRACKED_FINGERPRINTS = 10_000;

/**
 * Remediation for SNS deliveries, in three writes per action (docs/lambda.md, "Remediation"):
 * 1. the decision and the action's intent, in one conditional write of the state (the engine's
 *    duplicate guard is part of it, so winning the write claims the action; a lost race redoes the
 *    notification on the winner's state, having done nothing);
 * 2. the action's claim item (by action id, with the intent's token; it outlives the state, so a
 *    redelivery after the state was lost still finds it), then the action;
 * 3. the result, in a conditional write redone on the newer state after a lost race, so the
 *    audit record, the outcome check and the ban record are never lost.
 * The minute tick runs intents left without a result (the invocation died) once their lease ends.
 */
export class Remediator {
  private live: Live | null = null;
  private readonly now: () => number;
  private readonly stateKey: string;
  private readonly timeBounds: TimeBounds;

  constructor(private readonly options: RemediatorOptions) {
    this.now = options.now ?? Date.now;
    this.stateKey = options.stateKey ?? "remediation";
    this.timeBounds = { ...DEFAULT_TIME_BOUNDS, ...options.timeBounds };
  }

  async handle(event: SNSEvent | ScheduledEvent, context?: InvocationContext): Promise<RemediationSummary> {
    const summary: RemediationSummary = {
      records: 0,
      invalid: 0,
      acted: 0,
      failed: 0,
      skipped: 0,
      duplicates: 0,
      outcomes: 0,
      retried: 0,
      audit: [],
    };
    // An intent taken in this invocation is ours until the invocation's deadline (plus a second).
    const leaseUntilMs =
      this.now() +
      Math.max(0, context?.getRemainingTimeInMillis() ?? this.options.defaultRemainingMs ?? 60_000) +
      1_000;
    if (isScheduledTick(event)) {
      // No notification may come for a while: outcome checks that fell due run on the schedule, and
      // so do intents an invocation left without a result.
      await this.dropLiveOnError(() =>
        this.tick(this.now() - (this.options.allowedLatenessMs ?? 60_000), leaseUntilMs, summary),
      );
      return this.finish(summary, {
        ticks: 1,
        outcomes: summary.outcomes,
        intents_retried: summary.retried,
        actions: summary.acted,
        action_failures: summary.failed,
      });
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
      await this.dropLiveOnError(() => this.handleNotification(message.notification, leaseUntilMs, summary));
    }
    return this.finish(summary, {
      notifications: summary.records - summary.invalid,
      invalid: summary.invalid,
      actions: summary.acted,
      action_failures: summary.failed,
      skipped: summary.skipped,
      duplicates: summary.duplicates,
    });
  }

  /** The live engine may hold decisions that were not saved: a failure drops it, so the retry reloads. */
  private async dropLiveOnError(work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.live = null;
      throw error;
    }
  }

  /** Write the invocation's audit entries, then its one metric line. */
  private async finish(
    summary: RemediationSummary,
    metrics: Record<string, number>,
  ): Promise<RemediationSummary> {
    for (const entry of summary.audit) await this.writeAudit(entry);
    this.options.writeMetrics(emfLine("remediation", metrics, this.now()));
    return summary;
  }

  private async handleNotification(
    n: Notification,
    leaseUntilMs: number,
    summary: RemediationSummary,
  ): Promise<void> {
    const maxRetries = this.options.maxConflictRetries ?? 5;
    let mine: Intent[] = [];
    for (let attempt = 1; ; attempt++) {
      const state = await this.current();
      const audit: AuditRecord[] = [];
      const counts = { skipped: 0, outcomes: 0 };
      const nowMs = n.atMs;
      for (const alert of n.alerts) state.firing[alert.fingerprint] = alert.status === "firing";
      trimFiring(state.firing);

      mine = [];
      for (const decision of state.engine.decide(n, nowMs)) {
        if (decision.kind === "skip") {
          counts.skipped++;
          audit.push(skipRecord(this.incidentOf(n, decision), decision, nowMs));
          continue;
        }
        const intent: Intent = {
          action: decision.action,
          decidedAtMs: nowMs,
          token: randomUUID(),
          leaseUntilMs,
          attempts: 1,
        };
        state.intents[intent.action.id] = intent;
        mine.push(intent);
      }
      for (const outcome of state.engine.dueOutcomes(nowMs, (fp) => state.firing[fp] === true)) {
        counts.outcomes++;
        audit.push(outcomeRecord(outcome));
      }
      // Write 1: decision and intents. Nothing has been done yet, so a lost race simply redoes it.
      if (!(await this.save(state))) {
        if (attempt >= maxRetries)
          throw new Error(`state ${this.stateKey}: lost ${attempt} write races in a row`);
        continue;
      }
      summary.skipped += counts.skipped;
      summary.outcomes += counts.outcomes;
      summary.audit.push(...audit);
      break;
    }
    await this.runIntents(mine, summary);
  }

  /** Claim, act, record: writes 2 and 3 for intents this invocation holds. */
  private async runIntents(intents: readonly Intent[], summary: RemediationSummary): Promise<void> {
    if (intents.length === 0) return;
    const results = new Map<string, { intent: Intent; result: ExecutionResult | "duplicate" }>();
    for (const intent of intents) {
      const { action } = intent;
      const claimed = await this.options.store.claim(
        `action#${action.id}`,
        this.options.claimTtlS ?? 7 * 24 * 3600,
        this.now(),
        intent.token,
      );
      if (!claimed) {
        // Another delivery acted for this episode under a state this one does not know (lost state).
        results.set(action.id, { intent, result: "duplicate" });
        continue;
      }
      const result = await this.options.executor.execute(action);
      this.options.logger.info("remediation action", { action, result });
      results.set(action.id, { intent, result });
    }
    await this.recordResults(results, summary);
  }

  /**
   * Write 3: each result into the engine (outcome check, ban record) and the audit, the intent
   * removed. Redone on the newer state after a lost race: what was done is never forgotten.
   */
  private async recordResults(
    results: ReadonlyMap<string, { intent: Intent; result: ExecutionResult | "duplicate" }>,
    summary: RemediationSummary,
  ): Promise<void> {
    const maxRetries = this.options.maxConflictRetries ?? 5;
    for (let attempt = 1; ; attempt++) {
      const state = await this.current();
      const audit: AuditRecord[] = [];
      const counts = { acted: 0, failed: 0, duplicates: 0 };
      for (const [id, { intent, result }] of results) {
        const stored = state.intents[id];
        // Gone, or another run's (a tick took it over after our lease ended): not ours to record.
        if (stored === undefined || stored.token !== intent.token) continue;
        delete state.intents[id];
        const { action } = intent;
        if (result === "duplicate") {
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
              intent.decidedAtMs,
            ),
          );
          continue;
        }
        state.engine.recordResult(action, result, intent.decidedAtMs);
        if (result.status === "ok") counts.acted++;
        else counts.failed++;
        audit.push(actionRecord(action, result));
      }
      if (!(await this.save(state))) {
        if (attempt >= maxRetries) {
          // The intents stay; the tick after their lease runs them again (the claim lets it).
          throw new Error(`state ${this.stateKey}: lost ${attempt} write races in a row recording results`);
        }
        continue;
      }
      summary.acted += counts.acted;
      summary.failed += counts.failed;
      summary.duplicates += counts.duplicates;
      summary.audit.push(...audit);
      return;
    }
  }

  /** Conditional save of the whole remediator state; false on a lost race (the live copy is dropped). */
  private async save(state: Live): Promise<boolean> {
    const saved = await this.options.store.save<RemediatorState>(
      this.stateKey,
      { engine: state.engine.snapshot(), firing: state.firing, intents: state.intents },
      state.version,
      this.now(),
    );
    if (saved === CONFLICT) {
      this.live = null;
      return false;
    }
    this.live = { ...state, version: saved };
    return true;
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

  /**
   * The minute tick: outcome checks due by `nowMs`, and intents whose lease ended without a result
   * (the invocation died between intent and result). Taking one over is itself a conditional write,
   * so two ticks never both run it; after MAX_INTENT_ATTEMPTS runs it is recorded as failed.
   */
  private async tick(nowMs: number, leaseUntilMs: number, summary: RemediationSummary): Promise<void> {
    const maxRetries = this.options.maxConflictRetries ?? 5;
    const wallMs = this.now();
    let taken: Intent[] = [];
    for (let attempt = 1; ; attempt++) {
      const state = await this.current();
      const stale = Object.values(state.intents).filter((i) => i.leaseUntilMs <= wallMs);
      if (state.engine.nextDueMs() > nowMs && stale.length === 0) return;
      const audit: AuditRecord[] = [];
      let abandoned = 0;
      taken = [];
      for (const intent of stale) {
        if (intent.attempts >= MAX_INTENT_ATTEMPTS) {
          delete state.intents[intent.action.id];
          const result: ExecutionResult = {
            status: "error",
            error: `abandoned: ${intent.attempts} runs ended without recording a result`,
          };
          state.engine.recordResult(intent.action, result, intent.decidedAtMs);
          audit.push(actionRecord(intent.action, result));
          abandoned++;
          continue;
        }
        const next: Intent = { ...intent, leaseUntilMs, attempts: intent.attempts + 1 };
        state.intents[intent.action.id] = next;
        taken.push(next);
      }
      const outcomes = state.engine
        .dueOutcomes(nowMs, (fp) => state.firing[fp] === true)
        .map((outcome) => outcomeRecord(outcome));
      if (!(await this.save(state))) {
        if (attempt >= maxRetries)
          throw new Error(`state ${this.stateKey}: lost ${attempt} write races in a row`);
        continue;
      }
      if (taken.length > 0 || abandoned > 0) {
        this.options.logger.warn("running remediation intents left without a result", {
          retried: taken.map((i) => ({ actionId: i.action.id, attempt: i.attempts })),
          abandoned,
        });
      }
      summary.failed += abandoned;
      summary.retried += taken.length;
      summary.outcomes += outcomes.length;
      summary.audit.push(...audit, ...outcomes);
      break;
    }
    await this.runIntents(taken, summary);
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

  private async current(): Promise<Live> {
    const storedVersion = await this.options.store.version(this.stateKey);
    if (this.live !== null && this.live.version === storedVersion) return this.copy(this.live);
    const engine = new RemediationEngine(this.options.config);
    const stored = await this.options.store.load<RemediatorState>(this.stateKey);
    if (stored === null) return { engine, firing: {}, intents: {}, version: null };
    const intents = readIntents(stored.value.intents);
    try {
      engine.restore(stored.value.engine);
    } catch (error) {
      this.options.logger.error(
        "stored remediation state unreadable; starting clean (claims still prevent repeats)",
        {
          error,
        },
      );
      return {
        engine: new RemediationEngine(this.options.config),
        firing: {},
        intents,
        version: stored.version,
      };
    }
    return { engine, firing: { ...stored.value.firing }, intents, version: stored.version };
  }

  /**
   * A working copy of the live state: a write that loses its race must leave nothing behind in
   * the live copy (the next attempt reloads, and so must a later invocation on this instance).
   */
  private copy(live: Live): Live {
    const engine = new RemediationEngine(this.options.config);
    engine.restore(live.engine.snapshot());
    return {
      engine,
      firing: { ...live.firing },
      intents: structuredClone(live.intents),
      version: live.version,
    };
  }
}

interface Live {
  engine: RemediationEngine;
  firing: Record<string, boolean>;
  intents: Record<string, Intent>;
  version: number | null;
}

/** Intents from the stored state; anything malformed is left out (its claim still guards it). */
function readIntents(value: unknown): Record<string, Intent> {
  const out: Record<string, Intent> = {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) return out;
  for (const [id, raw] of Object.entries(value as Record<string, unknown>)) {
    const i = raw as Partial<Intent> | null;
    if (
      typeof i === "object" &&
      i !== null &&
      typeof i.action?.id === "string" &&
      i.action.id === id &&
      typeof i.decidedAtMs === "number" &&
      typeof i.token === "string" &&
      typeof i.leaseUntilMs === "number" &&
      typeof i.attempts === "number"
    )
      out[id] = i as Intent;
  }
  return out;
}

function trimFiring(firing: Record<string, boolean>): void {
  const keys = Object.keys(firing);
  for (let i = 0; i < keys.length - MAX_TRACKED_FINGERPRINTS; i++) delete firing[keys[i] as string];
}

/** FNV-1a, so two records of one stage at the same instant get distinct, stable sort keys. */
function stableHash(text: string): string {
  return fnv1a32(text).toString(16).padStart(8, "0");
}
