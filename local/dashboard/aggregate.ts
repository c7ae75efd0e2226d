import { ALERT_TYPES, type AlertType } from "../../shared/alerts/types.js";
import type { LogEvent } from "../../shared/log/schema.js";

/** One service over one aggregation interval; null where the interval had no sample of that kind. */
export interface ServicePoint {
  events: number;
  cpuPct: number | null;
  memoryPct: number | null;
  /** 95th percentile latency of user traffic, to the histogram's resolution (LATENCY_BUCKET_MS). */
  latencyP95Ms: number | null;
  /** Failed share of user traffic (the error-rate detector's definition), 0..1. */
  errorRate: number | null;
}

/** Everything the dashboard charts for one interval of event time. */
export interface SeriesPoint {
  /** End of the interval, event time. */
  atMs: number;
  spanMs: number;
  events: number;
  /** Events per second of event time over the interval. */
  eventsPerSecond: number;
  /** New firing episodes per alert type during the interval. */
  alertsByType: Record<AlertType, number>;
  services: Record<string, ServicePoint>;
}

/** Latency histogram resolution; p95 is reported as the upper edge of its bucket. */
export const LATENCY_BUCKET_MS = 10;
const LATENCY_BUCKETS = 1000;
const LATENCY_LIMIT_MS = LATENCY_BUCKETS * LATENCY_BUCKET_MS;
/** Services beyond this many are folded into one, so a hostile input cannot grow memory without bound. */
export const MAX_SERVICES = 64;
export const OTHER_SERVICES = "(other)";

class ServiceAccumulator {
  events = 0;
  cpuSum = 0;
  memorySum = 0;
  traffic = 0;
  errors = 0;
  readonly latency = new Uint32Array(LATENCY_BUCKETS + 1);
  /** Highest latency bucket written since the last reset: clearing stops there. */
  topBucket = 0;

  reset(): void {
    this.events = 0;
    this.cpuSum = 0;
    this.memorySum = 0;
    this.traffic = 0;
    this.errors = 0;
    this.latency.fill(0, 0, this.topBucket + 1);
    this.topBucket = 0;
  }

  point(): ServicePoint {
    return {
      events: this.events,
      cpuPct: this.events > 0 ? round2(this.cpuSum / this.events) : null,
      memoryPct: this.events > 0 ? round2(this.memorySum / this.events) : null,
      latencyP95Ms: this.traffic > 0 ? percentileOf(this.latency, this.traffic, 0.95) : null,
      errorRate: this.traffic > 0 ? round4(this.errors / this.traffic) : null,
    };
  }
}

/**
 * Folds events into per-interval figures for the live dashboard. `observe` runs once per event and
 * only adds to counters (no allocation once a service is known); `close` runs once per interval and
 * builds the point. Pure: time comes from the caller, nothing is read from a clock.
 *
 * `observe` is on the processor's hot path (`npm run bench -- processor` measures it), hence the
 * inlined traffic test (the error-rate detector's `classifyTraffic`, which a unit test keeps it
 * equal to) and a histogram cleared only as far as it was written.
 */
export class LiveAggregator {
  private readonly services = new Map<string, ServiceAccumulator>();
  private openedAtMs: number | null = null;
  private lastAlertTotals: Partial<Record<AlertType, number>> = {};

  /** Count one event into the open interval. An arrow so it can be handed over as a callback. */
  readonly observe = (event: LogEvent): void => {
    let service = this.services.get(event.service);
    if (service === undefined) service = this.addService(event.service);
    service.events++;
    const metrics = event.metrics;
    service.cpuSum += metrics.cpu_pct;
    service.memorySum += metrics.memory_pct;
    const type = event.event_type;
    if (type === "request" || type === "error" || type === "auth_success" || type === "auth_failure") {
      service.traffic++;
      if (type === "error" || (event.status_code !== null && event.status_code >= 500)) service.errors++;
      // The parser guarantees latency_ms >= 0; past the last bucket it lands in the overflow one.
      const latency = metrics.latency_ms;
      const bucket = latency < LATENCY_LIMIT_MS ? (latency / LATENCY_BUCKET_MS) | 0 : LATENCY_BUCKETS;
      service.latency[bucket]!++;
      if (bucket > service.topBucket) service.topBucket = bucket;
    }
  };

  /** Start the first interval at `atMs` (otherwise the first `close` only sets the start). */
  open(atMs: number): void {
    this.openedAtMs = atMs;
  }

  /**
   * End the open interval at event time `nowMs` and return its point. `alertTotals` are the
   * pipeline's cumulative new-episode counts per type; the point carries the increase since the
   * last close. Returns null when no interval was open yet or no time passed.
   */
  close(nowMs: number, alertTotals: Partial<Record<AlertType, number>>): SeriesPoint | null {
    const opened = this.openedAtMs;
    this.openedAtMs = nowMs;
    const alertsByType = {} as Record<AlertType, number>;
    for (const type of ALERT_TYPES) {
      alertsByType[type] = (alertTotals[type] ?? 0) - (this.lastAlertTotals[type] ?? 0);
    }
    this.lastAlertTotals = { ...alertTotals };
    if (opened === null || nowMs <= opened) {
      this.resetCounters();
      return null;
    }
    const spanMs = nowMs - opened;
    const services: Record<string, ServicePoint> = {};
    let events = 0;
    for (const [name, service] of this.services) {
      if (service.events === 0) continue;
      services[name] = service.point();
      events += service.events;
    }
    const point: SeriesPoint = {
      atMs: nowMs,
      spanMs,
      events,
      eventsPerSecond: round2(events / (spanMs / 1000)),
      alertsByType,
      services,
    };
    this.resetCounters();
    return point;
  }

  private resetCounters(): void {
    for (const service of this.services.values()) if (service.events > 0) service.reset();
  }

  private addService(name: string): ServiceAccumulator {
    if (this.services.size >= MAX_SERVICES) {
      let other = this.services.get(OTHER_SERVICES);
      if (other === undefined) {
        other = new ServiceAccumulator();
        this.services.set(OTHER_SERVICES, other);
      }
      return other;
    }
    const service = new ServiceAccumulator();
    this.services.set(name, service);
    return service;
  }
}

/** The value at quantile `q` of a histogram holding `count` samples, as its bucket's upper edge. */
function percentileOf(histogram: Uint32Array, count: number, q: number): number {
  const rank = Math.ceil(q * count);
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    seen += histogram[i]!;
    if (seen >= rank) return (i + 1) * LATENCY_BUCKET_MS;
  }
  return histogram.length * LATENCY_BUCKET_MS;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

function round4(n: number): number {
  return Math.round(n * 10_000) / 10_000;
}
