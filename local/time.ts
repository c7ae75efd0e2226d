import type { LogEvent } from "../shared/log/schema.js";
import { type AdmitResult, DEFAULT_SOURCE, type Pipeline, TICK_MS } from "../shared/pipeline.js";
import type { Responder } from "./responder.js";

/**
 * How far a replay runs on past its last line at most, waiting for what is due (group waits,
 * resolves, outcome checks). Everything the defaults schedule settles within minutes; the bound only
 * guards against a detector that never goes idle.
 */
export const MAX_SETTLE_MS = 7 * 24 * 3600 * 1000;

/**
 * Drives the pipeline's event time for the local runner and hands every tick to the responder, so
 * notifications, remediation and outcome checks happen at the event time they are due, in order,
 * however far apart the lines are: a gap of 93 s is 93 ticks of 1 s (idle stretches are skipped in
 * one step when nothing can change). Calls are serialised, so a wall-clock ticker (live and follow
 * modes) can call `advanceTo` while lines are being read.
 */
export class TimeDriver {
  private queue: Promise<unknown> = Promise.resolve();
  /** Oldest and newest event time processed; null before the first. */
  firstEventMs: number | null = null;
  lastEventMs: number | null = null;

  constructor(
    private readonly pipeline: Pipeline,
    private readonly responder: Responder,
  ) {}

  /** Admit one line from `source`; the events it releases are processed, each after the ticks due before it. */
  line(line: string, source: string = DEFAULT_SOURCE): Promise<AdmitResult> {
    return this.serial(async () => {
      const result = this.pipeline.admitLine(line, source);
      if (result.admission !== null) await this.processAll(result.admission.ready);
      return result;
    });
  }

  /** Let event time run to `targetMs` with no new line (an idle tick). */
  advanceTo(targetMs: number): Promise<void> {
    return this.serial(() => this.run(targetMs));
  }

  /**
   * The input ended: process lines still held for confirmation, then let time run on until nothing
   * more is due (groups sent, alerts resolved, outcomes checked). Returns the event time reached.
   */
  finish(): Promise<number> {
    return this.serial(async () => {
      await this.processAll(this.pipeline.endOfStream());
      const start = this.pipeline.nowMs;
      if (!Number.isFinite(start)) return start;
      const limit = start + MAX_SETTLE_MS;
      for (;;) {
        const wake = this.responder.nextDueMs();
        if (this.pipeline.idle() && wake === Number.POSITIVE_INFINITY) break;
        // Outcome checks run at the first tick at or after their due time.
        const target = this.pipeline.idle()
          ? Math.ceil(wake / TICK_MS) * TICK_MS
          : this.pipeline.nextTickAtMs;
        if (target > limit) break;
        await this.run(target);
      }
      return this.pipeline.nowMs;
    });
  }

  private async processAll(events: readonly LogEvent[]): Promise<void> {
    for (const event of events) {
      await this.run(event.timeMs);
      this.pipeline.process(event);
      if (this.firstEventMs === null || event.timeMs < this.firstEventMs) this.firstEventMs = event.timeMs;
      if (this.lastEventMs === null || event.timeMs > this.lastEventMs) this.lastEventMs = event.timeMs;
    }
  }

  private async run(targetMs: number): Promise<void> {
    for (;;) {
      const at = this.pipeline.step(targetMs, this.responder.nextDueMs());
      if (at === null) break;
      await this.responder.handle(at);
    }
    if (this.pipeline.nextTickAtMs !== Number.NEGATIVE_INFINITY) this.pipeline.advance(targetMs);
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work);
    this.queue = next.catch(() => {});
    return next;
  }
}

export interface WallTicker {
  stop(): void;
}

/**
 * Live and follow modes: while no line arrives, advance event time with the wall clock (minus the
 * allowed lateness, so lines still in flight are not late) every `intervalMs`.
 */
export function startWallTicker(
  driver: TimeDriver,
  options: { wallNow: () => number; latenessMs: number; intervalMs?: number },
): WallTicker {
  const timer = setInterval(() => {
    void driver.advanceTo(options.wallNow() - options.latenessMs);
  }, options.intervalMs ?? 1000);
  timer.unref?.();
  return { stop: () => clearInterval(timer) };
}
