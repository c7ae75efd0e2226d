import type { LogLevel, MeasuredEvent } from "../log/schema.js";
import { Rng } from "../random.js";
import type { RemediationAction } from "../remediation/types.js";
import { type Incident, IncidentPlanner } from "./schedule.js";
import { GUESSED_ACCOUNTS, SERVICES, type ServiceProfile, STUFFING_IPS, USERS } from "./services.js";
import type { GeneratorOptions, IncidentTruth, LogGenerator } from "./types.js";

export { ML_WARMUP_MS } from "./schedule.js";
export { SERVICE_NAMES } from "./services.js";
export {
  type GeneratorOptions,
  type IncidentTruth,
  type LogGenerator,
  SCENARIO_TYPES,
  type ScenarioType,
} from "./types.js";

const DAY_MS = 86_400_000;
/** Incidents are planned this far ahead of the newest event, so their start is never missed. */
const PLAN_AHEAD_MS = 600_000;
/** A mean CPU this high during mixed_degradation would risk the 85% rule; stay clearly below it. */
const MIXED_CPU_CEILING = 76;
/** Chance that a baseline event is a deploy: roughly one per service every couple of hours. */
const DEPLOY_CHANCE = 1 / 20_000;
/** Regular users mistype their password now and then. */
const MISTYPE_CHANCE = 0.04;

/**
 * Smooth 24 h curve in [-1, 1]: lowest around 04:00 UTC, highest around 16:00 UTC. Both CPU and the
 * share of user requests (versus background health checks and metrics) follow it.
 */
function dailyCurve(timeMs: number): number {
  const dayFraction = (((timeMs % DAY_MS) + DAY_MS) % DAY_MS) / DAY_MS;
  return Math.sin(2 * Math.PI * (dayFraction - 10 / 24));
}

function clampPct(value: number): number {
  return Math.round(Math.min(100, Math.max(0, value)) * 10) / 10;
}

function validate(options: GeneratorOptions): void {
  const { seed, startMs, minIntervalS, maxIntervalS } = options;
  if (!Number.isSafeInteger(seed)) throw new RangeError(`generator seed must be an integer, got ${seed}`);
  if (!Number.isFinite(startMs)) throw new RangeError(`generator startMs must be finite, got ${startMs}`);
  if (!(Number.isFinite(minIntervalS) && minIntervalS > 0)) {
    throw new RangeError(`generator minIntervalS must be > 0, got ${minIntervalS}`);
  }
  if (!(Number.isFinite(maxIntervalS) && maxIntervalS >= minIntervalS)) {
    throw new RangeError(
      `generator maxIntervalS must be >= minIntervalS (${minIntervalS}), got ${maxIntervalS}`,
    );
  }
}

/**
 * The seeded log generator. Baseline traffic comes at uniformly random gaps in
 * [minIntervalS, maxIntervalS]; incidents change the metrics of their service while active and
 * may add events of their own (attack attempts, client retries), merged in time order.
 */
class SeededLogGenerator implements LogGenerator {
  readonly truth: IncidentTruth[] = [];
  /** Traffic and the incident plan use separate streams: the plan depends only on the seed. */
  private readonly traffic: Rng;
  private readonly planner: IncidentPlanner | null;
  private readonly upcoming: Incident[] = [];
  private readonly active: Incident[] = [];
  /** The active incident per service index (the planner never overlaps two on one service). */
  private readonly byService: (Incident | null)[] = SERVICES.map(() => null);
  private readonly cumulativeWeights: number[];
  private readonly deployVersion: number[] = SERVICES.map(() => 0);
  private nextBaselineMs: number;
  private plannedUntilMs: number;
  /** Event time of the last event returned; remediations end incidents here. */
  private nowMs: number;

  constructor(private readonly options: GeneratorOptions) {
    validate(options);
    const root = new Rng(options.seed);
    this.traffic = root.fork();
    this.planner = options.incidents === false ? null : new IncidentPlanner(root.fork(), options.startMs);
    let total = 0;
    this.cumulativeWeights = SERVICES.map((s) => {
      total += s.weight;
      return total;
    });
    this.nextBaselineMs = options.startMs;
    this.plannedUntilMs = options.startMs - 1;
    this.nowMs = options.startMs;
  }

  next(): MeasuredEvent {
    for (;;) {
      this.planAhead(this.nextBaselineMs);
      // Which comes first: a baseline event, an incident starting, or an incident's own event?
      let atMs = this.nextBaselineMs;
      let source: Incident | null = null;
      for (const incident of this.active) {
        if (incident.nextExtraMs < atMs) {
          atMs = incident.nextExtraMs;
          source = incident;
        }
      }
      const starting = this.upcoming[0];
      if (starting && starting.truth.startMs <= atMs) {
        this.upcoming.shift();
        this.start(starting);
        continue;
      }
      this.expire(atMs);
      if (source !== null && source.truth.endMs <= atMs) continue; // it ended in expire()
      this.nowMs = atMs;
      if (source === null) {
        const gapS = this.traffic.uniform(this.options.minIntervalS, this.options.maxIntervalS);
        this.nextBaselineMs = atMs + Math.max(1, Math.round(gapS * 1000));
        return this.baselineEvent(atMs);
      }
      return this.incidentEvent(source, atMs);
    }
  }

  applyRemediation(action: RemediationAction): boolean {
    // A dry run executes nothing, so the simulated world must not change either.
    if (action.dryRun) return false;
    let changed = false;
    for (const incident of this.active) {
      if (incident.truth.endMs <= this.nowMs) continue;
      const { scenario, service, entity } = incident.truth;
      const target = action.target;
      const matches =
        (action.type === "block_ip" && scenario === "brute_force" && entity === target) ||
        (action.type === "lock_user" && scenario === "credential_stuffing" && entity === target) ||
        (action.type === "restart_service" && scenario === "memory_leak" && service === target) ||
        (action.type === "scale_out" && scenario === "cpu_spike" && service === target) ||
        (action.type === "rollback_deploy" && scenario === "error_burst_after_deploy" && service === target);
      if (matches) {
        // The ban or rollback took effect when it was requested, unless that instant is outside what
        // this generator has already produced; then it takes effect now.
        const atMs = action.requestedAtMs;
        incident.truth.endMs = atMs >= incident.truth.startMs && atMs <= this.nowMs ? atMs : this.nowMs;
        changed = true;
      }
    }
    if (changed) this.expire(this.nowMs);
    return changed;
  }

  private planAhead(untilMs: number): void {
    if (this.planner === null) return;
    while (this.plannedUntilMs < untilMs + PLAN_AHEAD_MS) {
      const incident = this.planner.next();
      this.upcoming.push(incident);
      this.plannedUntilMs = incident.truth.startMs;
    }
  }

  private start(incident: Incident): void {
    this.truth.push(incident.truth);
    this.active.push(incident);
    this.byService[incident.serviceIndex] = incident;
  }

  private expire(atMs: number): void {
    for (let i = this.active.length - 1; i >= 0; i--) {
      const incident = this.active[i] as Incident;
      if (incident.truth.endMs <= atMs) {
        this.active.splice(i, 1);
        if (this.byService[incident.serviceIndex] === incident) this.byService[incident.serviceIndex] = null;
      }
    }
  }

  private pickService(): number {
    const u = this.traffic.next();
    for (let i = 0; i < this.cumulativeWeights.length; i++) {
      if (u < (this.cumulativeWeights[i] ?? 1)) return i;
    }
    return this.cumulativeWeights.length - 1;
  }

  private requestId(): string {
    const rng = this.traffic;
    return `req-${rng.int(0x100000000).toString(16).padStart(8, "0")}${rng.int(0x10000).toString(16).padStart(4, "0")}`;
  }

  private cpu(profile: ServiceProfile, incident: Incident | null, curve: number): number {
    const rng = this.traffic;
    if (incident !== null && incident.cpuLevel > 0) return clampPct(incident.cpuLevel + rng.normal(0, 1.2));
    let mean = profile.cpuBase + profile.cpuDailyAmplitude * curve;
    if (incident !== null && incident.cpuDelta > 0)
      mean = Math.min(mean + incident.cpuDelta, MIXED_CPU_CEILING);
    return clampPct(mean + rng.normal(0, profile.cpuNoise));
  }

  private memory(profile: ServiceProfile, incident: Incident | null, atMs: number, curve: number): number {
    const base = profile.memoryBase + 2 * curve;
    let mean = base;
    if (incident !== null && incident.memoryPeak > 0) {
      const progress = Math.min(1, (atMs - incident.truth.startMs) / incident.rampMs);
      mean = base + (incident.memoryPeak - base) * progress;
      return clampPct(mean + this.traffic.normal(0, 0.4));
    }
    return clampPct(mean + this.traffic.normal(0, profile.memoryNoise));
  }

  private latency(profile: ServiceProfile, incident: Incident | null): number {
    const factor = incident === null ? 1 : incident.latencyFactor;
    const ms = profile.latencyMedianMs * factor * Math.exp(this.traffic.normal(0, profile.latencySigma));
    return Math.round(ms * 10) / 10;
  }

  private baselineEvent(atMs: number): MeasuredEvent {
    const rng = this.traffic;
    const serviceIndex = this.pickService();
    const profile = SERVICES[serviceIndex] as ServiceProfile;
    const incident = this.byService[serviceIndex] ?? null;
    const curve = dailyCurve(atMs);
    const metrics = {
      cpu_pct: this.cpu(profile, incident, curve),
      memory_pct: this.memory(profile, incident, atMs, curve),
      latency_ms: 0,
    };
    const kind = rng.next();
    if (kind < DEPLOY_CHANCE) return this.deployEvent(serviceIndex, atMs, metrics);
    // User traffic follows the day; the rest of the events are background checks and metrics.
    const requestShare = 0.8 + 0.15 * curve;
    if (kind >= requestShare) {
      const isHealth = rng.next() < 0.5;
      return {
        timestamp: new Date(atMs).toISOString(),
        timeMs: atMs,
        service: profile.name,
        level: "INFO",
        event_type: isHealth ? "health_check" : "metric",
        message: isHealth ? "GET /healthz 200" : "host metrics sample",
        metrics,
        status_code: isHealth ? 200 : null,
        source_ip: null,
        user: null,
        request_id: null,
      };
    }
    const user = rng.pick(USERS);
    const ip = rng.pick(user.ips);
    if (profile.authShare > 0 && rng.next() < profile.authShare) {
      metrics.latency_ms = this.latency(profile, incident);
      const failed = rng.next() < MISTYPE_CHANCE;
      return {
        timestamp: new Date(atMs).toISOString(),
        timeMs: atMs,
        service: profile.name,
        level: failed ? "WARN" : "INFO",
        event_type: failed ? "auth_failure" : "auth_success",
        message: failed
          ? `login failed for user ${user.name}: invalid password`
          : `login ok for user ${user.name}`,
        metrics,
        status_code: failed ? 401 : 200,
        source_ip: ip,
        user: user.name,
        request_id: this.requestId(),
      };
    }
    metrics.latency_ms = this.latency(profile, incident);
    const errorRatio =
      incident !== null && incident.errorRatio > 0 ? this.evenErrorRoll(incident) : profile.errorRatio;
    return this.requestEvent(profile, atMs, metrics, errorRatio, user.name, ip);
  }

  private requestEvent(
    profile: ServiceProfile,
    atMs: number,
    metrics: MeasuredEvent["metrics"],
    errorRatio: number,
    user: string,
    ip: string,
  ): MeasuredEvent {
    const rng = this.traffic;
    const endpoint = rng.pick(profile.endpoints);
    let status: number;
    let level: LogLevel;
    const roll = rng.next();
    if (roll < errorRatio) {
      status = rng.pick(SERVER_ERRORS);
      level = "ERROR";
    } else if (roll < errorRatio + 0.03) {
      status = rng.pick(CLIENT_ERRORS);
      level = "WARN";
    } else {
      status = endpoint.method === "POST" ? 201 : 200;
      level = "INFO";
    }
    return {
      timestamp: new Date(atMs).toISOString(),
      timeMs: atMs,
      service: profile.name,
      level,
      event_type: "request",
      message: `${endpoint.method} ${endpoint.path} ${status}`,
      metrics,
      status_code: status,
      source_ip: ip,
      user,
      request_id: this.requestId(),
    };
  }

  private deployEvent(serviceIndex: number, atMs: number, metrics: MeasuredEvent["metrics"]): MeasuredEvent {
    const profile = SERVICES[serviceIndex] as ServiceProfile;
    const from = this.deployVersion[serviceIndex] ?? 0;
    this.deployVersion[serviceIndex] = from + 1;
    return {
      timestamp: new Date(atMs).toISOString(),
      timeMs: atMs,
      service: profile.name,
      level: "INFO",
      event_type: "deploy",
      message: `deploy ${profile.name} v1.${from}.0 -> v1.${from + 1}.0 by ci-bot`,
      metrics,
      status_code: null,
      source_ip: null,
      user: "ci-bot",
      request_id: null,
    };
  }

  /** An event the incident adds on top of the baseline: an attempt, a retry, or the bad deploy. */
  private incidentEvent(incident: Incident, atMs: number): MeasuredEvent {
    const rng = this.traffic;
    // Poisson arrivals at the incident's rate.
    incident.nextExtraMs =
      atMs + Math.max(1, Math.round((-Math.log(1 - rng.next()) / incident.extraPerS) * 1000));
    const profile = SERVICES[incident.serviceIndex] as ServiceProfile;
    const curve = dailyCurve(atMs);
    const metrics = {
      cpu_pct: this.cpu(profile, incident, curve),
      memory_pct: this.memory(profile, incident, atMs, curve),
      latency_ms: 0,
    };
    if (incident.deployPending) {
      incident.deployPending = false;
      return this.deployEvent(incident.serviceIndex, atMs, metrics);
    }
    metrics.latency_ms = this.latency(profile, incident);
    const { scenario, entity } = incident.truth;
    if (scenario === "brute_force" || scenario === "credential_stuffing") {
      const user = scenario === "brute_force" ? rng.pick(GUESSED_ACCOUNTS) : entity;
      const ip = scenario === "brute_force" ? entity : rng.pick(STUFFING_IPS);
      return {
        timestamp: new Date(atMs).toISOString(),
        timeMs: atMs,
        service: profile.name,
        level: "WARN",
        event_type: "auth_failure",
        message: `login failed for user ${user}: invalid password`,
        metrics,
        status_code: 401,
        source_ip: ip,
        user,
        request_id: this.requestId(),
      };
    }
    const client = rng.pick(USERS);
    return this.requestEvent(
      profile,
      atMs,
      metrics,
      this.evenErrorRoll(incident),
      client.name,
      rng.pick(client.ips),
    );
  }

  /**
   * The error ratio to roll against for one request of an incident: 1 (fail) when this request is one
   * of its evenly spread failures, else 0 (see `Incident.errorCredit`).
   */
  private evenErrorRoll(incident: Incident): number {
    incident.errorCredit += incident.errorRatio * this.traffic.uniform(0.6, 1.4);
    if (incident.errorCredit < 1) return 0;
    incident.errorCredit -= 1;
    return 1;
  }
}

const SERVER_ERRORS: readonly number[] = [500, 502, 503, 504];
const CLIENT_ERRORS: readonly number[] = [400, 404, 409, 429];

/** A seeded, endless, time-ordered stream of log events with injected incidents (see docs/generator.md). */
export function createGenerator(options: GeneratorOptions): LogGenerator {
  return new SeededLogGenerator(options);
}
