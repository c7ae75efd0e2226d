import type { GroupDecisionRecord } from "./manager.js";
import type { Alert } from "./types.js";

/** A firing alert a silence kept out of notifications (reported once per episode and silence). */
export interface SilencedAlert {
  alert: Alert;
  silenceId: string;
  reason: string;
  atMs: number;
}

/** Most muted alerts remembered for reporting each only once; beyond it the oldest go first. */
const MAX_MUTED_TRACKED = 10_000;
/** Most reports held for a caller that never takes them (a processor without history). */
const MAX_PENDING = 1_000;

/**
 * Turns the manager's per-flush decisions into "this alert was muted by that silence" facts for the
 * history. The manager re-decides every second, so the same muting is seen every flush: only the
 * first sighting per alert episode and silence is kept.
 */
export class MutedAlerts {
  private pending: SilencedAlert[] = [];
  /** fingerprint -> "silenceId@startsAtMs" already reported. */
  private readonly reported = new Map<string, string>();

  note(
    decisions: readonly GroupDecisionRecord[],
    lookup: (fingerprint: string) => Alert | undefined,
    nowMs: number,
  ): void {
    for (const decision of decisions) {
      for (const muted of decision.silenced) {
        const alert = lookup(muted.fingerprint);
        if (alert === undefined) continue;
        const key = `${muted.silenceId}@${alert.startsAtMs}`;
        if (this.reported.get(muted.fingerprint) === key) continue;
        this.reported.delete(muted.fingerprint);
        this.reported.set(muted.fingerprint, key);
        if (this.reported.size > MAX_MUTED_TRACKED) {
          const oldest = this.reported.keys().next();
          if (!oldest.done) this.reported.delete(oldest.value);
        }
        this.pending.push({
          alert: structuredClone(alert),
          silenceId: muted.silenceId,
          reason: muted.reason,
          atMs: nowMs,
        });
        if (this.pending.length > MAX_PENDING) this.pending.shift();
      }
    }
  }

  take(): SilencedAlert[] {
    const out = this.pending;
    this.pending = [];
    return out;
  }
}
