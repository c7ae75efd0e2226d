/** Log lines in the project's JSON schema for the time tests: sparse sshd failures and the like. */

export const SPARSE_T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

export function logLine(timeMs: number, fields: Record<string, unknown> = {}): string {
  return JSON.stringify({
    timestamp: new Date(timeMs).toISOString(),
    service: "sshd",
    level: "WARN",
    event_type: "auth_failure",
    message: "Failed password for root from 203.0.113.7 port 22 ssh2",
    metrics: { cpu_pct: 10, memory_pct: 30, latency_ms: 0 },
    status_code: null,
    source_ip: "203.0.113.7",
    user: "root",
    request_id: null,
    ...fields,
  });
}

/** 10 failed sshd logins in 27 s, then the next line (another service) 93 s later. */
export function sparseSequence(startMs = SPARSE_T0): string[] {
  const lines = Array.from({ length: 10 }, (_, i) => logLine(startMs + i * 3000));
  lines.push(
    logLine(startMs + 27_000 + 93_000, {
      service: "web",
      level: "INFO",
      event_type: "request",
      message: "GET / 200",
      status_code: 200,
      source_ip: "10.0.0.1",
      user: null,
      request_id: "r-1",
    }),
  );
  return lines;
}
