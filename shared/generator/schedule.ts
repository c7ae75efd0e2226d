import type { AlertType } from "../alerts/types.js";
import type { Rng } from "../random.js";
import { bruteForceIp, SERVICES, USERS } from "./services.js";
import type { IncidentTruth, ScenarioType } from "./types.js";

/**
 * One injected incident: its ground truth plus the knobs the generator reads while it is active.
 * Knobs a scenario does not use stay at their neutral value (0 or 1), so every incident has the
 * same shape and the per-event code needs no branching on optional fields.
 */
export interface Incident {
  /** Mutable on purpose: a remediation moves `endMs` earlier. Shared with the public `truth` list. */
  truth: IncidentTruth;
  serviceIndex: number;
  /** Absolute CPU % while active (cpu_spike, a CPU benign spike); 0 = unchanged. */
  cpuLevel: number;
  /** Points added to CPU (mixed_degradation); capped so the mean stays under the rule threshold. */
  cpuDelta: number;
  /** memory_leak: the plateau reached after `rampMs`, held until the end. */
  memoryPeak: number;
  rampMs: number;
  latencyFactor: number;
  /** Share of requests that fail while active; 0 = the service's normal ratio. */
  errorRatio: number;
  /**
   * Failures are spread evenly (as when one backend in N is bad behind a round-robin balancer):
   * each request adds about `errorRatio` here and fails when it reaches 1. A coin flip per request
   * would let a 10% ratio touch the 20% rule by chance on a quiet minute.
   */
  errorCredit: number;
  /** Extra events per second the incident adds (attack attempts, client retries); 0 = none. */
  extraPerS: number;
  /** error_burst_after_deploy starts with the deploy event that causes it. */
  deployPending: boolean;
  /** Next extra event time; +Infinity when the incident adds none. */
  nextExtraMs: number;
}

/** Gap kept free on a service (and its IP or user) after an incident, so detectors can resolve. */
const QUIET_AFTER_MS = 90_000;
/** ML detectors learn normal traffic first: no ML-only scenario before this much simulated time. */
export const ML_WARMUP_MS = 15 * 60_000;
/** Mean spacing of incident starts is the middle of this range (seconds). */
const START_GAP_S: readonly [number, number] = [80, 140];

const EXPECTED: Record<ScenarioType, { alerts: AlertType[]; by: IncidentTruth["detectedBy"] }> = {
  cpu_spike: { alerts: ["high_cpu"], by: "rule" },
  memory_leak: { alerts: ["high_memory"], by: "rule" },
  brute_force: { alerts: ["brute_force_ip"], by: "rule" },
  credential_stuffing: { alerts: ["brute_force_user"], by: "rule" },
  error_burst_after_deploy: { alerts: ["high_error_rate"], by: "rule" },
  latency_degradation: { alerts: ["ml_anomaly"], by: "ml" },
  mixed_degradation: { alerts: ["ml_anomaly"], by: "ml" },
  benign_spike: { alerts: [], by: "none" },
};

const ML_ONLY: ReadonlySet<ScenarioType> = new Set(["latency_degradation", "mixed_degradation"]);

/** One bag of draws: rule scenarios twice each, ML twice each, benign twice (shuffled per bag). */
const BAG: readonly ScenarioType[] = [
  "cpu_spike",
  "cpu_spike",
  "memory_leak",
  "memory_leak",
  "brute_force",
  "brute_force",
  "credential_stuffing",
  "credential_stuffing",
  "error_burst_after_deploy",
  "error_burst_after_deploy",
  "latency_degradation",
  "latency_degradation",
  "mixed_degradation",
  "mixed_degradation",
  "benign_spike",
  "benign_spike",
];

const AUTH_INDEX = SERVICES.findIndex((s) => s.name === "auth-service");
const GATEWAY_INDEX = SERVICES.findIndex((s) => s.name === "api-gateway");
const WARMUP_SERVICES: ReadonlySet<number> = new Set([AUTH_INDEX, GATEWAY_INDEX]);

/**
 * Plans incidents one at a time, in start order, from its own random stream (so the plan does not
 * depend on how many log events were drawn, nor on remediations). A "shuffled bag" rather than
 * independent draws keeps the mix of scenarios even over any stretch of an hour or so.
 */
export class IncidentPlanner {
  private readonly busyUntil: number[] = SERVICES.map(() => Number.NEGATIVE_INFINITY);
  private bag: ScenarioType[] = [];
  private cursorMs: number;
  private planned = 0;
  private attackerCount = 0;
  private lastStuffedUser = "";

  constructor(
    private readonly rng: Rng,
    private readonly startMs: number,
  ) {
    this.cursorMs = startMs;
  }

  /** The next incident; start times never decrease from one call to the next. */
  next(): Incident {
    this.planned++;
    // A short demo run (15 s at speed 1) should still show alerts: attack first, bad deploy next.
    if (this.planned === 1) {
      return this.place("brute_force", AUTH_INDEX, this.startMs + 2_000, { durationS: 90, ratePerS: 2.5 });
    }
    if (this.planned === 2) {
      return this.place("error_burst_after_deploy", GATEWAY_INDEX, this.startMs + 4_000, {
        durationS: 150,
        ratio: 0.5,
        ratePerS: 2.5,
      });
    }
    if (this.planned === 3) this.cursorMs = this.startMs + 100_000;
    else this.cursorMs += this.rng.uniform(START_GAP_S[0], START_GAP_S[1]) * 1000;

    const warmedUp = this.cursorMs - this.startMs >= ML_WARMUP_MS;
    const scenario = this.drawScenario(warmedUp);
    // While the ML detectors learn what normal looks like, keep incidents to the two services that
    // host the opening demo, so the other three learn from clean traffic only.
    const candidates = this.servicesFor(scenario).filter((i) => warmedUp || WARMUP_SERVICES.has(i));
    const free = candidates.filter((i) => (this.busyUntil[i] ?? 0) <= this.cursorMs);
    let serviceIndex: number;
    if (free.length > 0) {
      serviceIndex = this.rng.pick(free);
    } else {
      // Everyone suitable is busy: wait for the first to become free rather than overlap.
      serviceIndex = candidates.reduce((best, i) =>
        (this.busyUntil[i] ?? 0) < (this.busyUntil[best] ?? 0) ? i : best,
      );
      this.cursorMs = this.busyUntil[serviceIndex] ?? this.cursorMs;
    }
    return this.place(scenario, serviceIndex, Math.round(this.cursorMs), {});
  }

  private drawScenario(mlAllowed: boolean): ScenarioType {
    if (this.bag.length === 0) {
      this.bag = [...BAG];
      for (let i = this.bag.length - 1; i > 0; i--) {
        const j = this.rng.int(i + 1);
        const swap = this.bag[i] as ScenarioType;
        this.bag[i] = this.bag[j] as ScenarioType;
        this.bag[j] = swap;
      }
    }
    // Before the ML warm-up ends, ML-only scenarios wait in the bag for a later draw.
    let at = mlAllowed ? 0 : this.bag.findIndex((s) => !ML_ONLY.has(s));
    if (at < 0) {
      this.bag.push(...BAG.filter((s) => !ML_ONLY.has(s)));
      at = this.bag.findIndex((s) => !ML_ONLY.has(s));
    }
    const [scenario] = this.bag.splice(at, 1);
    return scenario as ScenarioType;
  }

  private servicesFor(scenario: ScenarioType): number[] {
    if (scenario === "brute_force" || scenario === "credential_stuffing") return [AUTH_INDEX];
    // A 10% error ratio on a quiet service could cross the 20% rule by chance: busy services only.
    if (scenario === "mixed_degradation") return SERVICES.flatMap((s, i) => (s.highVolume ? [i] : []));
    return SERVICES.map((_, i) => i);
  }

  private place(
    scenario: ScenarioType,
    serviceIndex: number,
    startMs: number,
    fixed: { durationS?: number; ratePerS?: number; ratio?: number },
  ): Incident {
    const rng = this.rng;
    const service = SERVICES[serviceIndex];
    if (!service) throw new RangeError(`no service at index ${serviceIndex}`);
    const incident: Incident = {
      truth: {
        id: `inc-${String(this.planned).padStart(4, "0")}-${scenario}`,
        scenario,
        service: service.name,
        entity: "",
        startMs,
        endMs: startMs,
        expectedAlerts: [...EXPECTED[scenario].alerts],
        detectedBy: EXPECTED[scenario].by,
      },
      serviceIndex,
      cpuLevel: 0,
      cpuDelta: 0,
      memoryPeak: 0,
      rampMs: 0,
      latencyFactor: 1,
      errorRatio: 0,
      errorCredit: 0,
      extraPerS: 0,
      deployPending: false,
      nextExtraMs: Number.POSITIVE_INFINITY,
    };
    let durationS: number;
    switch (scenario) {
      case "cpu_spike":
        durationS = fixed.durationS ?? rng.uniform(120, 240);
        incident.cpuLevel = rng.uniform(93, 97);
        break;
      case "memory_leak": {
        const rampS = rng.uniform(150, 240);
        durationS = fixed.durationS ?? rampS + rng.uniform(90, 150);
        incident.rampMs = rampS * 1000;
        incident.memoryPeak = rng.uniform(94, 97);
        break;
      }
      case "brute_force":
        durationS = fixed.durationS ?? rng.uniform(60, 180);
        incident.extraPerS = fixed.ratePerS ?? rng.uniform(1, 3);
        incident.truth.entity = bruteForceIp(this.attackerCount++);
        incident.nextExtraMs = startMs;
        break;
      case "credential_stuffing": {
        durationS = fixed.durationS ?? rng.uniform(90, 180);
        // ~1 try/s over 100 addresses: each address stays far below the per-IP rule.
        incident.extraPerS = fixed.ratePerS ?? rng.uniform(0.6, 1.2);
        const targets = USERS.filter((u) => u.name !== this.lastStuffedUser);
        incident.truth.entity = rng.pick(targets).name;
        this.lastStuffedUser = incident.truth.entity;
        incident.nextExtraMs = startMs;
        break;
      }
      case "error_burst_after_deploy":
        durationS = fixed.durationS ?? rng.uniform(120, 180);
        incident.errorRatio = fixed.ratio ?? rng.uniform(0.3, 0.6);
        // Clients retry failed calls, so a bad deploy also brings extra (mostly failing) requests.
        incident.extraPerS = fixed.ratePerS ?? rng.uniform(1.5, 2.5);
        incident.deployPending = true;
        incident.nextExtraMs = startMs;
        break;
      case "latency_degradation":
        durationS = fixed.durationS ?? rng.uniform(180, 300);
        incident.latencyFactor = rng.uniform(3, 6);
        break;
      case "mixed_degradation":
        durationS = fixed.durationS ?? rng.uniform(180, 300);
        incident.cpuDelta = rng.uniform(22, 28);
        incident.latencyFactor = rng.uniform(1.8, 2.2);
        incident.errorRatio = rng.uniform(0.08, 0.1);
        break;
      case "benign_spike":
        // Far shorter than any rule's hold or window: a blip a good detector must sit out.
        durationS = fixed.durationS ?? rng.uniform(2, 6);
        if (rng.next() < 0.5) incident.cpuLevel = rng.uniform(93, 97);
        else incident.errorRatio = 0.5;
        break;
    }
    incident.truth.endMs = startMs + Math.round(durationS * 1000);
    this.busyUntil[serviceIndex] = incident.truth.endMs + QUIET_AFTER_MS;
    return incident;
  }
}
