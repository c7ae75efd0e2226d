import type { Alert, Notification } from "../alerts/types.js";
import { alertAnnotations, alertLabels, rfc3339 } from "./alertmanager.js";

/**
 * The fields every output carries for an alert (console, JSON-lines file, webhooks, Alertmanager):
 * RFC 3339 times, the labels (alertname, family, service, severity, entity) and the annotations
 * (summary, description, runbook, observed, threshold, unit).
 */
export function wireAlert(alert: Alert) {
  return {
    startsAt: rfc3339(alert.startsAtMs),
    endsAt: alert.endsAtMs === null ? null : rfc3339(alert.endsAtMs),
    labels: alertLabels(alert),
    annotations: alertAnnotations(alert),
  };
}

/**
 * A notification as the JSON-lines file writes it: the notification itself, unchanged (it still
 * reads back as a Notification), plus `at` and, per alert, `startsAt`, `endsAt`, `labels` and the
 * `description` annotation.
 */
export function wireNotification(n: Notification) {
  return {
    ...n,
    at: rfc3339(n.atMs),
    alerts: n.alerts.map((alert) => {
      const wire = wireAlert(alert);
      return {
        ...alert,
        startsAt: wire.startsAt,
        endsAt: wire.endsAt,
        labels: wire.labels,
        annotations: { ...alert.annotations, description: wire.annotations.description },
      };
    }),
  };
}
