import { readFileSync } from "node:fs";
import type { Alert, Notification } from "../../../shared/alerts/types.js";

/** The kit beside the repository (read-only test data). */
export const KIT = new URL("../../../../shared/", import.meta.url);

export function kitJson<T = unknown>(relative: string): T {
  return JSON.parse(readFileSync(new URL(relative, KIT), "utf8")) as T;
}

export function alert(overrides: Partial<Alert> = {}): Alert {
  return {
    fingerprint: "fp-brute-1",
    type: "brute_force_ip",
    service: "auth-service",
    entity: "203.0.113.7",
    status: "firing",
    severity: "critical",
    startsAtMs: Date.UTC(2026, 0, 5, 10, 0, 0),
    endsAtMs: null,
    annotations: {
      summary: "12 failed logins from 203.0.113.7 in 60s",
      observed: 12,
      threshold: 8,
      unit: "failures",
      windowMs: 60_000,
      samples: [],
      details: {},
      runbook: "docs/runbooks.md#brute_force_ip",
    },
    ...overrides,
  };
}

export function notification(overrides: Partial<Notification> = {}): Notification {
  const alerts = overrides.alerts ?? [alert()];
  return {
    id: "auth-service/brute_force_ip@1767607210000",
    groupKey: "auth-service/brute_force_ip",
    reason: "new",
    status: "firing",
    severity: "critical",
    title: "brute force against auth-service",
    alerts,
    atMs: Date.UTC(2026, 0, 5, 10, 0, 10),
    ...overrides,
  };
}
