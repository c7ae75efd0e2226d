import { incidentId } from "../remediation/audit.js";
import type { GroupDecisionRecord } from "./manager.js";
import type { Alert } from "./types.js";

/** A firing alert a silence kept out of notifications (reported once per episode and silence). */
export interface SilencedAlert {
  kind: "silenced";
  alert: Alert;
  silenceId: string;
  reason: string;
  atMs: number;
}

/** A firing alert an inhibit rule kept out of notifications (reported once per episode). */
export interface InhibitedAlert {
  kind: "inhibited";
  alert: Alert;
  /** Index of the rule in alerting.inhibit_rules. */
  rule: number;
  /** The incident (fingerprint:startsAtMs) of the firing alert that inhibits this one. */
  byIncident: string;
  /** Readable: which rule and which alert, for the timeline. */
  reason: string;
  atMs: number;
}

/** What the history learns about notifications that were held back, and why. */
export type MutedAlert = SilencedAlert | InhibitedAlert;

/** Most muted alerts remembered for reporting each only once; beyond it the oldest go first. */
const MAX_MUTED_TRACKED = 10_000;
/** Most reports held for a caller that never takes them (a processor without history). */
const MAX_PENDING = 1_000;

/**
 * Turns the manager's per-flush decisions into "this alert was muted by that silence" and "this
 * alert was inhibited by that one" facts for the history. The manager re-decides every second, so
 * the same muting is seen every flush: only the first sighting per alert episode and silence (or
 * inhibition) is kept.
 */
export class MutedAlerts {
  private pending: MutedAlert[] = [];
  /** fingerprint -> "silenceId@startsAtMs" (or "inhibited@startsAtMs") already reported. */
  private readonly reported = new Map<string, string>();

  note(
    decisions: readonly GroupDecisionRecord[],
    lookup: (fingerprint: string) => Alert | undefined,
    nowMs: number,
  ): void {
    for (const decision of decisions) {
      for (const muted of decision.silenced) {
        const alert = lookup(muted.fingerprint);
        if (alert === undefined || !this.firstSighting(alert, muted.silenceId)) continue;
        this.push({
          kind: "silenced",
          alert: structuredClone(alert),
          silenceId: muted.silenceId,
          reason: muted.reason,
          atMs: nowMs,
        });
      }
      for (const muted of decision.inhibited) {
        const alert = lookup(muted.fingerprint);
        if (alert === undefined || !this.firstSighting(alert, "inhibited")) continue;
        const source = lookup(muted.by);
        // The source may be gone from the manager by now; its fingerprint still names the alert.
        const byIncident = incidentId(muted.by, source?.startsAtMs ?? alert.startsAtMs);
        const byWhat = source === undefined ? muted.by : `${source.type} on ${source.service}`;
        this.push({
          kind: "inhibited",
          alert: structuredClone(alert),
          rule: muted.rule,
          byIncident,
          reason: `inhibit rule ${muted.rule}: ${byWhat} is firing`,
          atMs: nowMs,
        });
      }
    }
  }

  take(): MutedAlert[] {
    const out = this.pending;
    this.pending = [];
    return out;
  }

  private firstSighting(alert: Alert, cause: string): boolean {
    const key = `${cause}@${alert.startsAtMs}`;
    if (this.reported.get(alert.fingerprint) === key) return false;
    this.reported.delete(alert.fingerprint);
    this.reported.set(alert.fingerprint, key);
    if (this.reported.size > MAX_MUTED_TRACKED) {
      const oldest = this.reported.keys().next();
      if (!oldest.done) this.reported.delete(oldest.value);
    }
    return true;
  }

  private push(muted: MutedAlert): void {
    this.pending.push(muted);
    if (this.pending.length > MAX_PENDING) this.pending.shift();
  }
}
