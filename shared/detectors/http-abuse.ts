import type { DetectorFinding } from "../alerts/types.js";
import type { HttpProbingConfig, RequestFloodConfig } from "../config/types.js";
import { toLogLine } from "../log/parse.js";
import type { EventType, LogEvent, LogLine } from "../log/schema.js";
import { type Detector, NO_FINDINGS } from "./detector.js";
import { SourceStates } from "./sources.js";
import {
  ActivityList,
  isRecord,
  readArray,
  readFiniteNumber,
  readHeader,
  readOptionalTime,
  readString,
  timeOrNull,
  UpkeepClock,
} from "./state.js";

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
  readonly scope = "http";
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
    // Without access logs the map stays empty: the sweep then builds no iterator every second.
    if (!this.buckets.sweepDue(nowMs) || this.buckets.map.size === 0) return null;
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
  /**
   * The newest second with a counted request (-Infinity for none): the window is empty once it
   * falls out, so the sweep can tell without sliding. Derived, not part of the snapshot.
   */
  lastCountedS: number;
  /**
   * The second of `nowMs` at the last request (-Infinity for a restored window): the activity list
   * is in this order, so the sweep finds windows gone quiet at its head. Not part of the snapshot.
   */
  touchedS: number;
  /** Neighbours in `order` (least recently active first); not part of the snapshot. */
  prev: FloodState | null;
  next: FloodState | null;
}

/**
 * Too many requests from one client IP: at least `max_requests` within `window_s` fires a
 * `request_flood` alert naming the IP; it resolves once the window holds fewer than half that.
 *
 * Needs: event_type request and source_ip (any format that has them).
 *
 * It sees nearly every event, so its bookkeeping avoids per-event allocation: keys are found by
 * service and then IP (two lookups on strings V8 has already hashed, instead of building and
 * hashing a "service/IP" string per event), and the order of last activity, which eviction and the
 * sweep follow, is an intrusive list (a touch is a few pointer writes, not a Map delete and
 * re-insert). The once-a-second sweep slides only firing windows (the only ones that can resolve);
 * a quiet window is slid when its next request comes, or for a snapshot, with the same result.
 */
export class RequestFloodDetector implements Detector {
  readonly name = "request_flood";
  readonly eventTypes: readonly EventType[] = ["request"];
  private readonly windowS: number;
  private byService = new Map<string, Map<string, FloodState>>();
  private size = 0;
  /** Every window in order of last activity: eviction and the sweep start at its head. */
  private order = new ActivityList<FloodState>();
  private readonly clock = new UpkeepClock();
  /** The second of the last sweep: every window stands at this second or later (see `snapshot`). */
  private sweptS = Number.NEGATIVE_INFINITY;
  /** Windows firing: while none is, `idle` is true and the sweep need not walk every window. */
  private firingCount = 0;
  /**
   * Windows whose newest counted second is older than their last request's (a late or uncounted
   * request): the only ones that can go quiet out of activity order. Not part of the snapshot.
   */
  private lagging = new Set<FloodState>();

  constructor(
    private readonly config: RequestFloodConfig,
    private readonly maxKeys = 10_000,
  ) {
    this.windowS = Math.max(1, Math.round(config.window_s));
  }

  observe(event: LogEvent): readonly DetectorFinding[] {
    const ip = event.source_ip;
    if (event.event_type !== "request" || ip === null || ip === "" || !Number.isFinite(event.timeMs))
      return NO_FINDINGS;
    const nowMs = this.clock.observe(event.timeMs);
    let out = this.sweep(nowMs);
    let state = this.byService.get(event.service)?.get(ip);
    if (state === undefined) {
      if (this.size >= this.maxKeys) {
        // The least recently active key that is not firing makes room.
        for (let old = this.order.head; old !== null; old = old.next) {
          if (!old.firing) {
            this.remove(old);
            break;
          }
        }
      }
      state = {
        service: event.service,
        ip,
        counts: new Array<number>(this.windowS).fill(0),
        total: 0,
        headS: Math.floor(event.timeMs / 1000),
        firing: false,
        sinceMs: event.timeMs,
        samples: [],
        lastCountedS: Number.NEGATIVE_INFINITY,
        touchedS: Number.NEGATIVE_INFINITY,
        prev: null,
        next: null,
      };
      this.add(state);
    } else {
      this.order.moveToBack(state);
    }
    const second = Math.floor(event.timeMs / 1000);
    // nowMs is at least the event's time, so its second is the later of the two.
    const nowS = Math.floor(nowMs / 1000);
    this.slide(state, nowS);
    // A late event inside the window still counts in its own second.
    if (second > state.headS - this.windowS) {
      const slot = ((second % this.windowS) + this.windowS) % this.windowS;
      state.counts[slot] = (state.counts[slot] ?? 0) + 1;
      state.total++;
      if (second > state.lastCountedS) state.lastCountedS = second;
    }
    state.touchedS = nowS;
    if (state.lastCountedS < state.touchedS) this.lagging.add(state);
    else if (this.lagging.size > 0) this.lagging.delete(state);
    if (state.firing || state.total >= this.config.max_requests - SAMPLES) {
      state.samples.push(toLogLine(event));
      if (state.samples.length > SAMPLES) state.samples.shift();
    }
    if (!state.firing && state.total >= this.config.max_requests) {
      state.firing = true;
      this.firingCount++;
      state.sinceMs = nowMs;
      out = [...(out ?? []), this.finding(state, "firing", nowMs)];
    }
    return out ?? NO_FINDINGS;
  }

  advance(nowMs: number): readonly DetectorFinding[] {
    const at = this.clock.advance(nowMs);
    return at === null ? NO_FINDINGS : (this.sweep(at) ?? NO_FINDINGS);
  }

  /** Only a firing IP's resolve is a finding time alone can produce; quiet windows empty silently. */
  idle(): boolean {
    return this.firingCount === 0;
  }

  snapshot(): unknown {
    const states: Omit<FloodState, "lastCountedS" | "touchedS" | "prev" | "next">[] = [];
    for (let s = this.order.head; s !== null; s = s.next) {
      // Catch up the windows the sweep left quiet, so the snapshot is what sliding each every second gives.
      this.slide(s, this.sweptS);
      states.push({
        service: s.service,
        ip: s.ip,
        counts: s.counts,
        total: s.total,
        headS: s.headS,
        firing: s.firing,
        sinceMs: s.sinceMs,
        samples: s.samples,
      });
    }
    return { detector: this.name, version: STATE_VERSION, latestMs: timeOrNull(this.clock.latestMs), states };
  }

  restore(state: unknown): void {
    const record = readHeader(this.name, state, STATE_VERSION);
    const restored: FloodState[] = [];
    for (const item of readArray(this.name, record, "states")) {
      if (!isRecord(item)) continue;
      const service = readString(this.name, item, "service");
      const ip = readString(this.name, item, "ip");
      const counts = readArray(this.name, item, "counts").map((n) => (typeof n === "number" ? n : 0));
      if (counts.length !== this.windowS) continue;
      restored.push({
        service,
        ip,
        counts,
        total: counts.reduce((a, b) => a + b, 0),
        headS: readFiniteNumber(this.name, item, "headS"),
        firing: item.firing === true,
        sinceMs: readFiniteNumber(this.name, item, "sinceMs"),
        samples: readArray(this.name, item, "samples") as LogLine[],
        lastCountedS: Number.NEGATIVE_INFINITY,
        touchedS: Number.NEGATIVE_INFINITY,
        prev: null,
        next: null,
      });
    }
    for (const s of restored) s.lastCountedS = this.newestCounted(s);
    this.byService = new Map();
    this.size = 0;
    this.order = new ActivityList();
    this.lagging = new Set();
    for (const s of restored) {
      // A key listed twice keeps its later state at its first place, as a Map set would.
      const existing = this.byService.get(s.service)?.get(s.ip);
      if (existing === undefined) this.add(s);
      else Object.assign(existing, { ...s, prev: existing.prev, next: existing.next });
    }
    this.clock.latestMs = readOptionalTime(this.name, record, "latestMs") ?? Number.NEGATIVE_INFINITY;
    this.sweptS = Number.NEGATIVE_INFINITY;
    this.firingCount = 0;
    for (const ips of this.byService.values()) for (const s of ips.values()) if (s.firing) this.firingCount++;
  }

  /** The newest second of the window with a count, or -Infinity. */
  private newestCounted(state: FloodState): number {
    for (let k = 0; k < this.windowS; k++) {
      const second = state.headS - k;
      if ((state.counts[((second % this.windowS) + this.windowS) % this.windowS] ?? 0) > 0) return second;
    }
    return Number.NEGATIVE_INFINITY;
  }

  private add(state: FloodState): void {
    let ips = this.byService.get(state.service);
    if (ips === undefined) {
      ips = new Map();
      this.byService.set(state.service, ips);
    }
    ips.set(state.ip, state);
    this.size++;
    this.order.append(state);
  }

  private remove(state: FloodState): void {
    const ips = this.byService.get(state.service);
    if (ips?.delete(state.ip) !== true) return;
    if (ips.size === 0) this.byService.delete(state.service);
    this.size--;
    if (state.firing) this.firingCount--;
    this.lagging.delete(state);
    this.order.remove(state);
  }

  private slide(state: FloodState, toS: number): void {
    if (toS <= state.headS) return;
    const steps = Math.min(toS - state.headS, this.windowS);
    // A key's requests are often many seconds apart, so this walks many slots: one modulo for the
    // first, then a wrap-around step (two modulos per slot made this the costliest line of a request).
    let slot = (((state.headS + 1) % this.windowS) + this.windowS) % this.windowS;
    for (let i = 0; i < steps; i++) {
      state.total -= state.counts[slot] ?? 0;
      state.counts[slot] = 0;
      if (++slot === this.windowS) slot = 0;
    }
    state.headS = toS;
  }

  private sweep(nowMs: number): DetectorFinding[] | null {
    if (!this.clock.due(nowMs)) return null;
    let out: DetectorFinding[] | null = null;
    const nowS = Math.floor(nowMs / 1000);
    if (nowS > this.sweptS) this.sweptS = nowS;
    const emptyUpToS = nowS - this.windowS;
    if (this.firingCount === 0) {
      // Nothing can resolve, so only quiet windows leave: those whose last request is out of the
      // window (at the head of the activity list) and the few lagging ones. The same windows as
      // walking them all, without touching every key once a second.
      for (let state = this.order.head; state !== null && state.touchedS <= emptyUpToS; ) {
        const next = state.next;
        if (state.lastCountedS <= emptyUpToS) this.remove(state);
        state = next;
      }
      // Usually none lag: then no Set iterator is built every second.
      if (this.lagging.size > 0) {
        for (const state of this.lagging) if (state.lastCountedS <= emptyUpToS) this.remove(state);
      }
      return null;
    }
    for (let state = this.order.head; state !== null; ) {
      const next = state.next;
      if (state.firing) {
        this.slide(state, nowS);
        if (state.total < this.config.max_requests / 2) {
          state.firing = false;
          this.firingCount--;
          out = out ?? [];
          out.push(this.finding(state, "resolved", nowMs));
        }
      }
      // Sliding to nowS leaves a count exactly when a counted second is still inside the window.
      if (!state.firing && state.lastCountedS <= emptyUpToS) this.remove(state);
      state = next;
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
