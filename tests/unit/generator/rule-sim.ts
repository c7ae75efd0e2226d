/**
 * A small, independent re-statement of the rule semantics in shared/config/defaults.ts, used to check
 * that generated incidents cross the default thresholds clearly and that baseline traffic and benign
 * spikes stay clear of them. It is deliberately naive (arrays, linear scans); it only runs in tests.
 */
import type { AlertType } from "../../../shared/alerts/types.js";
import { DEFAULT_CONFIG } from "../../../shared/config/defaults.js";
import type { MeasuredEvent as LogEvent } from "../../../shared/log/schema.js";

export interface SimulatedFiring {
  type: AlertType;
  service: string;
  entity: string;
  atMs: number;
}

interface Sample {
  t: number;
  v: number;
}

function thresholdFirings(
  events: readonly LogEvent[],
  type: "high_cpu" | "high_memory",
  pick: (e: LogEvent) => number,
  rule: { threshold_pct: number; recovery_pct: number; for_s: number; smoothing_s: number },
): SimulatedFiring[] {
  const firings: SimulatedFiring[] = [];
  const state = new Map<
    string,
    { window: Sample[]; sum: number; pendingSince: number | null; firing: boolean }
  >();
  for (const e of events) {
    let s = state.get(e.service);
    if (!s) {
      s = { window: [], sum: 0, pendingSince: null, firing: false };
      state.set(e.service, s);
    }
    const v = pick(e);
    s.window.push({ t: e.timeMs, v });
    s.sum += v;
    while (s.window.length > 0 && (s.window[0] as Sample).t <= e.timeMs - rule.smoothing_s * 1000) {
      s.sum -= (s.window.shift() as Sample).v;
    }
    const smoothed = s.sum / s.window.length;
    if (s.firing) {
      if (smoothed < rule.recovery_pct) s.firing = false;
      continue;
    }
    if (smoothed >= rule.threshold_pct) {
      s.pendingSince ??= e.timeMs;
      if (e.timeMs - s.pendingSince >= rule.for_s * 1000) {
        s.firing = true;
        s.pendingSince = null;
        firings.push({ type, service: e.service, entity: "", atMs: e.timeMs });
      }
    } else {
      s.pendingSince = null;
    }
  }
  return firings;
}

function errorRateFirings(events: readonly LogEvent[]): SimulatedFiring[] {
  const rule = DEFAULT_CONFIG.detectors.error_rate;
  const firings: SimulatedFiring[] = [];
  const state = new Map<
    string,
    { window: { t: number; error: boolean }[]; errors: number; firing: boolean }
  >();
  for (const e of events) {
    if (e.event_type !== "request" && e.event_type !== "error") continue;
    let s = state.get(e.service);
    if (!s) {
      s = { window: [], errors: 0, firing: false };
      state.set(e.service, s);
    }
    const error = e.event_type === "error" || (e.status_code ?? 0) >= 500;
    s.window.push({ t: e.timeMs, error });
    if (error) s.errors++;
    while (s.window.length > 0 && (s.window[0] as { t: number }).t <= e.timeMs - rule.window_s * 1000) {
      if ((s.window.shift() as { error: boolean }).error) s.errors--;
    }
    if (s.window.length < rule.min_requests) continue;
    const ratio = s.errors / s.window.length;
    if (s.firing) {
      if (ratio < rule.recovery_ratio) s.firing = false;
    } else if (ratio >= rule.threshold_ratio) {
      s.firing = true;
      firings.push({ type: "high_error_rate", service: e.service, entity: "", atMs: e.timeMs });
    }
  }
  return firings;
}

function bruteForceFirings(events: readonly LogEvent[]): SimulatedFiring[] {
  const rule = DEFAULT_CONFIG.detectors.brute_force;
  const windowMs = rule.find_time_s * 1000;
  const firings: SimulatedFiring[] = [];
  const byIp = new Map<string, { times: number[]; firing: boolean }>();
  const byUser = new Map<string, { tries: { t: number; ip: string }[]; firing: boolean }>();
  for (const e of events) {
    if (e.event_type !== "auth_failure") continue;
    const ip = e.source_ip ?? "";
    const user = e.user ?? "";
    let a = byIp.get(ip);
    if (!a) {
      a = { times: [], firing: false };
      byIp.set(ip, a);
    }
    a.times.push(e.timeMs);
    while ((a.times[0] as number) <= e.timeMs - windowMs) a.times.shift();
    if (a.times.length >= rule.ip_max_failures) {
      if (!a.firing) firings.push({ type: "brute_force_ip", service: e.service, entity: ip, atMs: e.timeMs });
      a.firing = true;
    } else a.firing = false;

    let u = byUser.get(user);
    if (!u) {
      u = { tries: [], firing: false };
      byUser.set(user, u);
    }
    u.tries.push({ t: e.timeMs, ip });
    while ((u.tries[0] as { t: number }).t <= e.timeMs - windowMs) u.tries.shift();
    const ips = new Set(u.tries.map((x) => x.ip)).size;
    if (u.tries.length >= rule.user_max_failures && ips >= rule.user_min_ips) {
      if (!u.firing)
        firings.push({ type: "brute_force_user", service: e.service, entity: user, atMs: e.timeMs });
      u.firing = true;
    } else u.firing = false;
  }
  return firings;
}

/** Every firing the default rules would produce on these events, in time order. */
export function simulateDefaultRules(events: readonly LogEvent[]): SimulatedFiring[] {
  const { cpu, memory } = DEFAULT_CONFIG.detectors;
  return [
    ...thresholdFirings(events, "high_cpu", (e) => e.metrics.cpu_pct, cpu),
    ...thresholdFirings(events, "high_memory", (e) => e.metrics.memory_pct, memory),
    ...errorRateFirings(events),
    ...bruteForceFirings(events),
  ].sort((a, b) => a.atMs - b.atMs);
}
