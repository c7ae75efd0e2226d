import type { AlertType, Notification } from "../../shared/alerts/types.js";
import type { PipelineConfig } from "../../shared/config/types.js";
import { SourceReader } from "../../shared/ingest/sources.js";
import type { RejectReason } from "../../shared/log/schema.js";
import { Pipeline, type PipelineSnapshot } from "../../shared/pipeline.js";
import type { Sink, SinkResult } from "../../shared/sinks/sink.js";
import { clip, decodeAwsLogsEvent, type PayloadRejectReason } from "../aws/awslogs.js";
import { CONFLICT, type StateStore } from "../aws/state.js";
import { emfLine, type Logger } from "../lambda/log.js";
import { isScheduledTick } from "../lambda/schedule.js";
import type { ProcessorHistory } from "./history.js";

/** What the processor keeps between invocations. */
export interface ProcessorState {
  pipeline: PipelineSnapshot;
  /** Notifications decided but not yet published (SNS was unreachable): the spool. */
  outbox: Notification[];
  /** Memory of the format adapters per log group (sshd connections), see shared/ingest/sources.ts. */
  inputs?: unknown;
}

export interface ProcessorOptions {
  config: PipelineConfig;
  store: StateStore;
  sink: Sink;
  logger: Logger;
  /** Where EMF metric lines go (stdout in Lambda). */
  writeMetrics: (line: string) => void;
  /**
   * Wall clock: metric timestamps, storage TTLs, the bound on future-dated events and the tick's
   * target (wall time minus the allowed lateness). Detection itself runs on event time.
   */
  now?: () => number;
  stateKey?: string;
  /** Spool bound: beyond it the oldest spooled notification is logged in full and dropped. */
  maxOutbox?: number;
  /** Save attempts when concurrent invocations race on the state. */
  maxConflictRetries?: number;
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
  dropped: number;
  stateVersion: number | null;
  /** False when the save was deferred (minSaveIntervalMs). */
  stateSaved: boolean;
  conflicts: number;
}

interface Live {
  pipeline: Pipeline;
  version: number | null;
  outbox: Notification[];
  reader: SourceReader;
}

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
 * Delivery: publish first, then save the state with a conditional write. A crash in between means
 * the retry recomputes the same notifications (same ids) and publishes them again: at least once.
 * A publish that fails after bounded retries keeps the notification in the state's outbox; the next
 * invocation tries again. A lost race (another instance saved first) reloads and redoes the batch.
 */
export class Processor {
  private live: Live | null = null;
  private readonly now: () => number;
  private readonly stateKey: string;
  private readonly maxOutbox: number;
  private readonly maxConflictRetries: number;
  private readonly minSaveIntervalMs: number;
  private lastSavedAtMs = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: ProcessorOptions) {
    this.now = options.now ?? Date.now;
    this.stateKey = options.stateKey ?? "processor";
    this.maxOutbox = options.maxOutbox ?? 1000;
    this.maxConflictRetries = options.maxConflictRetries ?? 5;
    this.minSaveIntervalMs = options.minSaveIntervalMs ?? 0;
  }

  async handle(event: unknown): Promise<ProcessorOutcome> {
    try {
      return await this.process(event);
    } catch (error) {
      // The live pipeline may hold this batch without it being saved; Lambda's retry re-sends the
      // batch, so drop the live copy and start the retry from the stored state.
      this.live = null;
      throw error;
    }
  }

  private async process(event: unknown): Promise<ProcessorOutcome> {
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
      dropped: 0,
      stateVersion: null,
      stateSaved: false,
      conflicts: 0,
    };
    if (isScheduledTick(event)) {
      // No logs: let event time run to wall time minus the allowed lateness, so group waits,
      // repeats, no-data resolves and silence expiries happen even while every service is quiet.
      outcome.kind = "tick";
      const targetMs = this.now() - this.options.config.time.allowed_lateness_s * 1000;
      await this.run(outcome, (pipeline) => {
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
    const result = await this.run(outcome, (pipeline, reader) => {
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
      for (const logEvent of data.logEvents) {
        const id = typeof logEvent.id === "string" ? clip(logEvent.id) : null;
        // Each log group is read in its configured format (config `sources`; `auto` otherwise).
        const read = reader.read(logEvent.message, data.logGroup, data.logStream, logEvent.timestamp);
        if (read.status === "event") {
          const admission = pipeline.admit(read.event, source);
          for (const ready of admission.ready) pipeline.process(ready);
          const future = admission.future.find((f) => f.event === read.event);
          if (future === undefined) accepted++;
          else reject(id, "timestamp_in_future", future.detail);
        } else if (read.status === "rejected") {
          pipeline.stats.rejected[read.reason] = (pipeline.stats.rejected[read.reason] ?? 0) + 1;
          reject(id, read.reason, read.detail);
        }
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
   * Apply `work` to the current pipeline, publish what it decided (and any spooled notifications),
   * save the state; on a lost write race, reload and redo it.
   */
  private async run(
    outcome: ProcessorOutcome,
    work: (pipeline: Pipeline, reader: SourceReader) => BatchResult,
  ): Promise<BatchResult> {
    const published = new Set<string>();
    for (let attempt = 1; ; attempt++) {
      const state = await this.current();
      await this.options.history?.beforeBatch(state.pipeline);
      const firedBefore = { ...state.pipeline.stats.alertsByType };
      state.pipeline.setWallClock(this.now());
      const { accepted, rejected, samples, late } = work(state.pipeline, state.reader);
      const findings = state.pipeline.takeFindings();
      const fresh = state.pipeline.takeNotifications();
      const queue = [...state.outbox, ...fresh];

      const remaining: Notification[] = [];
      const sent: { notification: Notification; sink: string; result: SinkResult }[] = [];
      for (const notification of queue) {
        if (published.has(notification.id)) continue;
        const result = await this.options.sink.send(notification);
        sent.push({ notification, sink: this.options.sink.name, result });
        if (result.status === "ok") {
          published.add(notification.id);
          continue;
        }
        remaining.push(notification);
        const first = !state.outbox.some((n) => n.id === notification.id);
        // The full notification goes to the log the first time it is spooled: even if the spool is
        // later lost (memory state, cold start), the alert is on record.
        this.options.logger.error("alert not published, kept in the outbox", {
          notificationId: notification.id,
          sinkStatus: result.status,
          error: result.error,
          ...(first ? { notification } : {}),
        });
      }
      await this.options.history?.afterBatch(findings, sent, state.pipeline.takeSilenced());
      let dropped = 0;
      while (remaining.length > this.maxOutbox) {
        const oldest = remaining.shift();
        dropped++;
        this.options.logger.error("outbox full: oldest alert dropped from the spool", {
          notification: oldest,
        });
      }

      const deferSave =
        state === this.live &&
        fresh.length === 0 &&
        remaining.length === 0 &&
        state.outbox.length === 0 &&
        this.now() - this.lastSavedAtMs < this.minSaveIntervalMs;
      const saved = deferSave
        ? state.version
        : await this.options.store.save<ProcessorState>(
            this.stateKey,
            { pipeline: state.pipeline.snapshot(), outbox: remaining, inputs: state.reader.snapshot() },
            state.version,
            this.now(),
          );
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
        continue;
      }
      if (!deferSave) this.lastSavedAtMs = this.now();
      this.live = { pipeline: state.pipeline, version: saved, outbox: remaining, reader: state.reader };
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
        published: published.size,
        spooled: remaining.length,
        dropped,
        stateVersion: saved,
        stateSaved: !deferSave,
      });
      this.emit(outcome);
      return { accepted, rejected, samples, late };
    }
  }

  /** The live pipeline when it is still the stored version; otherwise a fresh one restored from the store. */
  private async current(): Promise<Live> {
    const storedVersion = await this.options.store.version(this.stateKey);
    if (this.live !== null && this.live.version === storedVersion) return this.live;
    const pipeline = this.newPipeline();
    const reader = new SourceReader(this.options.config.sources);
    const stored = await this.options.store.load<ProcessorState>(this.stateKey);
    if (stored === null) return { pipeline, version: null, outbox: [], reader };
    reader.restore(stored.value.inputs);
    try {
      pipeline.restore(stored.value.pipeline);
    } catch (error) {
      // A snapshot this version cannot read (an upgrade changed the format): start clean rather
      // than fail every invocation; the next save overwrites it.
      this.options.logger.error("stored pipeline state unreadable; starting with empty windows", { error });
      return { pipeline: this.newPipeline(), version: stored.version, outbox: [], reader };
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
      return {
        pipeline: this.newPipeline(),
        version: stored.version,
        outbox: Array.isArray(stored.value.outbox) ? stored.value.outbox : [],
        reader,
      };
    }
    return {
      pipeline,
      version: stored.version,
      outbox: Array.isArray(stored.value.outbox) ? stored.value.outbox : [],
      reader,
    };
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
          state_conflicts: outcome.conflicts,
        },
        nowMs,
      ),
    );
  }
}
