import type { DetectorFinding } from "../alerts/types.js";
import type { EventType, LogEvent } from "../log/schema.js";

/** Shared empty result so the common path (nothing changed) allocates nothing. */
export const NO_FINDINGS: readonly DetectorFinding[] = Object.freeze([]);

/**
 * `out` with `finding` added. Detectors pass `DetectorFinding[] | null` along and build the list
 * only once something is found, so the common path allocates nothing.
 */
export function appendFinding(out: DetectorFinding[] | null, finding: DetectorFinding): DetectorFinding[] {
  if (out === null) return [finding];
  out.push(finding);
  return out;
}

/**
 * Every detector, rule or ML, has this shape. Detectors are pure state machines: time comes only
 * from events (`event.timeMs`) or from `advance(nowMs)`, never from a clock, so a replay of the
 * same lines gives the same findings.
 */
/**
 * Which events a detector can act on: `sshd` only those of the sshd adapter (`origin: "sshd"`),
 * `http` only those with request details (`http`, from access logs).
 */
export type DetectorScope = "sshd" | "http";

export interface Detector {
  readonly name: string;
  /**
   * Set when the detector ignores every event outside this scope: the pipeline then does not call
   * `observe` for the others (most events are native JSON lines, and a call per event per detector
   * is what the throughput goal counts). Absent: every event.
   */
  readonly scope?: DetectorScope;
  /**
   * Set when the detector ignores every event of another type: the pipeline then calls `observe`
   * only for these (a metric line, a quarter of the traffic, then visits the threshold detectors
   * alone). Absent: every type.
   */
  readonly eventTypes?: readonly EventType[];
  /** Feed one event in time order; returns the state changes it caused (usually none). */
  observe(event: LogEvent): readonly DetectorFinding[];
  /** Let time pass with no event: windows expire and conditions may resolve. */
  advance(nowMs: number): readonly DetectorFinding[];
  /**
   * True when letting time pass cannot produce a finding (nothing pending, firing or open). The
   * pipeline then skips idle seconds in one step; a detector without it is ticked every second.
   * While true, `advance` must find nothing, leave it true, and end in the same state whether
   * called at every tick or once at the last: the pipeline defers an idle detector's ticks until
   * its next event or snapshot and then advances it once (the contract tests check this).
   */
  idle?(): boolean;
  /** JSON-serialisable state, so windows survive a Lambda cold start. */
  snapshot(): unknown;
  /** Replace state with a snapshot from the same detector kind; throws StateError on a bad one. */
  restore(state: unknown): void;
}
