import type { Pipeline } from "../pipeline.js";
import type { SilenceRecord } from "./types.js";
import { silenceActive } from "./types.js";

/** Far enough in event time to never pass: marks a silence whose end the wall clock decides. */
export const UNTIL_REMOVED = Number.MAX_SAFE_INTEGER;

/**
 * Applies the stored (run-time) silences to a running pipeline, reading the store at most once per
 * `pollMs` of wall time. Stored silences run on the wall clock (`--for 2h` means two real hours),
 * while the pipeline runs on event time, which may race ahead (`--speed`) or lag (a replay): a
 * silence is therefore in force in the pipeline exactly while it is active on the wall clock, and
 * lapses when it ends or is expired. The pipeline's own silences say which are in force, so this
 * works the same after the processor restores a snapshot on a cold start. Used by the local runner
 * and the processor Lambda; the loader and the clock are passed in (no I/O here).
 */
export class SilenceSync {
  private nextPollAtMs = Number.NEGATIVE_INFINITY;
  private known: SilenceRecord[] = [];

  constructor(
    private readonly load: () => Promise<SilenceRecord[]>,
    private readonly wallNow: () => number,
    private readonly pollMs: number,
  ) {}

  /**
   * Reconcile the pipeline with the silences (read from the store when a poll is due, else the last
   * read: a pipeline reloaded after a write race gets them back at once). Returns how many silences
   * were newly put in force.
   */
  async apply(pipeline: Pipeline): Promise<number> {
    const now = this.wallNow();
    if (now >= this.nextPollAtMs) {
      this.nextPollAtMs = now + this.pollMs;
      this.known = await this.load();
    }
    const active = this.known.filter((s) => silenceActive(s, now));
    const inForce = new Map(
      pipeline
        .activeSilences(pipeline.nowMs)
        .filter((s) => s.expiresAtMs === UNTIL_REMOVED)
        .map((s) => [s.id, s] as const),
    );
    let added = 0;
    for (const silence of active) {
      if (inForce.delete(silence.id)) continue;
      pipeline.addSilence({
        id: silence.id,
        matchers: { ...silence.matchers },
        expiresAtMs: UNTIL_REMOVED,
        reason: silence.reason,
      });
      added++;
    }
    for (const [id, silence] of inForce) {
      // Ended or expired on the wall clock: it lapses at the pipeline's current event time.
      const at = Number.isFinite(pipeline.nowMs) ? pipeline.nowMs : Number.MIN_SAFE_INTEGER;
      pipeline.addSilence({ id, matchers: silence.matchers, expiresAtMs: at, reason: silence.reason });
    }
    return added;
  }
}
