import type { IncidentSummary } from "./types.js";
import { utcDay } from "./types.js";

export interface DurationStats {
  count: number;
  meanMs: number | null;
  medianMs: number | null;
  p90Ms: number | null;
  maxMs: number | null;
}

export interface HistoryStats {
  incidents: number;
  /** Incidents per UTC day, service and type (day by the alert's start). */
  perDay: { day: string; service: string; type: string; count: number }[];
  /** From the first sign (first matching log line, or the start of pending) to firing. */
  timeToDetect: DurationStats;
  /** From firing to resolved, over resolved incidents. */
  timeToResolve: DurationStats;
  stillFiring: number;
}

/** Counts and durations over incidents (pure: the CLI reads the summaries, this does the sums). */
export function historyStats(incidents: readonly IncidentSummary[]): HistoryStats {
  const counts = new Map<string, { day: string; service: string; type: string; count: number }>();
  const detect: number[] = [];
  const resolve: number[] = [];
  let stillFiring = 0;
  for (const s of incidents) {
    const day = utcDay(s.startsAtMs);
    const key = `${day}\u001f${s.service}\u001f${s.type}`;
    const row = counts.get(key) ?? { day, service: s.service, type: s.type, count: 0 };
    row.count++;
    counts.set(key, row);
    if (s.firstSignMs !== null && s.firstSignMs <= s.startsAtMs) detect.push(s.startsAtMs - s.firstSignMs);
    if (s.endsAtMs !== null) resolve.push(s.endsAtMs - s.startsAtMs);
    else stillFiring++;
  }
  const perDay = [...counts.values()].sort(
    (a, b) =>
      a.day.localeCompare(b.day) || a.service.localeCompare(b.service) || a.type.localeCompare(b.type),
  );
  return {
    incidents: incidents.length,
    perDay,
    timeToDetect: durationStats(detect),
    timeToResolve: durationStats(resolve),
    stillFiring,
  };
}

export function durationStats(values: readonly number[]): DurationStats {
  if (values.length === 0) return { count: 0, meanMs: null, medianMs: null, p90Ms: null, maxMs: null };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
  return {
    count: sorted.length,
    meanMs: Math.round(sorted.reduce((sum, v) => sum + v, 0) / sorted.length),
    medianMs: at(0.5),
    p90Ms: at(0.9),
    maxMs: sorted[sorted.length - 1] as number,
  };
}
