import type { Alert, Notification } from "../alerts/types.js";
import type { ActionType, RemediationConfig } from "../config/types.js";
import { StateError } from "../errors.js";
import { incidentId } from "./audit.js";
import type {
  ExecutionResult,
  RemediationAction,
  RemediationDecision,
  RemediationOutcome,
  SkipReason,
} from "./types.js";
import { isIpOrCidr } from "./validate.js";

/** Actions that act on the alert's entity (an IP or a user) and expire. */
const BAN_ACTIONS: ReadonlySet<ActionType> = new Set<ActionType>(["block_ip", "lock_user"]);

/**
 * Idempotency key of the action for one firing episode: the same string as the audit incident,
 * so an action, its skips and its outcome line up in the audit trail without a lookup.
 */
export function actionId(alertFingerprint: string, startsAtMs: number): string {
  return incidentId(alertFingerprint, startsAtMs);
}

/** The cooldown key: what is acted on, with its kind, so a user called "10.0.0.1" is not an IP. */
export function actionTarget(type: ActionType, alert: Pick<Alert, "service" | "entity">): string {
  return BAN_ACTIONS.has(type) ? alert.entity : alert.service;
}

function cooldownKey(type: ActionType, target: string): string {
  if (type === "block_ip") return `ip:${target}`;
  if (type === "lock_user") return `user:${target}`;
  return `service:${target}`;
}

interface PendingVerification {
  action: RemediationAction;
  result: ExecutionResult;
  dueAtMs: number;
}

interface RemediationSnapshot {
  version: 1;
  /** Action id -> when it was decided; pruned after `idempotencyRetentionMs`. */
  acted: Record<string, number>;
  /** Cooldown key -> last action time. */
  lastActionAt: Record<string, number>;
  /** Decision times of recent actions, for the circuit breaker's sliding window. */
  recentActions: number[];
  pending: PendingVerification[];
  bans: RemediationAction[];
}

export interface RemediationEngineOptions {
  /** How long an action id is remembered; a notification repeated later than this could act again. */
  idempotencyRetentionMs?: number;
}

/** One day: longer than any sane repeat_interval, so a repeat notification never acts twice. */
const DEFAULT_IDEMPOTENCY_RETENTION_MS = 24 * 60 * 60 * 1000;

/**
 * The remediation policy: which action each firing alert gets, and the guardrails that stop it.
 * Pure and clock-free like the alert manager; `nowMs` is event time. Guardrails are checked in a
 * fixed order (kill switch, duplicate, cooldown, circuit breaker) and every skip carries the name
 * of the one that stopped it. Dry-run actions count against cooldown and the breaker, so a dry run
 * shows what a live run would really have done.
 */
export class RemediationEngine {
  private acted = new Map<string, number>();
  private lastActionAt = new Map<string, number>();
  private recentActions: number[] = [];
  private pending: PendingVerification[] = [];
  private bans: RemediationAction[] = [];
  private readonly idempotencyRetentionMs: number;

  constructor(
    private readonly config: RemediationConfig,
    options: RemediationEngineOptions = {},
  ) {
    this.idempotencyRetentionMs = options.idempotencyRetentionMs ?? DEFAULT_IDEMPOTENCY_RETENTION_MS;
  }

  /** One decision per alert of a firing notification; nothing for a resolved notification. */
  decide(n: Notification, nowMs: number): RemediationDecision[] {
    this.prune(nowMs);
    if (n.status !== "firing") return [];
    const decisions: RemediationDecision[] = [];
    for (const alert of n.alerts) {
      const decision = this.decideOne(alert, nowMs);
      if (decision !== null) decisions.push(decision);
    }
    return decisions;
  }

  private decideOne(alert: Alert, nowMs: number): RemediationDecision | null {
    // Own properties only: an alert type such as "constructor" must not find Object's prototype.
    const type = Object.hasOwn(this.config.actions, alert.type) ? this.config.actions[alert.type] : undefined;
    const id = actionId(alert.fingerprint, alert.startsAtMs);
    const skip = (reason: SkipReason, detail: string): RemediationDecision => ({
      kind: "skip",
      reason,
      alertFingerprint: alert.fingerprint,
      alertType: alert.type,
      detail,
      alertStartsAtMs: alert.startsAtMs,
    });
    if (alert.status !== "firing") {
      // An alert that resolved before we acted needs no action; one we acted on needs no record.
      return type !== undefined && !this.acted.has(id)
        ? skip("alert_resolved", `${alert.type} resolved before any action`)
        : null;
    }
    if (type === undefined) return skip("no_policy", `no action configured for ${alert.type}`);
    const target = actionTarget(type, alert);
    if (target === "") return skip("no_policy", `${type} needs an IP or user, ${alert.type} has no entity`);
    if (type === "block_ip" && !isIpOrCidr(target)) {
      return skip(
        "invalid_target",
        `block_ip needs an IP address or CIDR range, got ${JSON.stringify(target.slice(0, 60))}`,
      );
    }
    if (this.config.kill_switch) return skip("kill_switch", `kill switch is on; would ${type} ${target}`);
    const decidedAt = this.acted.get(id);
    if (decidedAt !== undefined) {
      return skip(
        "duplicate",
        `${type} for this episode already decided at ${new Date(decidedAt).toISOString()}`,
      );
    }
    const key = cooldownKey(type, target);
    const last = this.lastActionAt.get(key);
    const cooldownMs = this.config.cooldown_s * 1000;
    if (last !== undefined && nowMs - last < cooldownMs) {
      return skip(
        "cooldown",
        `${key} acted on ${Math.round((nowMs - last) / 1000)}s ago (cooldown ${this.config.cooldown_s}s)`,
      );
    }
    const windowStart = nowMs - this.config.max_actions_window_s * 1000;
    const inWindow = this.recentActions.filter((t) => t > windowStart).length;
    if (inWindow >= this.config.max_actions) {
      return skip(
        "circuit_open",
        `${inWindow} actions in the last ${this.config.max_actions_window_s}s (max ${this.config.max_actions})`,
      );
    }

    const action: RemediationAction = {
      id,
      type,
      alertType: alert.type,
      alertFingerprint: alert.fingerprint,
      service: alert.service,
      target,
      reason: `${alert.type}: ${alert.annotations.summary}`,
      requestedAtMs: nowMs,
      expiresAtMs: BAN_ACTIONS.has(type)
        ? nowMs + banSeconds(alert, this.config.ban_duration_s) * 1000
        : null,
      dryRun: this.config.dry_run,
    };
    this.acted.set(id, nowMs);
    this.lastActionAt.set(key, nowMs);
    this.recentActions.push(nowMs);
    return { kind: "act", action };
  }

  /**
   * Remember how an action went. Its outcome is checked `verify_after_s` later; a failed execution
   * is escalated at the next `dueOutcomes` call instead, since waiting cannot make it succeed.
   */
  recordResult(action: RemediationAction, result: ExecutionResult, nowMs: number): void {
    const failed = result.status !== "ok";
    const dueAtMs = failed ? nowMs : nowMs + this.config.verify_after_s * 1000;
    this.pending.push({ action: structuredClone(action), result: structuredClone(result), dueAtMs });
    if (!failed && !action.dryRun && action.expiresAtMs !== null) this.bans.push(structuredClone(action));
  }

  /** When the earliest pending outcome check is due; +Infinity when none is pending. */
  nextDueMs(): number {
    let next = Number.POSITIVE_INFINITY;
    for (const entry of this.pending) if (entry.dueAtMs < next) next = entry.dueAtMs;
    return next;
  }

  /** Outcomes whose check time has come, given which alerts still fire at `nowMs`. */
  dueOutcomes(nowMs: number, isFiring: (fingerprint: string) => boolean): RemediationOutcome[] {
    const due: RemediationOutcome[] = [];
    const later: PendingVerification[] = [];
    for (const entry of this.pending) {
      if (entry.dueAtMs > nowMs) later.push(entry);
      else due.push(outcomeOf(entry, nowMs, isFiring));
    }
    this.pending = later;
    return due;
  }

  /** Bans (block_ip, lock_user) executed successfully and not yet expired at `nowMs`. */
  activeBans(nowMs: number): RemediationAction[] {
    return this.bans
      .filter((b) => b.expiresAtMs !== null && b.expiresAtMs > nowMs)
      .map((b) => structuredClone(b));
  }

  snapshot(): unknown {
    const snapshot: RemediationSnapshot = {
      version: 1,
      acted: Object.fromEntries(this.acted),
      lastActionAt: Object.fromEntries(this.lastActionAt),
      recentActions: [...this.recentActions],
      pending: structuredClone(this.pending),
      bans: structuredClone(this.bans),
    };
    return snapshot;
  }

  /** Replace state with a `snapshot()`; throws StateError on anything else. */
  restore(state: unknown): void {
    const s = parseSnapshot(state);
    this.acted = new Map(Object.entries(s.acted));
    this.lastActionAt = new Map(Object.entries(s.lastActionAt));
    this.recentActions = s.recentActions;
    this.pending = s.pending;
    this.bans = s.bans;
  }

  /** Keep memory bounded: expired bans, ids past retention, timestamps outside every window. */
  private prune(nowMs: number): void {
    for (const [id, at] of this.acted) if (nowMs - at > this.idempotencyRetentionMs) this.acted.delete(id);
    const cooldownMs = this.config.cooldown_s * 1000;
    for (const [key, at] of this.lastActionAt) if (nowMs - at >= cooldownMs) this.lastActionAt.delete(key);
    const windowStart = nowMs - this.config.max_actions_window_s * 1000;
    this.recentActions = this.recentActions.filter((t) => t > windowStart);
    this.bans = this.bans.filter((b) => b.expiresAtMs !== null && b.expiresAtMs > nowMs);
  }
}

function outcomeOf(
  entry: PendingVerification,
  nowMs: number,
  isFiring: (fingerprint: string) => boolean,
): RemediationOutcome {
  const { action, result } = entry;
  const base = {
    actionId: action.id,
    actionType: action.type,
    alertFingerprint: action.alertFingerprint,
    checkedAtMs: nowMs,
  };
  if (action.dryRun) {
    const state = isFiring(action.alertFingerprint) ? "still firing" : "resolved";
    return {
      ...base,
      status: "dry_run",
      detail: `dry run: ${action.type} on ${action.target} not executed; alert ${state}`,
    };
  }
  if (result.status !== "ok") {
    return {
      ...base,
      status: "failed_escalated",
      detail: `${action.type} on ${action.target} failed: ${result.error}`,
    };
  }
  if (isFiring(action.alertFingerprint)) {
    return {
      ...base,
      status: "not_effective_escalated",
      detail: `${action.alertType} still firing ${Math.round((nowMs - action.requestedAtMs) / 1000)}s after ${action.type} on ${action.target}`,
    };
  }
  return {
    ...base,
    status: "effective",
    detail: `${action.alertType} resolved after ${action.type} on ${action.target}`,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function numberRecord(value: unknown, field: string): Record<string, number> {
  if (!isRecord(value)) throw new StateError("remediation", `${field} must be an object`);
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== "number") throw new StateError("remediation", `${field}.${key} must be a number`);
  }
  return value as Record<string, number>;
}

function parseSnapshot(state: unknown): RemediationSnapshot {
  if (!isRecord(state)) throw new StateError("remediation", "not an object");
  if (state.version !== 1) throw new StateError("remediation", `unknown version ${String(state.version)}`);
  const acted = numberRecord(state.acted, "acted");
  const lastActionAt = numberRecord(state.lastActionAt, "lastActionAt");
  const { recentActions, pending, bans } = state;
  if (!Array.isArray(recentActions) || !recentActions.every((t) => typeof t === "number")) {
    throw new StateError("remediation", "recentActions must be an array of numbers");
  }
  if (
    !Array.isArray(pending) ||
    !pending.every((p) => isRecord(p) && isRecord(p.action) && isRecord(p.result))
  ) {
    throw new StateError("remediation", "pending must be an array of {action, result, dueAtMs}");
  }
  if (!Array.isArray(bans) || !bans.every((b) => isRecord(b) && typeof b.id === "string")) {
    throw new StateError("remediation", "bans must be an array of actions");
  }
  return structuredClone({
    version: 1,
    acted,
    lastActionAt,
    recentActions: recentActions as number[],
    pending: pending as PendingVerification[],
    bans: bans as RemediationAction[],
  });
}

/** A detector that decides its own ban length (the sshd jail's ban_time_s) says so in the alert. */
function banSeconds(
  alert: { annotations: { details: Record<string, number | string> } },
  fallback: number,
): number {
  const own = alert.annotations.details.ban_time_s;
  return typeof own === "number" && own > 0 ? own : fallback;
}
