import type { AlertType, DetectorFinding } from "../alerts/types.js";
import type { ThresholdRuleConfig } from "../config/types.js";
import { StateError } from "../errors.js";
import type { LogEvent, LogMetrics } from "../log/schema.js";
import { CapacityGuard } from "./capacity.js";
import { appendFinding, NO_FINDINGS } from "./detector.js";
import {
  type Dropped,
  KeyedStates,
  readFiniteNumber,
  SampleRing,
  ServiceRuleDetector,
  type ServiceStateBase,
} from "./state.js";
import { BucketWindow } from "./window.js";

/** Prometheus marks a series stale after 5 minutes without samples; a silent service resolves then. */
export const MIN_STALE_MS = 5 * 60_000;

const STATE_VERSION = 1;

const INACTIVE = 0;
const PENDING = 1;
const FIRING = 2;
type Phase = typeof INACTIVE | typeof PENDING | typeof FIRING;

interface ServiceState {
  window: BucketWindow;
  phase: Phase;
  /** Start of the current pending or firing episode. */
  sinceMs: number;
  lastSeenMs: number;
  /** Highest smoothed value of the current episode. */
  peak: number;
  /** Recent readings at or above the threshold: the evidence shown when firing. */
  high: SampleRing;
  /** The most recent readings of any value while pending or firing: the evidence shown when resolving. */
  recent: SampleRing;
}

export interface ThresholdDetectorOptions {
  name: string;
  type: Extract<AlertType, "high_cpu" | "high_memory">;
  metric: keyof Pick<LogMetrics, "cpu_pct" | "memory_pct">;
  /** Human label for summaries, for example "CPU". */
  label: string;
  config: ThresholdRuleConfig;
  /** At most this many services tracked (default: the config's `max_services`, else 1000). */
  maxServices?: number;
}

/**
 * Per-service "metric stays high" rule with Prometheus `for` semantics and hysteresis.
 *
 * Each service's metric is smoothed as the mean of its readings over `smoothing_s`. The smoothed
 * value at or above `threshold_pct` makes the service pending; it fires once the smoothed value has
 * stayed there for `for_s` and the reading that arrives then is itself at or above the threshold.
 * That last condition is what keeps a short spike from firing: smoothing drags a spike out by up
 * to `smoothing_s`, but no reading after the spike is high, so a spike shorter than `for_s` can never
 * satisfy both. A firing service resolves only when the smoothed value falls below `recovery_pct`,
 * so a value wandering between recovery and threshold does not flap. A firing service that sends
 * nothing for the stale period (5 minutes or more) resolves with `details.reason = "no_data"`.
 */
export class ThresholdRuleDetector extends ServiceRuleDetector<ServiceState> {
  readonly name: string;
  private readonly type: ThresholdDetectorOptions["type"];
  private readonly metric: ThresholdDetectorOptions["metric"];
  private readonly isCpu: boolean;
  private readonly label: string;
  private readonly threshold: number;
  private readonly recovery: number;
  private readonly forMs: number;
  private readonly smoothingMs: number;
  /** Only a service idle for a whole window makes room for a newcomer. */
  protected readonly roomAfterMs: number;
  protected readonly staleMs: number;
  private readonly maxServices: number;
  private readonly severity: ThresholdRuleConfig["severity"];
  /** Per service; the active ones are pending or firing. */
  protected readonly services: KeyedStates<ServiceState>;

  constructor(options: ThresholdDetectorOptions) {
    super();
    const { config } = options;
    if (!(config.recovery_pct <= config.threshold_pct)) {
      throw new RangeError(`${options.name}: recovery_pct must not exceed threshold_pct`);
    }
    if (!(config.for_s >= 0) || !(config.smoothing_s > 0)) {
      throw new RangeError(`${options.name}: for_s must be >= 0 and smoothing_s > 0`);
    }
    this.name = options.name;
    this.type = options.type;
    this.metric = options.metric;
    this.isCpu = options.metric === "cpu_pct";
    this.label = options.label;
    this.threshold = config.threshold_pct;
    this.recovery = config.recovery_pct;
    this.forMs = config.for_s * 1000;
    this.roomAfterMs = this.smoothingMs = config.smoothing_s * 1000;
    this.staleMs = Math.max(MIN_STALE_MS, 2 * (this.smoothingMs + this.forMs));
    this.maxServices = options.maxServices ?? config.max_services ?? 1000;
    const capacity = new CapacityGuard(this.name, "services", this.maxServices, this.staleMs);
    this.services = new KeyedStates(this.maxServices, capacity);
    this.severity = config.severity;
  }

  observe(event: LogEvent): readonly DetectorFinding[] {
    // A named property read, not metrics[this.metric]: the two instances (CPU, memory) share this
    // code, and a keyed read with two different keys goes through V8's slow generic lookup.
    const value = this.isCpu ? event.metrics.cpu_pct : event.metrics.memory_pct;
    if (!Number.isFinite(event.timeMs) || typeof value !== "number" || !Number.isFinite(value)) {
      return NO_FINDINGS;
    }
    const nowMs = this.clock.observe(event.timeMs);
    return this.maintain(nowMs, this.record(event, value, nowMs)) ?? NO_FINDINGS;
  }

  /** Add one reading to its service and apply the state machine; the periodic re-check runs after. */
  private record(event: LogEvent, value: number, nowMs: number): DetectorFinding[] | null {
    const state = this.serviceState(event, nowMs);
    const found = this.services.admitted;
    if (state === undefined) return found;
    // A reading older than the window cannot change a verdict.
    if (!state.window.slideAndAdd(nowMs, event.timeMs, value, 1)) return found;
    if (value >= this.threshold) state.high.push(event);
    // Resolution evidence only matters for a service that can resolve. Keeping a reference to
    // every event would cost a GC write barrier per event (a young object stored into an old ring).
    if (state.phase !== INACTIVE) state.recent.push(event);
    return this.evaluate(event.service, state, nowMs, value, found);
  }

  protected readonly stateVersion = STATE_VERSION;

  protected newState(event: LogEvent, nowMs: number): ServiceState {
    return {
      window: this.newWindow(),
      phase: INACTIVE,
      sinceMs: nowMs,
      lastSeenMs: event.timeMs,
      peak: 0,
      high: new SampleRing(),
      recent: new SampleRing(),
    };
  }

  protected newWindow(): BucketWindow {
    return new BucketWindow(this.smoothingMs);
  }

  protected ownState(state: ServiceState): Record<string, unknown> {
    return { phase: state.phase, peak: state.peak, high: state.high.toState() };
  }

  protected restoreService(
    item: Record<string, unknown>,
    common: ServiceStateBase<BucketWindow>,
  ): ServiceState {
    const phase = readFiniteNumber(this.name, item, "phase");
    if (phase !== INACTIVE && phase !== PENDING && phase !== FIRING) {
      throw new StateError(this.name, `unknown phase ${phase}`);
    }
    const peak = readFiniteNumber(this.name, item, "peak");
    const high = SampleRing.fromState(this.name, item.high);
    const { window, sinceMs, lastSeenMs, recent } = common;
    return { window, phase, sinceMs, lastSeenMs, peak, high, recent };
  }

  protected isActive(state: ServiceState): boolean {
    return state.phase !== INACTIVE;
  }

  protected evaluateAt(
    service: string,
    state: ServiceState,
    nowMs: number,
    out: DetectorFinding[] | null,
  ): DetectorFinding[] | null {
    return this.evaluate(service, state, nowMs, null, out);
  }

  protected readonly dropService: Dropped<ServiceState> = (service, state, reason, nowMs, out) =>
    state.phase === FIRING ? appendFinding(out, this.resolvedFinding(service, state, nowMs, reason)) : out;

  /**
   * Apply the state machine at `nowMs`. `reading` is the value that just arrived, or null when only
   * time passed (then a service can fall back or resolve but not start firing).
   */
  private evaluate(
    service: string,
    state: ServiceState,
    nowMs: number,
    reading: number | null,
    out: DetectorFinding[] | null,
  ): DetectorFinding[] | null {
    const count = state.window.totalB;
    if (count === 0) {
      // No readings in the window: no verdict. Pending needs a continuous condition, so it ends.
      if (state.phase === PENDING) {
        state.phase = INACTIVE;
        this.services.active.delete(service);
      }
      return out;
    }
    const smoothed = state.window.totalA / count;
    if (state.phase === FIRING) {
      if (smoothed > state.peak) state.peak = smoothed;
      if (smoothed >= this.recovery) return out;
      state.phase = INACTIVE;
      this.services.active.delete(service);
      return appendFinding(out, this.resolvedFinding(service, state, nowMs, "recovered", smoothed));
    }
    if (smoothed < this.threshold) {
      if (state.phase === PENDING) {
        state.phase = INACTIVE;
        this.services.active.delete(service);
      }
      return out;
    }
    if (state.phase === INACTIVE) {
      state.phase = PENDING;
      state.sinceMs = nowMs;
      state.peak = smoothed;
      this.services.active.add(service);
    } else if (smoothed > state.peak) {
      state.peak = smoothed;
    }
    if (reading === null || reading < this.threshold || nowMs - state.sinceMs < this.forMs) return out;
    state.phase = FIRING;
    return appendFinding(out, this.firingFinding(service, state, nowMs, smoothed, reading));
  }

  private firingFinding(
    service: string,
    state: ServiceState,
    nowMs: number,
    smoothed: number,
    reading: number,
  ): DetectorFinding {
    const heldS = Math.round((nowMs - state.sinceMs) / 1000);
    return {
      status: "firing",
      type: this.type,
      service,
      entity: "",
      severity: this.severity,
      summary: `${this.label} on ${service} at ${smoothed.toFixed(1)}% (${this.smoothingMs / 1000}s mean) for ${heldS}s, threshold ${this.threshold}%`,
      observed: smoothed,
      threshold: this.threshold,
      unit: "%",
      windowMs: this.forMs,
      atMs: nowMs,
      sinceMs: state.sinceMs,
      samples: state.high.lines(),
      details: {
        smoothed_pct: round2(smoothed),
        latest_pct: round2(reading),
        peak_pct: round2(state.peak),
        readings_in_window: state.window.totalB,
        smoothing_s: this.smoothingMs / 1000,
        for_s: this.forMs / 1000,
        recovery_pct: this.recovery,
      },
    };
  }

  private resolvedFinding(
    service: string,
    state: ServiceState,
    nowMs: number,
    reason: string,
    smoothed?: number,
  ): DetectorFinding {
    const observed = smoothed ?? Number.NaN;
    const summary =
      smoothed === undefined
        ? `${this.label} on ${service}: no readings for ${Math.round(this.staleMs / 1000)}s, resolving`
        : `${this.label} on ${service} back to ${smoothed.toFixed(1)}%, below recovery ${this.recovery}%`;
    return {
      status: "resolved",
      type: this.type,
      service,
      entity: "",
      severity: this.severity,
      summary,
      observed: Number.isFinite(observed) ? observed : 0,
      threshold: this.recovery,
      unit: "%",
      windowMs: this.smoothingMs,
      atMs: nowMs,
      sinceMs: state.sinceMs,
      samples: state.recent.lines(),
      details: {
        reason,
        peak_pct: round2(state.peak),
        firing_for_s: Math.round((nowMs - state.sinceMs) / 1000),
        recovery_pct: this.recovery,
      },
    };
  }
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

export function createCpuDetector(config: ThresholdRuleConfig): ThresholdRuleDetector {
  return new ThresholdRuleDetector({
    name: "high_cpu",
    type: "high_cpu",
    metric: "cpu_pct",
    label: "CPU",
    config,
  });
}

export function createMemoryDetector(config: ThresholdRuleConfig): ThresholdRuleDetector {
  return new ThresholdRuleDetector({
    name: "high_memory",
    type: "high_memory",
    metric: "memory_pct",
    label: "Memory",
    config,
  });
}
