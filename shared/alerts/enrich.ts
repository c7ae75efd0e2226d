import type { LogLine } from "../log/schema.js";
import type { AlertAnnotations, AlertType, DetectorFinding, Severity } from "./types.js";

/** Most samples a notification carries per alert; detectors already send at most five. */
export const MAX_SAMPLES = 5;

/**
 * What an on-call engineer should check first for each alert type. Short and actionable: the
 * notification is read on a phone at 3 a.m., the full runbook lives in docs/alerting.md.
 */
export const RUNBOOK_HINTS: Record<AlertType, string> = {
  high_cpu:
    "Check for a traffic spike or a hot loop since the last deploy (top/profile one instance); scale out if load is organic.",
  high_memory:
    "Look for a leak: memory growing steadily since the last deploy or restart; capture a heap dump before restarting.",
  brute_force_ip:
    "Confirm the failures come from one source IP against many users; block the IP at the edge and check for any success from it.",
  brute_force_user:
    "Credential stuffing against one account from many IPs: lock or force-reset the user and check for a successful login.",
  high_error_rate:
    "Compare the error onset with the latest deploy; read the top error messages; roll back if the deploy is the cause.",
  ml_anomaly:
    "Unusual mix of metrics for this service: look at the features with the largest contribution first, then recent changes.",
  pipeline_capacity:
    "A detector is full and ignores new keys: raise its max_services / max_keys, or find what floods it with new names.",
  http_probing:
    "One client asks for many paths that do not exist (a scanner): check the sample paths, block the IP at the edge or WAF.",
  request_flood:
    "One client sends far more requests than usual: check whether it is a crawler, a retry loop or abuse; rate-limit or block it.",
};

const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };

export function severityRank(severity: Severity): number {
  return SEVERITY_RANK[severity];
}

/** The higher of two severities. */
export function maxSeverity(a: Severity, b: Severity): Severity {
  return SEVERITY_RANK[a] >= SEVERITY_RANK[b] ? a : b;
}

const TYPE_LABEL: Record<AlertType, string> = {
  high_cpu: "High CPU",
  high_memory: "High memory",
  brute_force_ip: "Brute force from IP",
  brute_force_user: "Brute force against user",
  high_error_rate: "High error rate",
  ml_anomaly: "Anomalous behaviour",
  pipeline_capacity: "Pipeline over capacity",
  http_probing: "HTTP probing from IP",
  request_flood: "Request flood from IP",
};

/** One-line human title for a single alert, e.g. "High CPU on payment-service". */
export function alertTitle(type: AlertType, service: string, entity: string): string {
  const base = `${TYPE_LABEL[type]} on ${service}`;
  return entity === "" ? base : `${base} (${entity})`;
}

/** The annotations an alert carries: the finding's measurements plus the runbook hint. */
export function enrichFinding(finding: DetectorFinding): AlertAnnotations {
  const annotations: AlertAnnotations = {
    summary: finding.summary,
    observed: finding.observed,
    threshold: finding.threshold,
    unit: finding.unit,
    windowMs: finding.windowMs,
    samples: newestSamples(finding.samples),
    details: { ...finding.details },
    runbook: RUNBOOK_HINTS[finding.type],
  };
  if (finding.contributions !== undefined) {
    // Largest contributions first: the reader looks at the top one or two.
    annotations.contributions = [...finding.contributions].sort((a, b) => b.contribution - a.contribution);
  }
  return annotations;
}

function newestSamples(samples: readonly LogLine[]): LogLine[] {
  return samples.slice(Math.max(0, samples.length - MAX_SAMPLES));
}
