/**
 * The ML detector at fleet size: 1,000 services with a model each, in the full pipeline. What a
 * user feels is the longest single event: one that closes many services' windows, or pays for
 * fits that fell due together (services that start together finish their warm-ups together). Run alone with
 * `npm run bench -- ml`; writes the "ml" section of docs/benchmarks.md.
 */
import { loadavg } from "node:os";
import { constants, type PerformanceEntry, PerformanceObserver } from "node:perf_hooks";
import { DEFAULT_CONFIG } from "../../shared/config/defaults.js";
import { createGenerator } from "../../shared/generator/index.js";
import { formatLogLine } from "../../shared/log/parse.js";
import { FITS_PER_CALL, MAX_SERVICES } from "../../shared/ml/detector.js";
import { Pipeline } from "../../shared/pipeline.js";
import { machineLine, writeBenchSection } from "./report.js";

const SERVICES = MAX_SERVICES;
/** Simulated seconds: the warm-up (60 windows of 10 s) and then about three retrains per service. */
const SIMULATED_S = 2_400;
/** About this many events per simulated second over the whole fleet (about 2 per service window). */
const EVENTS_PER_S = 200;
const GOAL_MS = 50;

/** Per-event durations: 0.1 ms buckets up to 1 s for percentiles, and the longest. */
class Durations {
  private readonly histogram = new Uint32Array(10_001);
  private count = 0;
  totalMs = 0;
  longestMs = 0;
  longestAtS = 0;
  /** performance.now() at the start of the longest event, to find the collections inside it. */
  longestStarted = 0;
  /** Wall time of the longest event (the span in which its collections are looked for). */
  longestSpanMs = 0;
  over = 0;

  add(ms: number, atS: number, started: number, spanMs: number): void {
    const bucket = Math.min(10_000, Math.floor(ms * 10));
    this.histogram[bucket] = (this.histogram[bucket] as number) + 1;
    this.count++;
    this.totalMs += ms;
    if (ms > GOAL_MS) this.over++;
    if (ms > this.longestMs) {
      this.longestMs = ms;
      this.longestAtS = atS;
      this.longestStarted = started;
      this.longestSpanMs = spanMs;
    }
  }

  percentile(q: number): number {
    let seen = 0;
    for (let b = 0; b < this.histogram.length; b++) {
      seen += this.histogram[b] as number;
      if (seen >= q * this.count) return b / 10;
    }
    return Number.NaN;
  }
}

export async function run(): Promise<void> {
  const startMs = Date.parse("2026-01-01T00:00:00Z");
  const generator = createGenerator({
    seed: 11,
    startMs,
    minIntervalS: 0.5 / EVENTS_PER_S,
    maxIntervalS: 1.5 / EVENTS_PER_S,
  });
  const names = Array.from({ length: SERVICES }, (_, i) => `svc-${String(i).padStart(4, "0")}`);
  const pipeline = new Pipeline({ config: DEFAULT_CONFIG });
  // Every garbage collection, delivered after the loop (the loop never yields): which events held one.
  const collections: PerformanceEntry[] = [];
  const observer = new PerformanceObserver((list) => {
    collections.push(...list.getEntries());
  });
  observer.observe({ entryTypes: ["gc"] });
  const wall = new Durations();
  const cpu = new Durations();
  const bound = new Durations();
  let events = 0;
  let i = 0;
  for (;;) {
    const event = generator.next();
    if (event.timeMs - startMs > SIMULATED_S * 1000) break;
    // Services in turn, so each gets the same share and every window holds events.
    const line = formatLogLine({ ...event, service: names[i++ % SERVICES] as string });
    const cpuStarted = process.cpuUsage();
    const started = performance.now();
    pipeline.ingestLine(line);
    const ms = performance.now() - started;
    const used = process.cpuUsage(cpuStarted);
    const atS = (event.timeMs - startMs) / 1000;
    const cpuMs = (used.user + used.system) / 1000;
    wall.add(ms, atS, started, ms);
    cpu.add(cpuMs, atS, started, ms);
    // Either clock bounds what the event would take on an idle machine (see the section text).
    bound.add(Math.min(ms, cpuMs), atS, started, ms);
    events++;
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  const isMajor = (entry: PerformanceEntry) =>
    (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ===
    constants.NODE_PERFORMANCE_GC_MAJOR;
  const majors = collections.filter(isMajor);
  const longestMajorMs = Math.max(0, ...majors.map((entry) => entry.duration));
  /** Milliseconds of collection (of each kind) inside the event that started at `started` and took `ms`. */
  const gcInside = (started: number, ms: number, major: boolean) =>
    collections
      .filter((e) => isMajor(e) === major && e.startTime >= started && e.startTime < started + ms)
      .reduce((sum, e) => sum + e.duration, 0);
  const inLongest = (d: Durations) =>
    `${gcInside(d.longestStarted, d.longestSpanMs, true).toFixed(1)} ms of full and ${gcInside(d.longestStarted, d.longestSpanMs, false).toFixed(1)} ms of young-generation collection`;
  const alerts = pipeline.stats.alertsByType.ml_anomaly ?? 0;
  // Held when every event is under the goal by at least one of the two clocks: each bounds the
  // event's latency on a machine with a free core (see the section text for why).
  const held = bound.longestMs < GOAL_MS;
  const row = (name: string, d: Durations) =>
    `| ${name} | ${((d.totalMs * 1000) / events).toFixed(1)} | ${d.percentile(0.99).toFixed(1)} | ${d.percentile(0.999).toFixed(1)} | ${d.longestMs.toFixed(1)} | ${d.longestAtS.toFixed(0)} | ${d.over} | ${inLongest(d)} |`;
  const markdown = `## ML detector at fleet size: the longest single event

Command: \`npm run bench -- ml\`. Machine: ${machineLine()}, load average ${loadavg()[0]?.toFixed(1)} at the end.
${SERVICES.toLocaleString("en-US")} services with a model each (the default \`max_services\`), the full pipeline with the
default configuration, ${SIMULATED_S.toLocaleString("en-US")} simulated seconds of generated traffic (seed 11, about ${EVENTS_PER_S} events a
second, services in turn): all services start together, so every warm-up ends within the same
10 s, then about three retrains each. Due fits wait in a queue, at most ${FITS_PER_CALL} per call and none in a call that
closed many windows (shared/ml/detector.ts), and each service's windows are offset by a phase from
a hash of its name, so no event pays for the whole fleet's fits or scores.
${alerts} \`ml_anomaly\` alerts were raised (generated traffic with about two events per service window is noisy).

Each of the ${events.toLocaleString("en-US")} \`ingestLine\` calls is timed on two clocks, and neither alone is the
latency a user would see on a machine of their own. Wall time holds the time the scheduler gave
the core to another process (this machine is shared; an event of 0.1 ms CPU has taken 80 ms
wall). Process CPU time holds every thread of the process, so the concurrent marking and
sweeping threads of the garbage collector are charged to whatever event runs meanwhile, even when
they do not hold it up. Each is an upper bound of the event's latency with a free core (wall:
preemption only adds; CPU: the event's own work plus any collector work it waited for, which
helper threads do in parallel), so the **goal figure is, per event, the smaller of the two**, and
the goal (issue 12) holds when the longest of those is under ${GOAL_MS} ms.
${majors.length} full collections ran (longest ${longestMajorMs.toFixed(1)} ms); the last column says how much collection
ran inside each longest event.

| clock | mean (µs) | p99 (ms) | p99.9 (ms) | longest (ms) | at simulated s | events over ${GOAL_MS} ms | collection inside the longest |
|---|---:|---:|---:|---:|---:|---:|---|
${row("CPU", cpu)}
${row("wall", wall)}
${row("smaller of the two", bound)}

Longest event ${bound.longestMs.toFixed(1)} ms by the smaller clock (${cpu.longestMs.toFixed(1)} ms CPU, ${wall.longestMs.toFixed(1)} ms wall at their worst): goal under ${GOAL_MS} ms ${held ? "met" : "**not met**"}.
`;
  console.log(markdown);
  writeBenchSection("ml", markdown);
  console.log(
    `RESULT ml services=${SERVICES} events=${events} longest_event_ms=${bound.longestMs.toFixed(1)} longest_event_cpu_ms=${cpu.longestMs.toFixed(1)} longest_event_wall_ms=${wall.longestMs.toFixed(1)} p999_cpu_ms=${cpu.percentile(0.999).toFixed(1)} p999_wall_ms=${wall.percentile(0.999).toFixed(1)} full_gcs=${majors.length} longest_full_gc_ms=${longestMajorMs.toFixed(1)} load=${loadavg()[0]?.toFixed(1)} goal_ms=${GOAL_MS} held=${held ? "yes" : "no"}`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
