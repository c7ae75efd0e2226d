import type { AlertType } from "../alerts/types.js";
import type { ActionType } from "../config/types.js";

/** One remediation step the policy decided on. `id` is the idempotency key. */
export interface RemediationAction {
  /** Alert fingerprint plus the alert's start: the same firing episode always maps to the same id. */
  id: string;
  type: ActionType;
  alertType: AlertType;
  alertFingerprint: string;
  service: string;
  /** What is acted on: the service for scale/restart/rollback, the IP or user for bans. */
  target: string;
  reason: string;
  requestedAtMs: number;
  /** Bans expire; other actions are instantaneous. */
  expiresAtMs: number | null;
  dryRun: boolean;
}

/** Why the policy did not act; every skip is recorded with one of these. */
export type SkipReason =
  | "no_policy"
  | "kill_switch"
  | "duplicate"
  | "cooldown"
  | "circuit_open"
  | "alert_resolved"
  | "silenced"
  /** The target is not what the action needs (block_ip on something that is not an IP or CIDR). */
  | "invalid_target"
  /** The notification's time cannot be right (far in the future, or long past). */
  | "impossible_time";

export type RemediationDecision =
  | { kind: "act"; action: RemediationAction }
  | {
      kind: "skip";
      reason: SkipReason;
      alertFingerprint: string;
      alertType: AlertType;
      detail: string;
      /** Start of the alert's episode, so the skip joins its audit incident without other state. */
      alertStartsAtMs?: number;
    };

/** What an executor reports; like sinks, it never throws. */
export type ExecutionResult =
  | { status: "ok"; detail: string }
  | { status: "retryable"; error: string }
  | { status: "error"; error: string };

export interface Executor {
  readonly name: string;
  execute(action: RemediationAction): Promise<ExecutionResult>;
}

export type OutcomeStatus = "effective" | "not_effective_escalated" | "failed_escalated" | "dry_run";

export interface RemediationOutcome {
  actionId: string;
  actionType: ActionType;
  alertFingerprint: string;
  status: OutcomeStatus;
  checkedAtMs: number;
  detail: string;
}

/** One line of the audit trail (JSON lines). Records of one incident share `incident`. */
export interface AuditRecord {
  /** Alert fingerprint plus the episode's start: one causal chain per incident. */
  incident: string;
  stage: "first_log" | "detection" | "alert" | "notification" | "action" | "skip" | "outcome";
  atMs: number;
  data: Record<string, unknown>;
}
