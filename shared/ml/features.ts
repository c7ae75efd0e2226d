import type { LogEvent, LogLine } from "../log/schema.js";

/**
 * Per-service feature window: a few running sums and a fixed latency histogram, so adding an
 * event costs O(1) and a window's state is small enough to snapshot on every Lambda invocation.
 * docs/ml.md describes each feature for operators.
 */

export const FEATURE_NAMES = [
  "cpu_mean_pct",
  "memory_mean_pct",
  "latency_p95_ms",
  "error_ratio",
  "request_rate_per_s",
  "auth_failure_rate_per_s",
] as const;
export type FeatureName = (typeof FEATURE_NAMES)[number];
export const FEATURE_COUNT = FEATURE_NAMES.length;

export const FEATURE_UNITS: Record<FeatureName, string> = {
  cpu_mean_pct: "%",
  memory_mean_pct: "%",
  latency_p95_ms: "ms",
  error_ratio: "",
  request_rate_per_s: "/s",
  auth_failure_rate_per_s: "/s",
};

/**
 * Latency histogram: bin 0 holds < 1 ms, bins 1..LATENCY_BINS-1 are log-spaced up to ~100 s
 * (about 20% wide each), the last bin takes everything above. A p95 read from it is accurate
 * to one bin, which is ample for shifts of 2x and more.
 */
export const LATENCY_BINS = 64;
const LATENCY_MAX_MS = 100_000;
const LOG_BIN_WIDTH = Math.log(LATENCY_MAX_MS) / (LATENCY_BINS - 2);

function latencyBin(ms: number): number {
  if (!(ms >= 1)) return 0;
  const bin = 1 + Math.floor(Math.log(ms) / LOG_BIN_WIDTH);
  return bin >= LATENCY_BINS ? LATENCY_BINS - 1 : bin;
}

/** Geometric middle of a bin: the value reported for a quantile that lands in it. */
function latencyBinValue(bin: number): number {
  if (bin === 0) return 0.5;
  return Math.exp((bin - 0.5) * LOG_BIN_WIDTH);
}

/** Sample lines kept per window: the most recent, the slowest, and the latest failures. */
const SAMPLES_PER_KIND = 5;

export interface WindowState {
  startMs: number;
  events: number;
  cpuSum: number;
  cpuCount: number;
  memorySum: number;
  memoryCount: number;
  requests: number;
  errors: number;
  authFailures: number;
  latencyCount: number;
  latencyHistogram: number[];
  recent: LogLine[];
  slowest: LogLine[];
  failures: LogLine[];
}

export function newWindow(startMs: number): WindowState {
  return {
    startMs,
    events: 0,
    cpuSum: 0,
    cpuCount: 0,
    memorySum: 0,
    memoryCount: 0,
    requests: 0,
    errors: 0,
    authFailures: 0,
    latencyCount: 0,
    latencyHistogram: new Array<number>(LATENCY_BINS).fill(0),
    recent: [],
    slowest: [],
    failures: [],
  };
}

/**
 * Makes a closed window the new open one starting at `startMs`, in place: a service reuses its one
 * window object rather than allocating a window (and a histogram) every `window_s`. At a thousand
 * services a window lives long enough to be promoted to the old generation, so fresh ones were
 * steady old-space garbage and more frequent full collections (docs/benchmarks.md, "ML detector at
 * fleet size").
 */
export function resetWindow(window: WindowState, startMs: number): WindowState {
  window.startMs = startMs;
  window.events = 0;
  window.cpuSum = 0;
  window.cpuCount = 0;
  window.memorySum = 0;
  window.memoryCount = 0;
  window.requests = 0;
  window.errors = 0;
  window.authFailures = 0;
  window.latencyCount = 0;
  window.latencyHistogram.fill(0);
  window.recent.length = 0;
  window.slowest.length = 0;
  window.failures.length = 0;
  return window;
}

/** A copy of the line without the parser's timeMs (works on a stored line too). */
export function toLogLine(event: LogEvent | LogLine): LogLine {
  const { timeMs: _timeMs, ...line } = event as LogEvent;
  return { ...line, metrics: { ...line.metrics } };
}

function isFailure(event: LogEvent): boolean {
  return (
    event.level === "ERROR" ||
    event.event_type === "error" ||
    event.event_type === "auth_failure" ||
    (event.status_code !== null && event.status_code >= 500)
  );
}

/** Adds one event to the window. Non-finite metrics are skipped rather than poisoning the sums. */
export function addEvent(window: WindowState, event: LogEvent): void {
  window.events++;
  const { cpu_pct, memory_pct, latency_ms } = event.metrics;
  if (cpu_pct !== null && Number.isFinite(cpu_pct)) {
    window.cpuSum += cpu_pct;
    window.cpuCount++;
  }
  if (memory_pct !== null && Number.isFinite(memory_pct)) {
    window.memorySum += memory_pct;
    window.memoryCount++;
  }
  const isRequest = event.event_type === "request" || event.event_type === "error";
  if (isRequest || event.status_code !== null) {
    window.requests++;
    if (event.event_type === "error" || event.level === "ERROR" || (event.status_code ?? 0) >= 500) {
      window.errors++;
    }
    if (latency_ms !== null && Number.isFinite(latency_ms)) {
      const bin = latencyBin(latency_ms);
      window.latencyHistogram[bin] = (window.latencyHistogram[bin] ?? 0) + 1;
      window.latencyCount++;
    }
  }
  if (event.event_type === "auth_failure") window.authFailures++;

  // References, not copies: most windows never alert, so a sample is copied (toLogLine) only when
  // a finding takes it (samplesFor).
  const line: LogLine = event;
  window.recent.push(line);
  if (window.recent.length > SAMPLES_PER_KIND) window.recent.shift();
  if (isFailure(event)) {
    window.failures.push(line);
    if (window.failures.length > SAMPLES_PER_KIND) window.failures.shift();
  }
  if (latency_ms !== null && Number.isFinite(latency_ms)) keepSlowest(window.slowest, line);
}

function keepSlowest(slowest: LogLine[], line: LogLine): void {
  if (slowest.length < SAMPLES_PER_KIND) {
    slowest.push(line);
    return;
  }
  // Each kept line's latency read once (they are other events' objects, rarely in cache).
  let minIndex = 0;
  let minLatency = slowest[0]?.metrics.latency_ms ?? 0;
  for (let i = 1; i < slowest.length; i++) {
    const latency = slowest[i]?.metrics.latency_ms ?? 0;
    if (latency < minLatency) {
      minIndex = i;
      minLatency = latency;
    }
  }
  if ((line.metrics.latency_ms ?? 0) <= minLatency) return;
  slowest[minIndex] = line;
}

function latencyQuantile(window: WindowState, q: number): number {
  if (window.latencyCount === 0) return 0;
  const rank = Math.ceil(q * window.latencyCount);
  let seen = 0;
  for (let bin = 0; bin < LATENCY_BINS; bin++) {
    seen += window.latencyHistogram[bin] ?? 0;
    if (seen >= rank) return latencyBinValue(bin);
  }
  return latencyBinValue(LATENCY_BINS - 1);
}

/** The window's feature vector, in FEATURE_NAMES order, written into `out` at `offset`. */
export function windowFeatures(window: WindowState, windowMs: number, out: Float64Array, offset = 0): void {
  const seconds = windowMs / 1000;
  out[offset] = window.cpuCount > 0 ? window.cpuSum / window.cpuCount : 0;
  out[offset + 1] = window.memoryCount > 0 ? window.memorySum / window.memoryCount : 0;
  out[offset + 2] = latencyQuantile(window, 0.95);
  out[offset + 3] = window.requests > 0 ? window.errors / window.requests : 0;
  out[offset + 4] = window.requests / seconds;
  out[offset + 5] = window.authFailures / seconds;
}

/** Sample lines that best show the feature that drove an alert. */
export function samplesFor(window: WindowState, feature: FeatureName | undefined): LogLine[] {
  let lines = window.recent;
  if (feature === "latency_p95_ms" && window.slowest.length > 0) {
    // Newest last, as DetectorFinding.samples promises.
    lines = window.slowest
      .slice()
      .sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0));
  } else if (
    (feature === "error_ratio" || feature === "auth_failure_rate_per_s") &&
    window.failures.length > 0
  ) {
    lines = window.failures;
  }
  return lines.map((line) => toLogLine(line));
}
