import type { AlertingConfig } from "../config/types.js";
import type { AlertType, NotificationReason } from "./types.js";

/**
 * Alert families: types that usually share one cause on one service. CPU and memory pressure on a
 * host tend to come together; a brute-force attack trips both the per-IP and the per-user rule.
 * Grouping by family keeps one incident in one message instead of two pages a few seconds apart.
 */
export const ALERT_FAMILY: Record<AlertType, string> = {
  high_cpu: "resources",
  high_memory: "resources",
  brute_force_ip: "auth",
  brute_force_user: "auth",
  high_error_rate: "errors",
  ml_anomaly: "anomaly",
  pipeline_capacity: "capacity",
  http_probing: "abuse",
  request_flood: "abuse",
};

/** Group key: service plus alert family, e.g. "payment-service/resources". */
export function groupKeyOf(type: AlertType, service: string): string {
  return `${service}/${ALERT_FAMILY[type]}`;
}

/** What the decision needs to know about one group at `nowMs`; built by the manager, or by a test. */
export interface GroupView {
  /** Event time the group was opened (its first alert since the last resolved notification). */
  openedAtMs: number;
  /** Event time of the last notification sent for the group; null before the first one. */
  lastNotifiedAtMs: number | null;
  /** Firing alerts that are not silenced. */
  visibleFiring: number;
  /** Firing alerts muted by a silence. */
  silencedFiring: number;
  /** Visible firing alerts the last notification did not contain. */
  newSinceNotified: number;
  /** Alerts the last notification showed as firing that have since resolved. */
  resolvedSinceNotified: number;
  /** Alerts that fired and resolved before the group was ever notified. */
  resolvedUnnotified: number;
}

/** Why a group was not notified at this flush. */
export type HoldReason =
  | "group_wait"
  | "group_interval"
  | "repeat_interval"
  | "silenced"
  | "resolved_before_notify"
  | "nothing_to_send";

/** One of a fixed set of shared objects (see `groupDecision`): read, never change. */
export type GroupDecision =
  | { readonly send: true; readonly reason: NotificationReason }
  | { readonly send: false; readonly reason: HoldReason };

/**
 * Every decision there is, built once: the manager decides each open group every second, and a
 * fresh object per decision is garbage a second later.
 */
const HOLD = {
  group_wait: { send: false, reason: "group_wait" },
  group_interval: { send: false, reason: "group_interval" },
  repeat_interval: { send: false, reason: "repeat_interval" },
  silenced: { send: false, reason: "silenced" },
  resolved_before_notify: { send: false, reason: "resolved_before_notify" },
  nothing_to_send: { send: false, reason: "nothing_to_send" },
} as const satisfies Record<HoldReason, GroupDecision>;

const SEND = {
  new: { send: true, reason: "new" },
  group_update: { send: true, reason: "group_update" },
  resolved: { send: true, reason: "resolved" },
  repeat: { send: true, reason: "repeat" },
} as const satisfies Record<NotificationReason, GroupDecision>;

/**
 * Whether a group is notified now, and why (Alertmanager's notify pipeline, as a pure function):
 * - a new group waits `group_wait` to gather its burst, then sends "new";
 * - after that, a change (alert added or resolved) waits until `group_interval` after the last
 *   notification, then sends "group_update", or "resolved" when nothing visible is still firing;
 * - an unchanged firing group is re-sent as "repeat" every `repeat_interval`;
 * - a group whose every firing alert is silenced sends nothing.
 */
export function groupDecision(group: GroupView, nowMs: number, cfg: AlertingConfig): GroupDecision {
  if (group.lastNotifiedAtMs === null) {
    if (group.visibleFiring === 0) {
      if (group.silencedFiring > 0) return HOLD.silenced;
      if (group.resolvedUnnotified > 0) return HOLD.resolved_before_notify;
      return HOLD.nothing_to_send;
    }
    if (nowMs < group.openedAtMs + cfg.group_wait_s * 1000) return HOLD.group_wait;
    return SEND.new;
  }

  const changed = group.newSinceNotified > 0 || group.resolvedSinceNotified > 0;
  if (changed) {
    if (nowMs < group.lastNotifiedAtMs + cfg.group_interval_s * 1000) {
      return HOLD.group_interval;
    }
    if (group.visibleFiring === 0) {
      // Only a silence is left firing: the resolved part is still worth telling, the rest is muted.
      return SEND.resolved;
    }
    return SEND.group_update;
  }

  if (group.visibleFiring === 0) {
    return group.silencedFiring > 0 ? HOLD.silenced : HOLD.nothing_to_send;
  }
  if (nowMs < group.lastNotifiedAtMs + cfg.repeat_interval_s * 1000) {
    return HOLD.repeat_interval;
  }
  return SEND.repeat;
}
