import type { LogEvent } from "../../../shared/log/schema.js";
import { Rng } from "../../../shared/random.js";
import { makeEvent, type Step } from "./events.js";

const SERVICES = ["checkout", "search", "auth"] as const;

/**
 * Twenty simulated minutes of mixed traffic with one incident per rule detector, so every rule
 * fires and resolves at least once: CPU on checkout (minutes 3-6), memory ramp on search (7-11),
 * a brute force plus credential stuffing on auth (4-6), an error burst on checkout (12-14).
 * Plus `advanceTo` steps every 5 s, as the pipeline's ticks would give.
 */
export function mixedWorkload(seed = 7): Step[] {
  const rng = new Rng(seed);
  const steps: Step[] = [];
  let request = 0;
  for (let s = 0; s < 20 * 60; s++) {
    for (const service of SERVICES) {
      const count = 1 + rng.int(3);
      for (let i = 0; i < count; i++) {
        const t = s + i / count;
        steps.push(trafficEvent(rng, service, t, `r${request++}`));
      }
    }
    if (s >= 240 && s < 360) steps.push(...attackEvents(rng, s));
    // sshd log failures from one host: the sshd jail bans it at the fifth, for 600 s.
    if (s >= 400 && s < 406) steps.push(sshdFailure(s + 0.2, "192.0.2.66"));
    // An access-log prober (12 distinct 404 paths in 3 s) and a client flooding the same edge.
    if (s >= 100 && s < 103)
      for (let i = 0; i < 4; i++)
        steps.push(edgeRequest(s + i / 4, "198.51.100.200", `/probe/${s}-${i}`, 404));
    if (s >= 600 && s < 660)
      for (let i = 0; i < 12; i++) steps.push(edgeRequest(s + i / 12, "198.51.100.201", "/api/items", 200));
    if (s % 5 === 4) steps.push({ advanceTo: Date.UTC(2026, 0, 1) + (s + 1) * 1000 });
  }
  return steps;
}

function trafficEvent(rng: Rng, service: string, t: number, requestId: string): LogEvent {
  const minute = t / 60;
  let cpu = rng.uniform(15, 55);
  let memory = rng.uniform(30, 65);
  let errorChance = 0.02;
  if (service === "checkout" && minute >= 3 && minute < 6) cpu = rng.uniform(90, 99);
  if (service === "checkout" && minute >= 12 && minute < 14) errorChance = 0.45;
  if (service === "search" && minute >= 7 && minute < 11) memory = Math.min(99, 60 + (minute - 7) * 15);
  const failed = rng.next() < errorChance;
  return makeEvent({
    t,
    service,
    level: failed ? "ERROR" : "INFO",
    event_type: "request",
    message: failed ? "POST /pay 503" : "GET /item 200",
    status_code: failed ? 503 : 200,
    source_ip: `10.0.${rng.int(4)}.${rng.int(250)}`,
    request_id: requestId,
    metrics: { cpu_pct: cpu, memory_pct: memory, latency_ms: rng.uniform(5, 80) },
  });
}

function edgeRequest(t: number, ip: string, path: string, status: number): LogEvent {
  return {
    ...makeEvent({
      t,
      service: "edge",
      level: status >= 400 ? "WARN" : "INFO",
      event_type: "request",
      message: `GET ${path} HTTP/1.1`,
      status_code: status,
      source_ip: ip,
    }),
    metrics: { cpu_pct: null, memory_pct: null, latency_ms: null },
    origin: "nginx",
    http: { method: "GET", path, vhost: null, user_agent: "scanner", bytes: 0 },
  };
}

function sshdFailure(t: number, host: string): LogEvent {
  return {
    ...makeEvent({
      t,
      service: "auth",
      level: "WARN",
      event_type: "auth_failure",
      message: `Failed password for root from ${host} port 22 ssh2`,
      status_code: null,
      source_ip: host,
      user: "root",
    }),
    metrics: { cpu_pct: null, memory_pct: null, latency_ms: null },
    origin: "sshd",
  };
}

/** One failure a second from a single attacker, plus stuffing against "admin" from rotating IPs. */
function attackEvents(rng: Rng, s: number): LogEvent[] {
  const failure = (t: number, ip: string, user: string): LogEvent =>
    makeEvent({
      t,
      service: "auth",
      level: "WARN",
      event_type: "auth_failure",
      message: `login failed for ${user}`,
      status_code: 401,
      source_ip: ip,
      user,
    });
  const out = [failure(s + 0.5, "203.0.113.9", `user${rng.int(5)}`)];
  if (s % 4 === 0) out.push(failure(s + 0.7, `198.51.100.${rng.int(6)}`, "admin"));
  return out;
}
