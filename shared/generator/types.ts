import type { AlertType } from "../alerts/types.js";
import type { MeasuredEvent } from "../log/schema.js";
import type { RemediationAction } from "../remediation/types.js";

export const SCENARIO_TYPES = [
  "cpu_spike",
  "memory_leak",
  "brute_force",
  "credential_stuffing",
  "error_burst_after_deploy",
  "latency_degradation",
  "mixed_degradation",
  "benign_spike",
] as const;
export type ScenarioType = (typeof SCENARIO_TYPES)[number];

/**
 * Ground truth for one injected incident. Kept outside the log lines: the processor never sees
 * it; only the evaluation (precision, recall, time to detect) reads it.
 */
export interface IncidentTruth {
  id: string;
  scenario: ScenarioType;
  service: string;
  /** The attacking IP, the targeted user, or "" when the incident is about the service. */
  entity: string;
  startMs: number;
  /** When the incident stopped (its planned end, or earlier if a remediation ended it). */
  endMs: number;
  /** Alert types that count as detecting it; empty for benign noise, which must not alert. */
  expectedAlerts: AlertType[];
  /** Which family of detector is meant to catch it. */
  detectedBy: "rule" | "ml" | "none";
}

export interface GeneratorOptions {
  seed: number;
  /** Simulated time of the first event, epoch ms. */
  startMs: number;
  /** Gap between consecutive events drawn uniformly from [min, max] simulated seconds. */
  minIntervalS: number;
  maxIntervalS: number;
  /** Inject incident scenarios (default true); false gives only baseline traffic. */
  incidents?: boolean;
}

export interface LogGenerator {
  /** The next event in time order (its `timeMs` is simulated time). */
  next(): MeasuredEvent;
  /** Incidents that have started so far, in start order. */
  readonly truth: readonly IncidentTruth[];
  /**
   * Tell the simulated world that a remediation ran: a matching active incident may end early
   * (a banned IP stops, a restart clears a leak). Returns whether anything changed.
   */
  applyRemediation(action: RemediationAction): boolean;
}
