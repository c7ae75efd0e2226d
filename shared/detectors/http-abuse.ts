import type { DetectorFinding } from "../alerts/types.js";
import type { HttpProbingConfig, RequestFloodConfig } from "../config/types.js";
import { toLogLine } from "../log/parse.js";
import type { LogEvent, LogLine } from "../log/schema.js";
import { type Detector, NO_FINDINGS } from "./detector.js";
import { SourceStates } from "./sources.js";
import { readArray, readFiniteNumber, readOptionalTime, timeOrNull } from "./state.js";

const STATE_VERSION = 1;
const SAMPLES = 5;

/** crowdsec's static_ressource list: probes for these are ordinary page loads, not scanning. */
const STATIC_EXTENSIONS = new Set(
  "jpg css js jpeg png svg map ico otf gif mp3 mp4 woff woff2 ttf eot webp wav gz brotli bvr ts bmp avif mjs"
    .split(" ")
    .map((ext) => `.${ext}`),
);
const PROBE_STATUSES = new Set([400, 403, 404]);

export function isStaticResource(path: string): boolean {
  const file = path.slice(path.lastIndexOf("/") + 1);
  const dot = file.lastIndexOf(".");
  return dot >= 0 && STATIC_EXTENSIONS.has(file.slice(dot).toLowerCase());
}

interface Bucket {
  service: string;
  ip: string;
  /** Distinct paths poured and still counted (fills minus leaks), fractional. */
  level: number;
  updatedMs: number;
  /** Paths seen by this bucket; a path already in it is not poured again (crowdsec `distinct`). */
  paths: string[];
  samples: LogLine[];
  /** After an overflow: no bucket for this key until then (crowdsec `blackhole`). */
  blackholeUntilMs: number;
  overflowAtMs: number;
  /** An alert is open for this IP: it resolves once the IP stops probing. */
  firing: boolean;
  /** The last failing, non-static request of this IP (counted during the blackhole too). */
  lastProbeMs: number;
}

/**
 * crowdsec's http-probing scenario on access log events: per client IP and service (virtual host),
 * responses 404, 403 or 400 to paths that are not static resources pour into a leaky bucket,
 * each distinct path once. The bucket holds `capacity` (10) and leaks one every `leak_s` (10 s), so
 * the 11th distinct path in quick succession overflows it: an `http_probing` alert naming the IP.
 * The key is then blackholed for `blackhole_s` (5 min): no second alert. The alert resolves once
 * the IP has sent no failing request for the time the bucket takes to drain (capacity x leak,
 * 100 s), so a block that works shows as effective and a prober that goes on keeps it open.
 *
 * Needs: event_type request, status_code, source_ip and http.path (nginx, apache); other events are
 * skipped.
 */
export class HttpProbingDetector implements Detector {
  readonly name = "http_probing";
  private readonly leakMs: number;
  private readonly blackholeMs: number;
  private readonly buckets: SourceStates<Bucket>;

  constructor(
    private readonly config: HttpProbingConfig,
    maxKeys = 10_000,
  ) {
    this.buckets = new SourceStates(maxKeys);
    this.leakMs = config.leak_s * 1000;
    this.blackholeMs = config.blackhole_s * 1000;
  }

  observe(event: LogEvent): readonly DetectorFinding[] {
    const status = event.status_code;
    const path = event.http?.path;
    const ip = event.source_ip;
    if (
      status === null ||
      !PROBE_STATUSES.has(status) ||
      path === undefined ||
      ip === null ||
      !Number.isFinite(event.timeMs)
    ) {
      return NO_FINDINGS;
    }
    if (isStaticResource(path)) return NO_FINDINGS;
    const nowMs = this.buckets.observe(event.timeMs);
    let out = this.sweep(nowMs);
    const key = SourceStates.key(event.service, ip);
    let bucket = this.buckets.map.get(key);
    if (bucket !== undefined && bucket.blackholeUntilMs > nowMs) {
      bucket.lastProbeMs = Math.max(bucket.lastProbeMs, event.timeMs);
      return out ?? NO_FINDINGS;
    }
    if (bucket === undefined) {
      this.buckets.makeRoom(() => true, true);
      bucket = this.newBucket(event.service, ip, event.timeMs);
      this.buckets.map.set(key, bucket);
    }
    this.leak(bucket, event.timeMs);
    if (bucket.paths.includes(path)) return out ?? NO_FINDINGS;
    bucket.paths.push(path);
    bucket.samples.push(toLogLine(event));
    if (bucket.samples.length > SAMPLES) bucket.samples.shift();
    if (bucket.level + 1 > this.config.capacity) {
      bucket.blackholeUntilMs = nowMs + this.blackholeMs;
      bucket.lastProbeMs = nowMs;
      if (!bucket.firing) {
        bucket.firing = true;
        bucket.overflowAtMs = nowMs;
        out = [...(out ?? []), this.finding(bucket, "firing", nowMs)];
      }
      bucket.level = 0;
      bucket.paths = [];
    } else {
      bucket.level += 1;
    }
    return out ?? NO_FINDINGS;
  }

  advance(nowMs: number): readonly DetectorFinding[] {
    const at = this.buckets.advance(nowMs);
    return at === null ? NO_FINDINGS : (this.sweep(at) ?? NO_FINDINGS);
  }

  /**
   * Time alone resolves a firing IP and ends a blackhole; a bucket that only leaks changes nothing
   * anyone sees. Without this the pipeline would tick every second until a replay's settle bound.
   */
  idle(): boolean {
    for (const bucket of this.buckets.map.values()) {
      if (bucket.firing || Number.isFinite(bucket.blackholeUntilMs)) return false;
    }
    return true;
  }

  snapshot(): unknown {
    return {
      ...this.buckets.header(this.name, STATE_VERSION),
      buckets: [...this.buckets.map.values()].map((b) => ({
        ...b,
        blackholeUntilMs: timeOrNull(b.blackholeUntilMs),
      })),
    };
  }

  restore(state: unknown): void {
    this.buckets.restore(this.name, state, STATE_VERSION, "buckets", "ip", (item, service, ip) => ({
      service,
      ip,
      level: readFiniteNumber(this.name, item, "level"),
      updatedMs: readFiniteNumber(this.name, item, "updatedMs"),
      paths: readArray(this.name, item, "paths").filter((p): p is string => typeof p === "string"),
      samples: readArray(this.name, item, "samples") as LogLine[],
      blackholeUntilMs: readOptionalTime(this.name, item, "blackholeUntilMs") ?? Number.NEGATIVE_INFINITY,
      overflowAtMs: readFiniteNumber(this.name, item, "overflowAtMs"),
      firing: item.firing === true,
      lastProbeMs: readFiniteNumber(this.name, item, "lastProbeMs"),
    }));
  }

  private newBucket(service: string, ip: string, timeMs: number): Bucket {
    return {
      service,
      ip,
      level: 0,
      updatedMs: timeMs,
      paths: [],
      samples: [],
      blackholeUntilMs: Number.NEGATIVE_INFINITY,
      overflowAtMs: 0,
      firing: false,
      lastProbeMs: timeMs,
    };
  }

  private leak(bucket: Bucket, timeMs: number): void {
    if (timeMs > bucket.updatedMs) {
      bucket.level = Math.max(0, bucket.level - (timeMs - bucket.updatedMs) / this.leakMs);
      bucket.updatedMs = timeMs;
    }
    // An empty bucket is a new one: crowdsec forgets its distinct paths with it.
    if (bucket.level === 0) bucket.paths = [];
  }

  /** Resolve IPs that stopped probing, end blackholes, drop buckets that leaked empty. */
  private sweep(nowMs: number): DetectorFinding[] | null {
    if (!this.buckets.sweepDue(nowMs)) return null;
    let out: DetectorFinding[] | null = null;
    const quietMs = this.config.capacity * this.leakMs;
    for (const [key, bucket] of this.buckets.map) {
      if (bucket.firing && nowMs - bucket.lastProbeMs >= quietMs) {
        bucket.firing = false;
        out = out ?? [];
        out.push(this.finding(bucket, "resolved", nowMs));
      }
      const blackholed = bucket.blackholeUntilMs > nowMs;
      if (!blackholed && Number.isFinite(bucket.blackholeUntilMs)) {
        // Out of the blackhole: a fresh bucket from here on.
        bucket.blackholeUntilMs = Number.NEGATIVE_INFINITY;
        bucket.level = 0;
        bucket.paths = [];
        bucket.updatedMs = nowMs;
      }
      if (!bucket.firing && !blackholed && bucket.level - (nowMs - bucket.updatedMs) / this.leakMs <= 0) {
        this.buckets.map.delete(key);
      }
    }
    return out;
  }

  private finding(bucket: Bucket, status: "firing" | "resolved", nowMs: number): DetectorFinding {
    const capacity = this.config.capacity;
    return {
      status,
      type: "http_probing",
      service: bucket.service,
      entity: bucket.ip,
      severity: this.config.severity,
      summary:
        status === "firing"
          ? `${capacity + 1} distinct 404/403/400 paths from ${bucket.ip} on ${bucket.service} overflowed the probing bucket (capacity ${capacity}, leak ${this.config.leak_s}s)`
          : `${bucket.ip} on ${bucket.service} stopped probing (no failing request for ${this.config.capacity * this.config.leak_s}s)`,
      observed: capacity + 1,
      threshold: capacity,
      unit: "distinct paths",
      windowMs: capacity * this.leakMs,
      atMs: nowMs,
      sinceMs: Math.min(nowMs, bucket.overflowAtMs),
      samples: bucket.samples.slice(-SAMPLES),
      details: {
        capacity,
        leak_s: this.config.leak_s,
        blackhole_s: this.config.blackhole_s,
        paths: bucket.samples.map((s) => s.message).join(" | "),
        ...(status === "resolved" ? { reason: "quiet" } : {}),
      },
    };
  }
}

interface FloodState {
  service: string;
  ip: string;
  /** Requests per second of the window, as a ring indexed by second. */
  counts: number[];
  total: number;
  /** The second the ring's newest slot stands for. */
  headS: number;
  firing: boolean;
  sinceMs: number;
  samples: LogLine[];
}

/**
 * Too many requests from one client IP: at least `max_requests` within `window_s` fires a
 * `request_flood` alert naming the IP; it resolves once the window holds fewer than half that.
 *
 * Needs: event_type request and source_ip (any format that has them).
 */
export class RequestFloodDetector implements Detector {
  readonly name = "request_flood";
  private readonly windowS: number;
  private readonly states: SourceStates<FloodState>;

  constructor(
    private readonly config: RequestFloodConfig,
    maxKeys = 10_000,
  ) {
    this.states = new SourceStates(maxKeys);
    this.windowS = Math.max(1, Math.round(config.window_s));
  }

  observe(event: LogEvent): readonly DetectorFinding[] {
    const ip = event.source_ip;
    if (event.event_type !== "request" || ip === null || ip === "" || !Number.isFinite(event.timeMs))
      return NO_FINDINGS;
    const nowMs = this.states.observe(event.timeMs);
    let out = this.sweep(nowMs);
    const key = SourceStates.key(event.service, ip);
    let state = this.states.map.get(key);
    if (state === undefined) {
      // A firing source is never dropped to make room (its alert could not resolve).
      this.states.makeRoom((old) => !old.firing, false);
      state = {
        service: event.service,
        ip,
        counts: new Array<number>(this.windowS).fill(0),
        total: 0,
        headS: Math.floor(event.timeMs / 1000),
        firing: false,
        sinceMs: event.timeMs,
        samples: [],
      };
    }
    this.states.touch(key, state);
    const second = Math.floor(event.timeMs / 1000);
    this.slide(state, Math.max(second, Math.floor(nowMs / 1000)));
    // A late event inside the window still counts in its own second.
    if (second > state.headS - this.windowS) {
      const slot = ((second % this.windowS) + this.windowS) % this.windowS;
      state.counts[slot] = (state.counts[slot] ?? 0) + 1;
      state.total++;
    }
    if (state.firing || state.total >= this.config.max_requests - SAMPLES) {
      state.samples.push(toLogLine(event));
      if (state.samples.length > SAMPLES) state.samples.shift();
    }
    if (!state.firing && state.total >= this.config.max_requests) {
      state.firing = true;
      state.sinceMs = nowMs;
      out = [...(out ?? []), this.finding(state, "firing", nowMs)];
    }
    return out ?? NO_FINDINGS;
  }

  advance(nowMs: number): readonly DetectorFinding[] {
    const at = this.states.advance(nowMs);
    return at === null ? NO_FINDINGS : (this.sweep(at) ?? NO_FINDINGS);
  }

  /** Only a firing IP's resolve is a finding time alone can produce; quiet windows empty silently. */
  idle(): boolean {
    for (const state of this.states.map.values()) if (state.firing) return false;
    return true;
  }

  snapshot(): unknown {
    return {
      ...this.states.header(this.name, STATE_VERSION),
      states: [...this.states.map.values()],
    };
  }

  restore(state: unknown): void {
    this.states.restore(this.name, state, STATE_VERSION, "states", "ip", (item, service, ip) => {
      const counts = readArray(this.name, item, "counts").map((n) => (typeof n === "number" ? n : 0));
      if (counts.length !== this.windowS) return null;
      return {
        service,
        ip,
        counts,
        total: counts.reduce((a, b) => a + b, 0),
        headS: readFiniteNumber(this.name, item, "headS"),
        firing: item.firing === true,
        sinceMs: readFiniteNumber(this.name, item, "sinceMs"),
        samples: readArray(this.name, item, "samples") as LogLine[],
      };
    });
  }

  private slide(state: FloodState, toS: number): void {
    if (toS <= state.headS) return;
    const steps = Math.min(toS - state.headS, this.windowS);
    for (let i = 1; i <= steps; i++) {
      const second = state.headS + i;
      const slot = ((second % this.windowS) + this.windowS) % this.windowS;
      state.total -= state.counts[slot] ?? 0;
      state.counts[slot] = 0;
    }
    state.headS = toS;
  }

  private sweep(nowMs: number): DetectorFinding[] | null {
    if (!this.states.sweepDue(nowMs)) return null;
    let out: DetectorFinding[] | null = null;
    const nowS = Math.floor(nowMs / 1000);
    for (const [key, state] of this.states.map) {
      this.slide(state, nowS);
      if (state.firing && state.total < this.config.max_requests / 2) {
        state.firing = false;
        out = out ?? [];
        out.push(this.finding(state, "resolved", nowMs));
      }
      if (!state.firing && state.total === 0) this.states.map.delete(key);
    }
    return out;
  }

  private finding(state: FloodState, status: "firing" | "resolved", nowMs: number): DetectorFinding {
    return {
      status,
      type: "request_flood",
      service: state.service,
      entity: state.ip,
      severity: this.config.severity,
      summary:
        status === "firing"
          ? `${state.total} requests in ${this.windowS}s from ${state.ip} on ${state.service}`
          : `${state.ip} on ${state.service} down to ${state.total} requests in ${this.windowS}s`,
      observed: state.total,
      threshold: this.config.max_requests,
      unit: "requests",
      windowMs: this.windowS * 1000,
      atMs: nowMs,
      sinceMs: Math.min(state.sinceMs, nowMs),
      samples: state.samples.slice(-SAMPLES),
      details: {
        window_s: this.windowS,
        max_requests: this.config.max_requests,
        ...(status === "resolved" ? { reason: "window" } : {}),
      },
    };
  }
}
