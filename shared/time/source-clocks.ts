import type { TimeConfig } from "../config/types.js";
import type { LogEvent } from "../log/schema.js";

/**
 * Where the "now" that bounds event time comes from:
 * - `wall`: the caller's wall clock (`setWallClock`), for live runs and the Lambda processor;
 * - `stream`: the stream's own progress, for a replay of old logs, where the wall clock says nothing.
 */
export type TimeReference = "wall" | "stream";

/** An event that a source's clock refused, with a human-readable why. */
export interface FutureRejection {
  event: LogEvent;
  detail: string;
}

/** What one admitted line led to: events now ready to process (in order) and lines refused. */
export interface Admission {
  /** Events to process now, oldest decision first; may hold earlier lines released by this one. */
  ready: LogEvent[];
  /** Lines found to be ahead of the source's clock by more than the allowed skew. */
  future: FutureRejection[];
  /** The line was held back: it is ahead of the stream and waits for later lines to confirm it. */
  held: boolean;
  /** The line is older than its source's clock minus the allowed lateness. */
  late: boolean;
}

/** A source's clock as plain data (kept in snapshots). */
export interface SourceClockState {
  source: string;
  clockMs: number;
  /** Replay only: lines ahead of the clock, waiting for confirmation. */
  pending: LogEvent[];
}

/**
 * In a replay, a jump ahead is believed once this many consecutive lines agree on it (each within
 * the allowed skew of the first). One or two lines far ahead of their neighbours are outliers.
 */
export const CORROBORATING_LINES = 3;

/** Sources tracked at once; the least recently seen is forgotten beyond this. */
export const MAX_SOURCES = 1000;

/**
 * One clock per source (an input file, a CloudWatch log stream), so that a host whose clock runs
 * fast or slow is judged against its own past, not against another host's. A source's clock is the
 * newest event time it sent that was accepted.
 *
 * An event more than `max_future_skew_s` ahead of the reference is refused and never moves a clock.
 * With the wall clock as reference that is decided at once. A replay has no trustworthy wall clock,
 * so the reference is the stream's own progress: a line far ahead of its source's clock is held
 * until `CORROBORATING_LINES` consecutive lines confirm the jump (a real gap in the logs), and
 * refused as `timestamp_in_future` when the next line falls back in line (a lone outlier). A
 * source's first line waits for its second, so an outlier cannot set the clock either.
 */
export class SourceClocks {
  private readonly clocks = new Map<string, SourceClockState>();
  private wallMs: number | null = null;
  /** The source of the previous event: consecutive events mostly share one, so skip the map then. */
  private lastSource: string | null = null;
  private lastClock: SourceClockState | null = null;
  private readonly skewMs: number;
  private readonly latenessMs: number;

  constructor(
    config: TimeConfig,
    private readonly reference: TimeReference,
  ) {
    this.skewMs = config.max_future_skew_s * 1000;
    this.latenessMs = config.allowed_lateness_s * 1000;
  }

  /** The wall clock now (reference `wall`); events are bounded by it plus the allowed skew. */
  setWallClock(nowMs: number): void {
    if (Number.isFinite(nowMs)) this.wallMs = nowMs;
  }

  /**
   * The common case without allocating: an event that is neither ahead of the bound nor behind a
   * held jump is accepted here (true; `lastAdmitLate` says whether it is late). False means the
   * event needs the full `admit`.
   */
  tryAccept(source: string, timeMs: number): boolean {
    const clock = source === this.lastSource ? this.lastClock : this.clocks.get(source);
    if (clock === undefined || clock === null || clock.pending.length > 0) return false;
    if (this.reference === "wall" && this.wallMs !== null) {
      if (timeMs > this.wallMs + this.skewMs) return false;
    } else if (timeMs > clock.clockMs + this.skewMs) {
      return false;
    }
    if (source !== this.lastSource) this.touch(clock);
    this.lastAdmitLate = timeMs < clock.clockMs - this.latenessMs;
    if (timeMs > clock.clockMs) clock.clockMs = timeMs;
    return true;
  }

  /**
   * With the wall clock as reference, an accepted line dated ahead of it (by less than the skew:
   * a host whose clock runs fast) is taken at wall time. The pipeline's clock then never runs ahead
   * of the wall clock, so a fast host cannot push the shared detector windows past the lines of
   * the hosts that keep good time. Its own lines stay in order with each other and still count.
   */
  atMostWall(event: LogEvent): LogEvent {
    if (this.reference !== "wall" || this.wallMs === null || event.timeMs <= this.wallMs) return event;
    return { ...event, timeMs: this.wallMs };
  }

  /** Whether the event `tryAccept` last accepted was late. */
  lastAdmitLate = false;

  admit(source: string, event: LogEvent): Admission {
    const clock = this.clockOf(source);
    const timeMs = event.timeMs;
    if (this.reference === "wall" && this.wallMs !== null) {
      if (timeMs > this.wallMs + this.skewMs) {
        return this.refuse(event, `${describeAhead(timeMs - this.wallMs)} ahead of the wall clock`);
      }
      return this.accept(clock, event, []);
    }
    // Stream reference (or a wall-clock run before the first wall reading).
    if (clock.clockMs === Number.NEGATIVE_INFINITY) return this.admitFirst(source, clock, event);
    if (clock.pending.length === 0) {
      if (timeMs <= clock.clockMs + this.skewMs) {
        return this.accept(clock, event, []);
      }
      clock.pending.push(event);
      return { ready: [], future: [], held: true, late: false };
    }
    const first = clock.pending[0] as LogEvent;
    if (timeMs > clock.clockMs + this.skewMs && Math.abs(timeMs - first.timeMs) <= this.skewMs) {
      // Another line agrees with the held jump.
      clock.pending.push(event);
      if (clock.pending.length < CORROBORATING_LINES)
        return { ready: [], future: [], held: true, late: false };
      const run = clock.pending;
      clock.pending = [];
      for (const held of run) if (held.timeMs > clock.clockMs) clock.clockMs = held.timeMs;
      return { ready: run, future: [], held: false, late: false };
    }
    // The held lines were not confirmed: they were outliers.
    const future = this.rejectPending(clock);
    if (timeMs > clock.clockMs + this.skewMs) {
      clock.pending.push(event);
      return { ready: [], future, held: true, late: false };
    }
    return this.accept(clock, event, future);
  }

  /**
   * A source's first line has nothing to be judged against, so it waits for the second: if that
   * one is dated more than the skew before it, the first was ahead of the stream and is refused
   * (one future-dated first line must not set the clock); otherwise it sets the clock and the
   * second is judged against it as usual.
   */
  private admitFirst(source: string, clock: SourceClockState, event: LogEvent): Admission {
    const first = clock.pending[0];
    if (first === undefined) {
      clock.pending.push(event);
      return { ready: [], future: [], held: true, late: false };
    }
    if (event.timeMs < first.timeMs - this.skewMs) {
      const future = this.rejectPending(clock, event.timeMs);
      clock.pending.push(event);
      return { ready: [], future, held: true, late: false };
    }
    clock.pending = [];
    clock.clockMs = first.timeMs;
    const rest = this.admit(source, event);
    return { ...rest, ready: [first, ...rest.ready] };
  }

  /**
   * The stream ended: held lines that at least two lines agree on are accepted (nothing can
   * contradict them any more); a single held line is refused.
   */
  endOfStream(): Admission {
    const out: Admission = { ready: [], future: [], held: false, late: false };
    for (const clock of this.clocks.values()) {
      // A source's only line (no clock yet) has nothing to contradict it.
      if (clock.pending.length >= 2 || clock.clockMs === Number.NEGATIVE_INFINITY) {
        for (const held of clock.pending) {
          out.ready.push(held);
          if (held.timeMs > clock.clockMs) clock.clockMs = held.timeMs;
        }
        clock.pending = [];
      } else {
        out.future.push(...this.rejectPending(clock));
      }
    }
    out.ready.sort((a, b) => a.timeMs - b.timeMs);
    return out;
  }

  /** A source's clock (created on first sight), marked as the most recently seen. */
  clockOf(source: string): SourceClockState {
    let clock = source === this.lastSource ? this.lastClock : this.clocks.get(source);
    if (clock === undefined || clock === null) {
      clock = { source, clockMs: Number.NEGATIVE_INFINITY, pending: [] };
      if (this.clocks.size >= MAX_SOURCES) {
        const oldest = this.clocks.keys().next();
        if (!oldest.done) this.clocks.delete(oldest.value);
      }
      this.clocks.set(source, clock);
      this.lastSource = source;
      this.lastClock = clock;
      return clock;
    }
    if (source !== this.lastSource) this.touch(clock);
    return clock;
  }

  /** Map order is recency: the least recently seen source is the first to be forgotten. */
  private touch(clock: SourceClockState): void {
    this.clocks.delete(clock.source);
    this.clocks.set(clock.source, clock);
    this.lastSource = clock.source;
    this.lastClock = clock;
  }

  snapshot(): SourceClockState[] {
    return [...this.clocks.values()].map((c) => ({
      source: c.source,
      clockMs: c.clockMs,
      pending: c.pending.map((e) => ({ ...e, metrics: { ...e.metrics } })),
    }));
  }

  restore(states: unknown): void {
    this.clocks.clear();
    this.lastSource = null;
    this.lastClock = null;
    if (!Array.isArray(states)) return;
    for (const state of states.slice(-MAX_SOURCES)) {
      if (typeof state !== "object" || state === null) continue;
      const { source, clockMs, pending } = state as Partial<SourceClockState>;
      if (typeof source !== "string" || typeof clockMs !== "number") continue;
      this.clocks.set(source, {
        source,
        clockMs: Number.isFinite(clockMs) ? clockMs : Number.NEGATIVE_INFINITY,
        pending: Array.isArray(pending) ? pending.slice(0, CORROBORATING_LINES) : [],
      });
    }
  }

  private accept(clock: SourceClockState, event: LogEvent, future: FutureRejection[]): Admission {
    const late = event.timeMs < clock.clockMs - this.latenessMs;
    if (event.timeMs > clock.clockMs) clock.clockMs = event.timeMs;
    return { ready: [event], future, held: false, late };
  }

  private refuse(event: LogEvent, detail: string): Admission {
    return { ready: [], future: [{ event, detail }], held: false, late: false };
  }

  private rejectPending(clock: SourceClockState, base = clock.clockMs): FutureRejection[] {
    const out = clock.pending.map((event) => ({
      event,
      detail: `${describeAhead(event.timeMs - base)} ahead of the stream (${event.timestamp}), not confirmed by the lines after it`,
    }));
    clock.pending = [];
    return out;
  }
}

function describeAhead(ms: number): string {
  const s = ms / 1000;
  if (s < 120) return `${Math.round(s)} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 2 * 86400) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} days`;
}
