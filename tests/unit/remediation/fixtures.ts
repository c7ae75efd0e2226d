import { fingerprint } from "../../../shared/alerts/fingerprint.js";
import type { Alert, AlertType, Notification } from "../../../shared/alerts/types.js";
import type { RemediationConfig } from "../../../shared/config/types.js";

export const T0 = Date.parse("2026-03-01T12:00:00Z");
export const s = (seconds: number) => T0 + seconds * 1000;

export const REMEDIATION: RemediationConfig = {
  dry_run: false,
  kill_switch: false,
  cooldown_s: 300,
  max_actions: 3,
  max_actions_window_s: 600,
  verify_after_s: 120,
  ban_duration_s: 3600,
  actions: {
    high_cpu: "scale_out",
    high_memory: "restart_service",
    brute_force_ip: "block_ip",
    brute_force_user: "lock_user",
    high_error_rate: "rollback_deploy",
  },
};

export function alert(
  type: AlertType,
  service: string,
  entity = "",
  startsAtMs = T0,
  status: Alert["status"] = "firing",
): Alert {
  return {
    fingerprint: fingerprint(type, service, entity),
    type,
    service,
    entity,
    status,
    severity: "critical",
    startsAtMs,
    endsAtMs: status === "resolved" ? startsAtMs + 60_000 : null,
    annotations: {
      summary: `${type} on ${service}`,
      observed: 97,
      threshold: 90,
      unit: "%",
      windowMs: 60_000,
      samples: [],
      details: {},
      runbook: "check things",
    },
  };
}

export function notification(
  atMs: number,
  alerts: Alert[],
  status: Notification["status"] = "firing",
): Notification {
  const groupKey = `${alerts[0]?.service ?? "none"}/test`;
  return {
    id: `${groupKey}@${atMs}`,
    groupKey,
    reason: "new",
    status,
    severity: "critical",
    title: "test",
    alerts,
    atMs,
  };
}
