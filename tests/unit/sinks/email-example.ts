import type { Notification } from "../../../shared/alerts/types.js";
import { DEFAULT_CONFIG } from "../../../shared/config/defaults.js";
import type { EmailContext } from "../../../shared/sinks/email.js";
import { alert, notification } from "../functions/fixtures.js";

/** The example in docs/alerting.md: a brute-force attack on a production stack that acts (no dry run). */
export const EXAMPLE_CONTEXT: EmailContext = {
  accountId: "123456789012",
  region: "eu-west-1",
  environment: "prod",
  logGroup: "/cloud-observability/services",
  historyTable: "cloud-observability-history",
  remediation: { ...DEFAULT_CONFIG.remediation, dry_run: false },
  remediationEnabled: true,
};

export function exampleNotification(): Notification {
  const startsAtMs = Date.UTC(2026, 2, 2, 3, 14, 5);
  return notification({
    id: "auth-service/auth@1772421255000",
    groupKey: "auth-service/auth",
    atMs: startsAtMs + 10_000,
    alerts: [
      alert({
        fingerprint: "a29cf81961804a0a",
        startsAtMs,
        annotations: {
          summary: "12 auth failures in 60s for IP 203.0.113.7 on auth-service (9 users)",
          observed: 12,
          threshold: 8,
          unit: "failures",
          windowMs: 60_000,
          samples: [
            {
              timestamp: "2026-03-02T03:14:04.310Z",
              service: "auth-service",
              level: "WARN",
              event_type: "auth_failure",
              message: "login failed for user alice: invalid password",
              metrics: { cpu_pct: 22, memory_pct: 41, latency_ms: 31 },
              status_code: 401,
              source_ip: "203.0.113.7",
              user: "alice",
              request_id: null,
            },
          ],
          details: {},
          runbook:
            "Confirm the failures come from one source IP against many users; block the IP at the edge and check for any success from it.",
        },
      }),
    ],
  });
}
