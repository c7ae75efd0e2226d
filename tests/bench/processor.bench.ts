import { loadavg } from "node:os";
import { LiveAggregator } from "../../local/dashboard/aggregate.js";
import { DEFAULT_CONFIG } from "../../shared/config/defaults.js";
import type { PipelineConfig } from "../../shared/config/types.js";
import { createGenerator } from "../../shared/generator/index.js";
import { formatLogLine } from "../../shared/log/parse.js";
import { Pipeline } from "../../shared/pipeline.js";
import { machineLine, writeBenchSection } from "./report.js";

const LINES = 200_000;
const ROUNDS = 9;
/** A first round, not counted, lets the JIT settle before anything is measured. */
const WARMUP_ROUNDS = 1;

function makeLines(): string[] {
  const generator = createGenerator({
    seed: 7,
    startMs: Date.parse("2026-01-01T00:00:00Z"),
    minIntervalS: 0.05,
    maxIntervalS: 0.2,
  });
  const lines: string[] = new Array(LINES);
  for (let i = 0; i < LINES; i++) lines[i] = formatLogLine(generator.next());
  return lines;
}

/** Milliseconds for one pass of `work` over `lines`. */
function timeMs(lines: readonly string[], work: (line: string) => void): number {
  const start = performance.now();
  for (const line of lines) work(line);
  return performance.now() - start;
}

function range(values: number[]): string {
  return `${Math.min(...values).toFixed(2)} to ${Math.max(...values).toFixed(2)}`;
}

/** "+1.2%" / "-3.4%". */
function formatChange(fraction: number): string {
  return `${fraction >= 0 ? "+" : ""}${(fraction * 100).toFixed(1)}%`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Lines per slice: each contender processes the same slice back to back before the next slice. */
const SLICE = 10_000;

/**
 * Processor throughput on one core: parse + every rule detector + the alert lifecycle, beside bare
 * JSON.parse of the same lines. Within a round the contenders take turns slice by slice (JSON.parse
 * on 10,000 lines, then each pipeline on the same 10,000), so a noisy neighbour on this shared
 * machine hurts all of them alike; each pipeline keeps its state across the slices of a round. The
 * ratio is what the goal is about.
 */
export async function run(): Promise<void> {
  const lines = makeLines();
  const rulesOnly: PipelineConfig = {
    ...DEFAULT_CONFIG,
    detectors: { ...DEFAULT_CONFIG.detectors, ml: { ...DEFAULT_CONFIG.detectors.ml, enabled: false } },
  };
  const jsonRates: number[] = [];
  const ruleRates: number[] = [];
  const dashboardRates: number[] = [];
  const dashboardRatios: number[] = [];
  const mlRates: number[] = [];
  const ruleRatios: number[] = [];
  const mlRatios: number[] = [];
  let sink = 0;
  for (let round = 0; round < WARMUP_ROUNDS + ROUNDS; round++) {
    const rules = new Pipeline({ config: rulesOnly });
    const withMl = new Pipeline({ config: DEFAULT_CONFIG });
    // The rule path as `npm run local -- --dashboard` runs it: every event also goes through the
    // dashboard's aggregator, which closes a chart point once per wall second; here once per slice
    // (about ten times a second), which charges it more than the runner does.
    const dashboarded = new Pipeline({ config: rulesOnly });
    const aggregator = new LiveAggregator();
    dashboarded.observeEvents(aggregator.observe);
    let jsonMs = 0;
    let rulesMs = 0;
    let dashboardMs = 0;
    let mlMs = 0;
    for (let from = 0; from < lines.length; from += SLICE) {
      const slice = lines.slice(from, from + SLICE);
      jsonMs += timeMs(slice, (line) => {
        if (JSON.parse(line) !== null) sink++;
      });
      rulesMs += timeMs(slice, (line) => rules.ingestLine(line));
      const dashboardStart = performance.now();
      for (const line of slice) dashboarded.ingestLine(line);
      aggregator.close(dashboarded.nowMs, dashboarded.stats.alertsByType);
      dashboardMs += performance.now() - dashboardStart;
      mlMs += timeMs(slice, (line) => withMl.ingestLine(line));
    }
    if (round < WARMUP_ROUNDS) continue;
    jsonRates.push(lines.length / (jsonMs / 1000));
    ruleRates.push(lines.length / (rulesMs / 1000));
    mlRates.push(lines.length / (mlMs / 1000));
    ruleRatios.push(jsonMs / rulesMs);
    dashboardRates.push(lines.length / (dashboardMs / 1000));
    dashboardRatios.push(jsonMs / dashboardMs);
    mlRatios.push(jsonMs / mlMs);
  }
  if (sink !== LINES * (WARMUP_ROUNDS + ROUNDS))
    throw new Error("JSON.parse baseline did not parse every line");
  const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
  const rules = median(ruleRatios);
  const ml = median(mlRatios);
  const dashboard = median(dashboardRatios);
  const rows = [
    `| bare \`JSON.parse\` | ${fmt(median(jsonRates))} | 1.00 | |`,
    `| parse + rule detectors + alert lifecycle | ${fmt(median(ruleRates))} | ${rules.toFixed(2)} | ${range(ruleRatios)} |`,
    `| the rule path with the live dashboard on (\`--dashboard\`) | ${fmt(median(dashboardRates))} | ${dashboard.toFixed(2)} | ${range(dashboardRatios)} |`,
    `| the same + per-service ML detector | ${fmt(median(mlRates))} | ${median(mlRatios).toFixed(2)} | ${range(mlRatios)} |`,
  ];
  const markdown = `## Processor throughput (one core)

Command: \`npm run bench\` (section \`processor\`). Machine: ${machineLine()}, load average ${loadavg()[0]?.toFixed(1)} at the end (a shared machine: the spread of the ratios below grows with it).
${LINES.toLocaleString("en-US")} generated lines (seed 7), median of ${ROUNDS} rounds after a warm-up round, the contenders taking turns
every ${SLICE.toLocaleString("en-US")} lines. Goals: the rule path at
least 0.5 of the bare JSON.parse rate, the ML path at least 0.25.

| path | events/s | ratio to JSON.parse (median) | ratio, lowest to highest round |
|---|---:|---:|---:|
${rows.join("\n")}

Rule path: ${rules.toFixed(3)} of JSON.parse, goal 0.5 ${rules >= 0.5 ? "met" : "**not met**"}. ML path: ${ml.toFixed(3)}, goal 0.25 ${ml >= 0.25 ? "met" : "**not met**"}. With the
live dashboard on: ${dashboard.toFixed(3)} (${formatChange(dashboard / rules - 1)} against the rule path in the same rounds), goal 0.5 ${dashboard >= 0.5 ? "met" : "**not met**"}. Where the time goes
(CPU profile of the rule path): JSON.parse inside the parser about half, the parser's own checks,
the timestamp and the LogEvent it builds about a tenth, garbage collection about a tenth, and the
four detectors with the alert lifecycle the rest: per event each detector does a map lookup, a
bucket-window update and the state machine. What made the difference: a fast path for the
timestamp layout writers emit, detectors keeping references to events only while an alert can
resolve (each reference is a GC write barrier), once-a-second upkeep that returns early when
nothing is due, and one shared string per service, level and event type (map lookups by
identity). The access-log detectors added since cost the rule path about 0.1 of the ratio (0.51
before them, 0.37 to 0.41 after); what won most of it back: request_flood finds its state by
service and then IP in an intrusive activity list instead of building and hashing a key string and
re-inserting it in a Map per request, and slides only firing windows in its per-second sweep; the
pipeline does not call a detector scoped to sshd or access-log events (sshd_jail, http_probing) for
other events; the alert manager looks inhibited episodes up by fingerprint. Side by side on CPU
time (\`process.cpuUsage\`, 4 rounds, load average 5 to 17): 0.38 to 0.40 before this work, 0.44 to
0.48 after. Since then: request_flood keeps a count of firing windows (its \`idle\` was a walk over
every key, asked once a second) and, with none firing, its sweep visits only the quiet head of the
activity list and the few windows whose last request came too late to count; notifications copy
alerts with a plain deep copy instead of structuredClone (the manager's flush went from about 5%
to 3% of the rule path in the CPU profile). Side by side in one process, base and these changes
taking turns every 10,000 lines (8 rounds, load average 5 to 7): time ratio 1.03 (0.88 to 1.13),
within this machine's noise. Nine runs of this section with these changes (load average 1.4 to
7.4): rule path 0.45 to 0.51 (median 0.47), with the dashboard 0.45 to 0.49; this section run
alternately on the base commit and on these changes (load average 2 to 3): base 0.47 and 0.49,
changed 0.48 and 0.47. So the goal of 0.5 is **not met** reliably (one run of nine reached it),
and these changes are not measurable against the noise here.
The remaining cost is spread thin: JSON.parse is about half of the rule path, the parser's own
work a tenth, and no detector or the per-second tick above 9% each (threshold CPU and memory
together 8%, request_flood 6%, brute force 4%, error rate 3%, alert flush 3%). Since then: the
pipeline calls a detector only for the event types it names (a metric line, a quarter of the
traffic, visits only CPU and memory; brute force sees only auth failures), the bucket windows walk
their ring from the head slot (no integer modulo per bucket, one division per recorded event, a
head field that never boxes), request_flood slides without a modulo per second, the windowed
detectors record an event without building a closure (each one made V8 allocate a context per
event and detector), and the alert manager keeps its sorted group keys. Findings, notifications,
stats and snapshots of three generated streams (200,000, 200,000 and 100,000 events, with sshd and
access-log events and tight caps) hash the same before and after. Side by side in one process on
CPU time (8 rounds, load average 2.7 to 2.8): rule path 0.527 before, 0.534 after (per 10,000-line
slice 1.04 times as fast); with the dashboard 0.490 and 0.513 (per slice 1.00). Instructions
counted by valgrind per steady round: about 2% fewer (4,630M before, 4,450M to 4,590M after; two
runs of one commit differ by 3%). So these are a few
percent, within the noise of one run here, and the goal is still **not met** with margin; what
is left is spread over the same items. The figure moves by about ±0.03 from run to run on this
shared machine. The ML path
(docs/ml.md): the threshold is a quantile of the live window scores (no re-scoring of the
training set), a retrain regrows a quarter of the trees (sliding forest), a split scans only the
feature it draws, retrains are staggered across services, and window samples are references
copied only when an alert takes them.
`;
  console.log(markdown);
  writeBenchSection("processor", markdown);
  const result = (path: string, ratios: number[], rates: number[], goal: number) =>
    `RESULT processor path=${path} ratio=${median(ratios).toFixed(3)} events_per_s=${Math.round(median(rates))} goal=${goal} held=${median(ratios) >= goal ? "yes" : "no"}`;
  console.log(result("rules", ruleRatios, ruleRates, 0.5));
  console.log(result("rules_dashboard", dashboardRatios, dashboardRates, 0.5));
  console.log(result("ml", mlRatios, mlRates, 0.25));
  // Last, the summary line the ML issue asks for.
  console.log(`RESULT processor rule_ratio=${rules.toFixed(3)} ml_ratio=${ml.toFixed(3)}`);
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
