import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { AlertType, Notification } from "../../shared/alerts/types.js";
import type { PipelineConfig } from "../../shared/config/types.js";
import { SourceReader } from "../../shared/ingest/sources.js";
import type { IngestResult } from "../../shared/ingest/types.js";
import type { RejectReason } from "../../shared/log/schema.js";
import { INGEST_RUN, Pipeline, type PipelineSnapshot } from "../../shared/pipeline.js";
import type { Sink, SinkResult } from "../../shared/sinks/sink.js";
import { clip, decodeAwsLogsEvent, type PayloadRejectReason } from "../aws/awslogs.js";
import { type DeadLetterQueue, LogDeadLetterQueue } from "../aws/dead-letter.js";
import { CONFLICT, type StateStore } from "../aws/state.js";
import {
  decodeState,
  EMPTY_BASE,
  encodeState,
  type LayoutBase,
  MissingItemError,
} from "../aws/state-layout.js";
import { emfLine } from "../lambda/log.js";
import type { StatefulHandlerOptions } from "../lambda/options.js";
import { isScheduledTick } from "../lambda/schedule.js";
import type { ProcessorHistory } from "./history.js";
import { Outbox, type OutboxEntry, type OutboxSnapshot } from "./outbox.js";

/** What the processor keeps between invocations. */
export interface ProcessorState {
  pipeline: PipelineSnapshot;
  /**
   * The transactional outbox (./outbox.ts): notifications decided and saved with the state that
   * decided them, not yet published. Its own field, changed by the mark-sent write alone.
   */
  outbox: OutboxSnapshot;
  /** Memory of the format adapters per log group (sshd connections), see shared/ingest/sources.ts. */
  inputs?: unknown;
}

export interface ProcessorOptions extends StatefulHandlerOptions {
  config: PipelineConfig;
  sink: Sink;
  /**
   * Wall clock: metric timestamps, storage TTLs, the bound on future-dated events and the tick's
   * target (wall time minus the allowed lateness). Detection itself runs on event time.
   */
  now?: () => number;
  /** Outbox bound: beyond it the oldest notifications go to `deadLetters` in full. */
  maxOutbox?: number;
  /** Where notifications go that leave the outbox unpublished (default: logged in full). */
  deadLetters?: DeadLetterQueue;
  /**
   * Time kept back from the publish budget for the saves after it (the mark-sent write and its
   * conflict retries); at most half of the invocation's remaining time. Default 5 s.
   */
  saveReserveMs?: number;
  /** Monotonic milliseconds for the budget (default performance.now). */
  clock?: () => number;
  /**
   * Save the state at most this often (wall time) when nothing but windows changed; 0 saves after
   * every invocation. A cold start then loses up to this much window history, in exchange for far
   * fewer (state-sized) DynamoDB writes. Notifications and a non-empty outbox always save at once.
   */
  minSaveIntervalMs?: number;
  /** Alert history and run-time silences (DynamoDB); off when absent. */
  history?: ProcessorHistory;
}

export interface ProcessorOutcome {
  /** `tick`: the schedule's invocation that lets time pass without logs (docs/lambda.md). */
  kind: "data" | "control" | "rejected_payload" | "tick";
  payloadRejectReason?: PayloadRejectReason;
  logEvents: number;
  accepted: number;
  rejected: Partial<Record<RejectReason, number>>;
  /** Accepted lines older than their log stream's clock minus the allowed lateness. */
  late: number;
  /** The event time the pipeline has reached after this invocation. */
  clockMs: number | null;
  /** New firing episodes per alert type in this batch. */
  alertsFired: Partial<Record<AlertType, number>>;
  notifications: number;
  published: number;
  spooled: number;
  /** Sent to the dead-letter queue (outbox full, or refused by SNS for good). */
  deadLettered: number;
  /** Dropped with only a log line: the outbox is past twice its bound and the dead-letter queue fails too. */
  dropped: number;
  /** Why publishing stopped before the outbox was empty: an outage-like failure, or the time budget. */
  publishStopped: "outage" | "budget" | null;
  stateVersion: number | null;
  /**
   * The version this batch's decision was saved as (before the mark-sent write): the conditional
   * writes put concurrent invocations in this order. Null when the save was deferred.
   */
  decidedVersion: number | null;
  /** False when the save was deferred (minSaveIntervalMs). */
  stateSaved: boolean;
  conflicts: number;
}

interface Live {
  pipeline: Pipeline;
  version: number | null;
  outbox: Outbox;
  reader: SourceReader;
  /** What the last save wrote (null: not saved by this instance); the mark-sent write reuses it. */
  saved: ProcessorState | null;
}

/** What a Lambda context gives the processor: the time left before the function's timeout. */
export interface InvocationContext {
  getRemainingTimeInMillis(): number;
}

interface Budget {
  /** Monotonic time publishing must stop by. */
  publishEndsAt: number;
  /** Wall time the invocation ends: the outbox leases run until then. */
  wallEndsMs: number;
}

/**
 * After a lost write race, wait a random 0..25·2^(attempt-1) ms (full jitter, I/O layer only): the
 * winner, warm, would otherwise win every following race against a loser that must reload first.
 */
async function conflictBackoff(attempt: number): Promise<void> {
  await sleep(Math.round(Math.random() * 25 * 2 ** Math.min(attempt - 1, 4)));
}

/** Below this much publish time an invocation does not start publishing (nor lease anything). */
const MIN_PUBLISH_MS = 50;

interface RejectSample {
  id: string | null;
  reason: RejectReason;
  detail: string;
}

interface BatchResult {
  accepted: number;
  rejected: Partial<Record<RejectReason, number>>;
  samples: RejectSample[];
  late: number;
}

/** Everything after the first few rejected lines is only counted, so a flood cannot flood the logs. */
const REJECT_SAMPLES_LOGGED = 3;

/**
 * The processor's logic, independent of the Lambda event plumbing: decode a subscription payload,
 * run the shared pipeline on its lines, publish what it decides, keep the state.
 *
 * Delivery is a transactional outbox (docs/lambda.md, "Delivery"): the notifications a batch decided
 * are saved with the state in one conditional write, and only then published, oldest first, within
 * the invocation's publish budget; a second write marks them sent. A lost race publishes nothing
 * (the batch is redone on the winner's state). A crash between publish and mark is the only way to
 * publish twice; every message carries its `notification_id` so subscribers drop repeats. The first
 * outage-like failure (5xx, throttling, timeout, network) stops publishing: the rest stays spooled.
 */
export class Processor {
  private live: Live | null = null;
  private readonly now: () => number;
  private readonly stateKey: string;
  private readonly maxOutbox: number;
  private readonly maxConflictRetries: number;
  private readonly minSaveIntervalMs: number;
  private readonly deadLetters: DeadLetterQueue;
  private readonly clock: () => number;
  private lastSavedAtMs = Number.NEGATIVE_INFINITY;
  /** What the stored version this instance last saved or loaded holds (state-layout.ts). */
  private layoutBase: LayoutBase = EMPTY_BASE;
  private layoutVersion: number | null = null;

  constructor(private readonly options: ProcessorOptions) {
    this.now = options.now ?? Date.now;
    this.stateKey = options.stateKey ?? "processor";
    this.maxOutbox = options.maxOutbox ?? 1000;
    this.maxConflictRetries = options.maxConflictRetries ?? 5;
    this.minSaveIntervalMs = options.minSaveIntervalMs ?? 0;
    this.deadLetters = options.deadLetters ?? new LogDeadLetterQueue(options.logger);
    this.clock = options.clock ?? (() => performance.now());
  }

  /**
   * One invocation. `context` (the Lambda context) sets the publish budget: the remaining time
   * minus the reserve for saving; without it, `defaultRemainingMs`.
   */
  async handle(event: unknown, context?: InvocationContext): Promise<ProcessorOutcome> {
    try {
      return await this.process(event, this.budget(context));
    } catch (error) {
      // The live pipeline may hold this batch without it being saved; Lambda's retry re-sends the
      // batch, so drop the live copy and start the retry from the stored state.
      this.live = null;
      throw error;
    }
  }

  private budget(context?: InvocationContext): Budget {
    const remaining = Math.max(
      0,
      context?.getRemainingTimeInMillis() ?? this.options.defaultRemainingMs ?? 60_000,
    );
    const reserve = Math.min(this.options.saveReserveMs ?? 5_000, remaining / 2);
    return { publishEndsAt: this.clock() + remaining - reserve, wallEndsMs: this.now() + remaining };
  }

  private async process(event: unknown, budget: Budget): Promise<ProcessorOutcome> {
    const outcome: ProcessorOutcome = {
      kind: "data",
      logEvents: 0,
      accepted: 0,
      rejected: {},
      late: 0,
      clockMs: null,
      alertsFired: {},
      notifications: 0,
      published: 0,
      spooled: 0,
      deadLettered: 0,
      dropped: 0,
      publishStopped: null,
      stateVersion: null,
      decidedVersion: null,
      stateSaved: false,
      conflicts: 0,
    };
    if (isScheduledTick(event)) {
      // No logs: let event time run to wall time minus the allowed lateness, so group waits,
      // repeats, no-data resolves and silence expiries happen even while every service is quiet.
      outcome.kind = "tick";
      const targetMs = this.now() - this.options.config.time.allowed_lateness_s * 1000;
      await this.run(outcome, budget, (pipeline) => {
        pipeline.advance(targetMs);
        return { accepted: 0, rejected: {}, samples: [], late: 0 };
      });
      return outcome;
    }
    const decoded = decodeAwsLogsEvent(event);
    if (!decoded.ok) {
      // Not retried: the same bytes would fail the same way forever.
      this.options.logger.error("rejected CloudWatch Logs subscription payload", {
        reason: decoded.reason,
        detail: decoded.detail,
      });
      outcome.kind = "rejected_payload";
      outcome.payloadRejectReason = decoded.reason;
      this.emit(outcome);
      return outcome;
    }
    const data = decoded.data;
    if (data.messageType === "CONTROL_MESSAGE") {
      // CloudWatch sends one when the subscription is created, to check the destination is reachable.
      this.options.logger.info("control message", {
        logGroup: typeof data.logGroup === "string" ? clip(data.logGroup) : null,
        logStream: typeof data.logStream === "string" ? clip(data.logStream) : null,
      });
      outcome.kind = "control";
      this.emit(outcome);
      return outcome;
    }
    const invalidEvents = decoded.invalidEvents;
    outcome.logEvents = data.logEvents.length + invalidEvents.length;
    // Each log stream keeps its own clock: a host whose clock is off is judged against its own past.
    const source = `${data.logGroup}/${data.logStream}`;
    const result = await this.run(outcome, budget, (pipeline, reader) => {
      const rejected: Partial<Record<RejectReason, number>> = {};
      const samples: RejectSample[] = [];
      let accepted = 0;
      const lateBefore = pipeline.stats.late;
      const reject = (id: string | null, reason: RejectReason, detail: string) => {
        rejected[reason] = (rejected[reason] ?? 0) + 1;
        if (samples.length < REJECT_SAMPLES_LOGGED) samples.push({ id, reason, detail });
      };
      // Entries without a message string were set aside by the decoder: refused on their own.
      for (const invalid of invalidEvents) reject(invalid.id, "wrong_type", invalid.detail);
      const recordId = (logEvent: { id?: unknown }) =>
        typeof logEvent.id === "string" ? clip(logEvent.id) : null;
      const processRead = (logEvent: { id?: unknown }, read: IngestResult) => {
        if (read.status === "event") {
          const admission = pipeline.admit(read.event, source);
          for (const ready of admission.ready) pipeline.process(ready);
          const future = admission.future.find((f) => f.event === read.event);
          if (future === undefined) accepted++;
          else reject(recordId(logEvent), "timestamp_in_future", future.detail);
        } else if (read.status === "rejected") {
          pipeline.stats.rejected[read.reason] = (pipeline.stats.rejected[read.reason] ?? 0) + 1;
          reject(recordId(logEvent), read.reason, read.detail);
        }
      };
      // A run of records is read, then processed: each stage's code then stays hot in the CPU's
      // instruction cache for the whole run (see Pipeline.ingestLines). Reading depends on no
      // pipeline state, so the outcome is the same as record by record.
      for (let from = 0; from < data.logEvents.length; from += INGEST_RUN) {
        const run = data.logEvents.slice(from, from + INGEST_RUN);
        // Each log group is read in its configured format (config `sources`; `auto` otherwise).
        const reads = run.map((logEvent) =>
          reader.read(logEvent.message, data.logGroup, data.logStream, logEvent.timestamp),
        );
        for (const [index, logEvent] of run.entries()) processRead(logEvent, reads[index] as IngestResult);
      }
      if (accepted > 0) pipeline.advance(pipeline.nowMs);
      return { accepted, rejected, samples, late: pipeline.stats.late - lateBefore };
    });
    const rejectedTotal = Object.values(result.rejected).reduce((sum, n) => sum + (n ?? 0), 0);
    if (rejectedTotal > 0) {
      this.options.logger.warn("rejected log lines", {
        rejected: result.rejected,
        samples: result.samples,
        logGroup: typeof data.logGroup === "string" ? clip(data.logGroup) : null,
        logStream: typeof data.logStream === "string" ? clip(data.logStream) : null,
      });
    }
    return outcome;
  }

  /**
   * Apply `work` to the current pipeline and save the state with what it decided in the outbox
   * (one conditional write; on a lost race, reload and redo, having published nothing); then
   * publish the outbox within the budget and mark what went out.
   */
  private async run(
    outcome: ProcessorOutcome,
    budget: Budget,
    work: (pipeline: Pipeline, reader: SourceReader) => BatchResult,
  ): Promise<BatchResult> {
    const owner = randomUUID();
    for (let attempt = 1; ; attempt++) {
      const state = await this.current();
      await this.options.history?.beforeBatch(state.pipeline);
      const firedBefore = { ...state.pipeline.stats.alertsByType };
      state.pipeline.setWallClock(this.now());
      const { accepted, rejected, samples, late } = work(state.pipeline, state.reader);
      const findings = state.pipeline.takeFindings();
      const fresh = state.pipeline.takeNotifications();
      const outbox = state.outbox.clone();
      outbox.add(fresh, this.now());
      // Lease what this invocation will try to publish, in the same write: a concurrent invocation
      // that loads this version leaves these alone until our deadline.
      const canPublish = budget.publishEndsAt - this.clock() >= MIN_PUBLISH_MS;
      const mine = canPublish ? outbox.lease(owner, this.now(), budget.wallEndsMs) : [];

      const deferSave =
        state === this.live &&
        state.saved !== null &&
        fresh.length === 0 &&
        mine.length === 0 &&
        this.now() - this.lastSavedAtMs < this.minSaveIntervalMs;
      const value: ProcessorState = deferSave
        ? (state.saved as ProcessorState)
        : { pipeline: state.pipeline.snapshot(), outbox: outbox.snapshot(), inputs: state.reader.snapshot() };
      // Windows (detectors, models, clocks) save at most every minSaveIntervalMs; between those
      // full saves, a decision (notifications, leases) is a partial save of the alert state and
      // the outbox only (functions/aws/state-layout.ts).
      const full = state !== this.live || this.now() - this.lastSavedAtMs >= this.minSaveIntervalMs;
      const saved = deferSave ? state.version : await this.saveValue(value, state.version, !full);
      if (saved === CONFLICT) {
        outcome.conflicts++;
        this.live = null;
        if (attempt >= this.maxConflictRetries) {
          // Fail the invocation: Lambda's async retry (and then its dead-letter queue) keeps the batch.
          this.emit(outcome);
          throw new Error(
            `state ${this.stateKey}: lost ${attempt} write races in a row; giving up on this batch`,
          );
        }
        this.options.logger.warn("state changed underneath (concurrent invocation); redoing the batch", {
          attempt,
        });
        await conflictBackoff(attempt);
        continue;
      }
      if (!deferSave && full) this.lastSavedAtMs = this.now();
      this.live = {
        pipeline: state.pipeline,
        version: saved,
        outbox,
        reader: state.reader,
        saved: value,
      };

      // The decision is durable: now deliver it.
      const delivery = await this.deliver(outbox, mine, budget);
      await this.options.history?.afterBatch(findings, delivery.sent, state.pipeline.takeMuted());
      let dropped: OutboxEntry[] = [];
      if (mine.length > 0) {
        try {
          dropped = await this.markSent(owner, delivery.done, delivery.failed);
        } catch (error) {
          // The batch is saved: failing the invocation now would make Lambda redo it and count its
          // lines twice. The entries stay leased until our deadline, then the next invocation
          // publishes what went out again (same notification_id, dropped by subscribers).
          this.live = null;
          this.options.logger.error("outbox not marked sent (state store failing); repeats possible", {
            error,
            published: delivery.done.size,
          });
        }
      }

      const clockMs = state.pipeline.nowMs;
      const alertsFired: Partial<Record<AlertType, number>> = {};
      for (const [type, count] of Object.entries(state.pipeline.stats.alertsByType) as [
        AlertType,
        number,
      ][]) {
        const fired = count - (firedBefore[type] ?? 0);
        if (fired > 0) alertsFired[type] = fired;
      }
      Object.assign(outcome, {
        accepted,
        rejected,
        late,
        clockMs: Number.isFinite(clockMs) ? clockMs : null,
        alertsFired,
        notifications: fresh.length,
        published: delivery.published,
        spooled: this.live?.outbox.size ?? outbox.size - delivery.done.size - dropped.length,
        deadLettered: delivery.deadLettered,
        dropped: dropped.length,
        publishStopped: delivery.stopped,
        stateVersion: this.live?.version ?? saved,
        decidedVersion: deferSave ? null : saved,
        stateSaved: !deferSave,
      });
      this.emit(outcome);
      return { accepted, rejected, samples, late };
    }
  }

  /**
   * Publish the leased entries, oldest first, until the budget ends or SNS fails in a way that
   * looks like an outage. The oldest beyond the outbox bound go to the dead-letter queue first; a
   * notification SNS refuses for good (not an outage) goes there too, so one bad message never
   * blocks the ones behind it.
   */
  private async deliver(
    outbox: Outbox,
    mine: OutboxEntry[],
    budget: Budget,
  ): Promise<{
    done: Set<string>;
    failed: Set<string>;
    published: number;
    deadLettered: number;
    stopped: "outage" | "budget" | null;
    sent: { notification: Notification; sink: string; result: SinkResult }[];
  }> {
    const done = new Set<string>();
    const failed = new Set<string>();
    const sent: { notification: Notification; sink: string; result: SinkResult }[] = [];
    let published = 0;
    let deadLettered = 0;
    const leased = new Set(mine.map((e) => e.notification.id));
    const timeLeft = () => budget.publishEndsAt - this.clock();

    for (const entry of outbox.overflow(this.maxOutbox)) {
      if (!leased.has(entry.notification.id) || timeLeft() < MIN_PUBLISH_MS) continue;
      const ok = await this.deadLetter(entry, "outbox_full", undefined, timeLeft());
      if (ok) {
        done.add(entry.notification.id);
        deadLettered++;
      }
    }
    for (const entry of mine) {
      const id = entry.notification.id;
      if (done.has(id)) continue;
      const left = timeLeft();
      if (left < MIN_PUBLISH_MS) {
        return { done, failed, published, deadLettered, stopped: "budget", sent };
      }
      const result = await this.publishWithin(entry.notification, left);
      sent.push({ notification: entry.notification, sink: this.options.sink.name, result });
      if (result.status === "ok") {
        done.add(id);
        published++;
        continue;
      }
      if (result.status === "error") {
        // Refused for this message (too large, malformed): waiting will not help.
        this.options.logger.error("SNS refused the notification; sending it to the dead-letter queue", {
          notificationId: id,
          error: result.error,
        });
        if (await this.deadLetter(entry, "rejected", result.error, timeLeft())) {
          done.add(id);
          deadLettered++;
        } else failed.add(id);
        continue;
      }
      failed.add(id);
      // The full notification goes to the log the first time it fails: even if the outbox is
      // later lost (memory state, cold start), the alert is on record.
      this.options.logger.error("alert not published, kept in the outbox; publishing stops here", {
        notificationId: id,
        sinkStatus: result.status,
        error: result.error,
        spooled: mine.length - done.size,
        ...(entry.attempts === 0 ? { notification: entry.notification } : {}),
      });
      const stopped = timeLeft() < MIN_PUBLISH_MS ? "budget" : "outage";
      return { done, failed, published, deadLettered, stopped, sent };
    }
    return { done, failed, published, deadLettered, stopped: null, sent };
  }

  /** One publish, cut off when the budget ends even if the sink ignores the abort signal. */
  private async publishWithin(notification: Notification, ms: number): Promise<SinkResult> {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<SinkResult>((resolve) => {
      timer = setTimeout(() => {
        controller.abort();
        resolve({ status: "retryable", error: "TimeoutError: publish budget spent" });
      }, ms);
    });
    try {
      return await Promise.race([
        this.options.sink.send(notification, { signal: controller.signal }).catch(
          (error: unknown): SinkResult => ({
            status: "retryable",
            error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
          }),
        ),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async deadLetter(
    entry: OutboxEntry,
    reason: "outbox_full" | "rejected",
    error: string | undefined,
    ms: number,
  ): Promise<boolean> {
    const signal = AbortSignal.timeout(Math.max(1, Math.floor(ms)));
    return await this.deadLetters.send(
      {
        reason,
        notification: entry.notification,
        attempts: entry.attempts,
        addedAtMs: entry.addedAtMs,
        ...(error === undefined ? {} : { error }),
      },
      signal,
    );
  }

  /**
   * The mark-sent write: remove what went out, count the failures, release this invocation's leases.
   * It only names notification ids, so after a lost race it is redone on the newer state (whose
   * pipeline it leaves as it is). Returns what had to be dropped past twice the outbox bound.
   */
  private async markSent(
    owner: string,
    done: ReadonlySet<string>,
    failed: ReadonlySet<string>,
  ): Promise<OutboxEntry[]> {
    for (let attempt = 1; ; attempt++) {
      const storedVersion = await this.options.store.version(this.stateKey, { consistent: false });
      const live = this.live;
      let base: ProcessorState;
      let outbox: Outbox;
      let version: number | null;
      if (live !== null && live.saved !== null && isCurrent(live.version, storedVersion)) {
        base = live.saved;
        outbox = live.outbox;
        version = live.version;
      } else {
        const stored = await this.loadValue();
        if (stored === null) return [];
        base = stored.value;
        outbox = Outbox.restore(stored.value.outbox, this.now()).outbox;
        version = stored.version;
        this.live = null;
      }
      const next = outbox.clone();
      next.settle(owner, done, failed);
      const dropped = next.trim(this.maxOutbox * 2);
      for (const entry of dropped) {
        this.options.logger.error("outbox past twice its bound and the dead-letter queue failing: dropped", {
          notification: entry.notification,
        });
      }
      const value: ProcessorState = { ...base, outbox: next.snapshot() };
      // Only the outbox changed: a partial save.
      const saved = await this.saveValue(value, version, true);
      if (saved !== CONFLICT) {
        if (this.live !== null) Object.assign(this.live, { version: saved, outbox: next, saved: value });
        return dropped;
      }
      this.live = null;
      await conflictBackoff(attempt);
      if (attempt >= this.maxConflictRetries) {
        // The published ones stay leased until our deadline, then another invocation publishes
        // them again: subscribers drop the repeats by notification_id.
        this.options.logger.warn("outbox not marked after repeated write races; repeats possible", {
          attempt,
          published: done.size,
        });
        return [];
      }
    }
  }

  /** The live pipeline when it is still the stored version; otherwise a fresh one restored from the store. */
  private async current(): Promise<Live> {
    const storedVersion = await this.options.store.version(this.stateKey, { consistent: false });
    if (this.live !== null && isCurrent(this.live.version, storedVersion)) return this.live;
    const pipeline = this.newPipeline();
    const reader = new SourceReader(this.options.config.sources);
    const stored = await this.loadValue();
    if (stored === null) return { pipeline, version: null, outbox: Outbox.empty(), reader, saved: null };
    const restored = Outbox.restore(stored.value.outbox, this.now());
    if (restored.unreadable > 0) {
      this.options.logger.error("unreadable outbox entries left out", { unreadable: restored.unreadable });
    }
    const outbox = restored.outbox;
    reader.restore(stored.value.inputs);
    try {
      pipeline.restore(stored.value.pipeline);
    } catch (error) {
      // A snapshot this version cannot read (an upgrade changed the format): start clean rather
      // than fail every invocation; the next save overwrites it.
      this.options.logger.error("stored pipeline state unreadable; starting with empty windows", { error });
      return { pipeline: this.newPipeline(), version: stored.version, outbox, reader, saved: null };
    }
    const limitMs = this.now() + this.options.config.time.max_future_skew_s * 1000;
    if (pipeline.nowMs > limitMs) {
      // Saved by a version that let a future-dated line move the clock: every window would stay
      // blind until the wall clock caught up (possibly year 9999). The outbox is kept.
      this.options.logger.error(
        "stored pipeline clock is ahead of the wall clock; starting with empty windows",
        {
          storedClock: new Date(Math.min(pipeline.nowMs, 8.64e15)).toISOString(),
        },
      );
      return { pipeline: this.newPipeline(), version: stored.version, outbox, reader, saved: null };
    }
    return { pipeline, version: stored.version, outbox, reader, saved: stored.value };
  }

  /**
   * Save through the item layout: only items the stored version lacks are written, superseded
   * ones deleted. `partial`: the windows stay as stored; only the alert state and the outbox are
   * written (see URGENT_PATHS). The layout base is that of the version this instance last saved or
   * loaded; a save on any other version first reads that version's base.
   */
  private async saveValue(
    value: ProcessorState,
    expectedVersion: number | null,
    partial: boolean,
  ): Promise<number | typeof CONFLICT> {
    if (this.layoutVersion !== expectedVersion) {
      const stored = expectedVersion === null ? null : await this.loadValue();
      if (stored !== null && stored.version !== expectedVersion) return CONFLICT;
      if (stored === null) {
        this.layoutBase = EMPTY_BASE;
        this.layoutVersion = expectedVersion;
      }
    }
    const usePartial = partial && this.layoutBase.tree !== null;
    // A partial save reads only the urgent parts: serialising every model for it would be waste.
    const input = usePartial ? { pipeline: { alerts: value.pipeline.alerts }, outbox: value.outbox } : value;
    const encoded = encodeState(input, this.layoutBase, { urgentOnly: usePartial });
    const saved = await this.options.store.saveItems(
      this.stateKey,
      { root: encoded.root, put: encoded.put, delete: encoded.delete, expectedVersion },
      this.now(),
    );
    if (saved !== CONFLICT) {
      this.layoutBase = encoded.base;
      this.layoutVersion = saved;
    }
    return saved;
  }

  private async loadValue(): Promise<{ value: ProcessorState; version: number } | null> {
    const stored = await loadProcessorState(this.options.store, this.stateKey);
    if (stored === null) return null;
    this.layoutBase = stored.base;
    this.layoutVersion = stored.version;
    return stored;
  }

  private newPipeline(): Pipeline {
    // On Lambda the wall clock bounds event time: a line dated ahead of it is refused.
    return new Pipeline({ config: this.options.config, timeReference: "wall" });
  }

  /**
   * EMF metrics of one invocation: first one record per rejection reason (`rejected_lines` by
   * `Reason`) and per alert type that started firing (`alerts_fired` by `AlertType`), for the
   * dashboard's breakdowns; then the totals record, always last.
   */
  private emit(outcome: ProcessorOutcome): void {
    const nowMs = this.now();
    for (const [reason, count] of Object.entries(outcome.rejected)) {
      if (count) {
        this.options.writeMetrics(
          emfLine("processor", { rejected_lines: count }, nowMs, {}, { dimension: "Reason", value: reason }),
        );
      }
    }
    for (const [type, count] of Object.entries(outcome.alertsFired)) {
      if (count) {
        this.options.writeMetrics(
          emfLine("processor", { alerts_fired: count }, nowMs, {}, { dimension: "AlertType", value: type }),
        );
      }
    }
    const rejectedLines = Object.values(outcome.rejected).reduce((sum, n) => sum + (n ?? 0), 0);
    this.options.writeMetrics(
      emfLine(
        "processor",
        {
          events: outcome.accepted,
          rejected: rejectedLines,
          late: outcome.late,
          timestamp_in_future: outcome.rejected.timestamp_in_future ?? 0,
          ticks: outcome.kind === "tick" ? 1 : 0,
          payloads_rejected: outcome.kind === "rejected_payload" ? 1 : 0,
          alerts: outcome.notifications,
          published: outcome.published,
          spooled: outcome.spooled,
          dead_lettered: outcome.deadLettered,
          state_conflicts: outcome.conflicts,
        },
        nowMs,
      ),
    );
  }
}

/**
 * The stored processor state: the item layout (head root, then its items level by level). A
 * writer that commits while this reads may delete items the old root named: read again from the
 * new head. A head from before the item layout (one gzipped value in chunks) is read whole; the
 * next save writes the item layout.
 */
export async function loadProcessorState(
  store: StateStore,
  key: string,
): Promise<{ value: ProcessorState; version: number; base: LayoutBase } | null> {
  for (let attempt = 1; ; attempt++) {
    const head = await store.loadRoot(key);
    if (head === null) {
      const legacy = await store.load<ProcessorState>(key);
      return legacy === null ? null : { ...legacy, base: EMPTY_BASE };
    }
    try {
      const decoded = await decodeState(head.root, (names) => store.getItems(key, names));
      return { value: decoded.value as ProcessorState, version: head.version, base: decoded.base };
    } catch (error) {
      if (!(error instanceof MissingItemError) || attempt >= 3) throw error;
    }
  }
}

/**
 * Whether a live copy at `live` is current given a version check that may come from a replica
 * (eventually consistent, half the read cost): versions only grow, so a stored version behind the
 * live one is a read that has not caught up with this instance's own save. A copy that is stale
 * after all loses the conditional save and is redone.
 */
function isCurrent(live: number | null, stored: number | null): boolean {
  return live === stored || (live !== null && stored !== null && stored < live);
}
