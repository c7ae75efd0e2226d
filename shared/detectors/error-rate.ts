import type { DetectorFinding } from "../alerts/types.js";
import type { ErrorRateConfig } from "../config/types.js";
import type { EventType, LogEvent } from "../log/schema.js";
import { CapacityGuard } from "./capacity.js";
import { appendFinding, NO_FINDINGS } from "./detector.js";
import {
  type Dropped,
  KeyedStates,
  readBoolean,
  readFiniteNumber,
  resolveIfFiring,
  SampleRing,
  ServiceRuleDetector,
  type ServiceStateBase,
} from "./state.js";
import { MIN_STALE_MS } from "./threshold.js";
import { BucketWindow } from "./window.js";

const STATE_VERSION = 1;

/** The event types `classifyTraffic` counts; every other type is neither a request nor an error. */
export const TRAFFIC_TYPES: readonly EventType[] = ["request", "error", "auth_success", "auth_failure"];

/**
 * Whether an event counts as a request, and whether as a failed one. User traffic counts: request,
 * error, auth_success and auth_failure. Health checks are left out on purpose: a steady stream of
 * successful probes would dilute a real error burst.
 */
export function classifyTraffic(event: LogEvent): "error" | "ok" | null {
  // Comparisons rather than a Set lookup: this runs for every event, and the parser hands out one
  // shared string per event type, so each comparison is a pointer check.
  const type = event.event_type;
  if (type === "error") return "error";
  if (type !== "request" && type !== "auth_success" && type !== "auth_failure") return null;
  return event.status_code !== null && event.status_code >= 500 ? "error" : "ok";
}

interface ServiceState {
  /** a = errors, b = requests, per bucket. */
  window: BucketWindow;
  firing: boolean;
  sinceMs: number;
  lastSeenMs: number;
  peakRatio: number;
  /** Recent errors: the evidence shown when firing. */
  errors: SampleRing;
  /** Recent requests while firing: the evidence shown when resolving. */
  recent: SampleRing;
}

export interface ErrorRateDetectorOptions {
  maxServices?: number;
}

/**
 * Per-service error ratio over a sliding `window_s` of one-second buckets. Errors are events of
 * type "error" or with status >= 500; requests are all traffic events (see classifyTraffic). With fewer
 * than `min_requests` in the window there is no verdict to fire on; at or above `threshold_ratio`
 * it fires, and it resolves once the ratio is below `recovery_ratio` (the request minimum does not
 * apply to recovery: a quiet window with no errors is good news). A firing service with no traffic
 * for the stale period resolves with `details.reason = "no_data"`.
 */
export class ErrorRateDetector extends ServiceRuleDetector<ServiceState> {
  readonly name = "high_error_rate";
  readonly eventTypes = TRAFFIC_TYPES;
  private readonly config: ErrorRateConfig;
  private readonly windowMs: number;
  /** Only a service idle for a whole window makes room for a newcomer. */
  protected readonly roomAfterMs: number;
  protected readonly staleMs: number;
  private readonly maxServices: number;
  /** Per service; the active ones are firing. */
  protected readonly services: KeyedStates<ServiceState>;

  constructor(config: ErrorRateConfig, options: ErrorRateDetectorOptions = {}) {
    super();
    if (!(config.window_s > 0) || !(config.recovery_ratio <= config.threshold_ratio)) {
      throw new RangeError("high_error_rate: window_s must be > 0 and recovery_ratio <= threshold_ratio");
    }
    this.config = config;
    this.roomAfterMs = this.windowMs = config.window_s * 1000;
    this.staleMs = Math.max(MIN_STALE_MS, 2 * this.windowMs);
    this.maxServices = options.maxServices ?? config.max_services ?? 1000;
    const capacity = new CapacityGuard(this.name, "services", this.maxServices, this.staleMs);
    this.services = new KeyedStates(this.maxServices, capacity);
  }

  observe(event: LogEvent): readonly DetectorFinding[] {
    const kind = classifyTraffic(event);
    if (kind === null || !Number.isFinite(event.timeMs)) return NO_FINDINGS;
    const nowMs = this.clock.observe(event.timeMs);
    return this.maintain(nowMs, this.record(event, kind === "error", nowMs)) ?? NO_FINDINGS;
  }

  /** Count one request in its service and apply the state machine; the periodic re-check runs after. */
  private record(event: LogEvent, isError: boolean, nowMs: number): DetectorFinding[] | null {
    const state = this.serviceState(event, nowMs);
    const found = this.services.admitted;
    if (state === undefined) return found;
    if (!state.window.slideAndAdd(nowMs, event.timeMs, isError ? 1 : 0, 1)) return found;
    if (isError) state.errors.push(event);
    // Only a firing service resolves, so only its recent requests are ever shown; keeping every
    // event would cost a GC write barrier per event.
    if (state.firing) state.recent.push(event);
    return this.evaluateAt(event.service, state, nowMs, found);
  }

  protected readonly stateVersion = STATE_VERSION;

  protected newState(event: LogEvent): ServiceState {
    return {
      window: this.newWindow(),
      firing: false,
      sinceMs: event.timeMs,
      lastSeenMs: event.timeMs,
      peakRatio: 0,
      errors: new SampleRing(),
      recent: new SampleRing(),
    };
  }

  protected newWindow(): BucketWindow {
    return new BucketWindow(this.windowMs);
  }

  protected ownState(state: ServiceState): Record<string, unknown> {
    return { firing: state.firing, peakRatio: state.peakRatio, errors: state.errors.toState() };
  }

  protected restoreService(
    item: Record<string, unknown>,
    common: ServiceStateBase<BucketWindow>,
  ): ServiceState {
    const firing = readBoolean(this.name, item, "firing");
    const peakRatio = readFiniteNumber(this.name, item, "peakRatio");
    const errors = SampleRing.fromState(this.name, item.errors);
    const { window, sinceMs, lastSeenMs, recent } = common;
    return { window, firing, sinceMs, lastSeenMs, peakRatio, errors, recent };
  }

  protected isActive(state: ServiceState): boolean {
    return state.firing;
  }

  protected readonly dropService: Dropped<ServiceState> = (service, state, reason, nowMs, out) =>
    resolveIfFiring(state, out, (s) => this.finding(service, s, nowMs, "resolved", reason));

  protected evaluateAt(
    service: string,
    state: ServiceState,
    nowMs: number,
    out: DetectorFinding[] | null,
  ): DetectorFinding[] | null {
    const requests = state.window.totalB;
    if (requests === 0) return out;
    const ratio = state.window.totalA / requests;
    if (state.firing) {
      if (ratio > state.peakRatio) state.peakRatio = ratio;
      if (ratio >= this.config.recovery_ratio) return out;
      state.firing = false;
      this.services.active.delete(service);
      return appendFinding(out, this.finding(service, state, nowMs, "resolved", "recovered"));
    }
    if (requests < this.config.min_requests || ratio < this.config.threshold_ratio) return out;
    state.firing = true;
    state.peakRatio = ratio;
    // The ratio crossing is the start: the oldest error in the window may be ordinary background.
    state.sinceMs = nowMs;
    this.services.active.add(service);
    return appendFinding(out, this.finding(service, state, nowMs, "firing", ""));
  }

  private finding(
    service: string,
    state: ServiceState,
    nowMs: number,
    status: "firing" | "resolved",
    reason: string,
  ): DetectorFinding {
    const errors = state.window.totalA;
    const requests = state.window.totalB;
    const ratio = requests > 0 ? errors / requests : 0;
    const pct = (ratio * 100).toFixed(1);
    const windowS = this.config.window_s;
    const details: Record<string, number | string> = {
      errors,
      requests,
      error_ratio: Math.round(ratio * 10_000) / 10_000,
      peak_ratio: Math.round(state.peakRatio * 10_000) / 10_000,
      window_s: windowS,
      min_requests: this.config.min_requests,
    };
    if (status === "resolved") details.reason = reason;
    const summary =
      status === "firing"
        ? `${pct}% of requests failing on ${service} (${errors}/${requests} in ${windowS}s), threshold ${this.config.threshold_ratio * 100}%`
        : reason === "recovered"
          ? `Error rate on ${service} back to ${pct}% (${errors}/${requests} in ${windowS}s), below recovery ${this.config.recovery_ratio * 100}%`
          : `Error rate on ${service}: no traffic for ${Math.round(this.staleMs / 1000)}s, resolving`;
    return {
      status,
      type: "high_error_rate",
      service,
      entity: "",
      severity: this.config.severity,
      summary,
      observed: ratio,
      threshold: status === "firing" ? this.config.threshold_ratio : this.config.recovery_ratio,
      unit: "ratio",
      windowMs: this.windowMs,
      atMs: nowMs,
      sinceMs: state.sinceMs,
      samples: status === "firing" ? state.errors.lines() : state.recent.lines(),
      details,
    };
  }
}
