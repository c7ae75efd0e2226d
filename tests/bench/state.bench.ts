/**
 * What the processor's DynamoDB state costs (docs/lambda.md, "State layout"): items, bytes, write
 * and read units per invocation and dollars a month at one CloudWatch Logs delivery per second,
 * at 5, 100 and 1,000 services with ML.
 *
 * Method: the real Processor (decode, pipeline, alerting, state layout, save policy) runs against
 * MemoryStateStore, whose `usage` charges every call as DynamoDB on-demand would for the same items
 * DynamoStateStore writes (same attributes; 1 write unit per started KB per item written or deleted,
 * a replaced item billed by the larger of old and new, a failed conditional write billed too; 1
 * read unit per started 4 KB per item of a strongly consistent read). The services are warmed up
 * for WARMUP_MIN minutes of event time first (training windows full, models renewed), then
 * MEASURE_MIN minutes of deliveries, one a second, plus the schedule's tick once a minute, are
 * measured. Services are the generator's five, cloned with a suffix (payment-service-17): each
 * clone has the generator's traffic and incidents.
 */
import { encodeAwsLogsEvent } from "../../functions/aws/awslogs.js";
import { MemoryStateStore, type StateUsage } from "../../functions/aws/state.js";
import { encodeState } from "../../functions/aws/state-layout.js";
import { createLogger } from "../../functions/lambda/log.js";
import { Processor, type ProcessorState } from "../../functions/processor/processor.js";
import { DEFAULT_CONFIG } from "../../shared/config/defaults.js";
import { createGenerator } from "../../shared/generator/index.js";
import { formatLogLine } from "../../shared/log/parse.js";
import type { MeasuredEvent } from "../../shared/log/schema.js";
import { FEATURE_COUNT } from "../../shared/ml/features.js";
import { IsolationForest } from "../../shared/ml/isolation-forest.js";
import { Pipeline } from "../../shared/pipeline.js";
import { MemorySink } from "../../shared/sinks/sink.js";
import { machineLine, writeBenchSection } from "./report.js";

const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const SCALES = [5, 100, 1000];
const WARMUP_MIN = 100;
const MEASURE_MIN = 10;
const SAVE_INTERVAL_MS = 60_000;
/** DynamoDB on-demand, us-east-1, as the issue's baseline used them (see docs/lambda.md). */
const USD_PER_MILLION_WRU = 1.25;
const USD_PER_MILLION_RRU = 0.25;
const USD_PER_GB_MONTH = 0.25;
const SECONDS_PER_MONTH = 30 * 24 * 3600;
const GOALS: Record<number, number> = { 5: 3, 100: 60, 1000: 600 };
const LOG_GROUP = "/cloud-observability/services";
const LOG_STREAM = "host-1";

interface ScaleResult {
  services: number;
  invocations: number;
  saves: number;
  perInvocation: StateUsage;
  wruPerSave: number;
  storedItems: number;
  storedBytes: number;
  usdWrites: number;
  usdReads: number;
  usdStorage: number;
  usdPerMonth: number;
  encodeMsMax: number;
  packBytesPerRetrain: number;
  retrains: number;
  warmupS: number;
  measureS: number;
  coldStartReadUnits: number;
}

/** The generator's events with each service cloned `copies` times. */
function* events(copies: number): Generator<MeasuredEvent> {
  const generator = createGenerator({ seed: 7, startMs: T0, minIntervalS: 0.5, maxIntervalS: 1.5 });
  for (;;) {
    const event = generator.next();
    for (let k = 0; k < copies; k++) {
      yield copies === 1 ? event : { ...event, service: `${event.service}-${k}` };
    }
  }
}

function difference(after: StateUsage, before: StateUsage, divisor: number): StateUsage {
  const out = { ...after };
  for (const key of Object.keys(out) as (keyof StateUsage)[]) out[key] = (after[key] - before[key]) / divisor;
  return out;
}

async function measure(services: number): Promise<ScaleResult> {
  const copies = Math.max(1, Math.round(services / 5));
  const source = events(copies);
  let next = source.next().value as MeasuredEvent;
  const warmStart = performance.now();
  // Warm-up without the store: the pipeline alone, as the processor would have run it.
  const pipeline = new Pipeline({ config: DEFAULT_CONFIG, timeReference: "wall" });
  const warmEnd = T0 + WARMUP_MIN * 60_000;
  for (let second = T0; second < warmEnd; second += 1000) {
    pipeline.setWallClock(second + 1000);
    while (next.timeMs < second + 1000) {
      pipeline.ingestEvent(next, `${LOG_GROUP}/${LOG_STREAM}`);
      next = source.next().value as MeasuredEvent;
    }
    pipeline.advance(pipeline.nowMs);
    pipeline.takeNotifications();
    pipeline.takeFindings();
  }
  const warmupS = (performance.now() - warmStart) / 1000;

  const store = new MemoryStateStore();
  const seeded = encodeState({ pipeline: pipeline.snapshot(), outbox: [] } satisfies ProcessorState);
  await store.saveItems(
    "processor",
    { root: seeded.root, put: seeded.put, delete: [], expectedVersion: null },
    warmEnd,
  );
  let wallMs = warmEnd;
  const processor = new Processor({
    config: DEFAULT_CONFIG,
    store,
    sink: new MemorySink(),
    logger: createLogger({}, () => {}),
    writeMetrics: () => {},
    now: () => wallMs,
    minSaveIntervalMs: SAVE_INTERVAL_MS,
  });
  const retrainsBefore = countTrainings(pipeline);
  let before = { ...store.usage };
  let coldStartReadUnits = 0;
  let invocations = 0;
  let saves = 0;
  let encodeMsMax = 0;
  const measureStart = performance.now();
  let packBytes = 0;
  const originalSave = store.saveItems.bind(store);
  store.saveItems = async (key, save, nowMs) => {
    for (const [name, data] of save.put) if (name.startsWith("p")) packBytes += data.length;
    if (process.env.STATE_BENCH_DEBUG === "1") {
      const kinds: Record<string, number> = {};
      for (const [name, data] of save.put)
        kinds[name[0] ?? "?"] = (kinds[name[0] ?? "?"] ?? 0) + Math.ceil(data.length / 1024);
      console.log(
        `save root=${save.root.length} put=${save.put.size} delete=${save.delete.length} kb=${JSON.stringify(kinds)}`,
      );
    }
    return await originalSave(key, save, nowMs);
  };
  for (let second = warmEnd; second < warmEnd + MEASURE_MIN * 60_000; second += 1000) {
    const lines: { timestamp: number; message: string }[] = [];
    while (next.timeMs < second + 1000) {
      lines.push({ timestamp: next.timeMs, message: formatLogLine(next) });
      next = source.next().value as MeasuredEvent;
    }
    wallMs = second + 1000;
    const payload = encodeAwsLogsEvent({
      owner: "123456789012",
      logGroup: LOG_GROUP,
      logStream: LOG_STREAM,
      subscriptionFilters: ["all"],
      messageType: "DATA_MESSAGE",
      logEvents: lines.map((l, i) => ({ id: `${second}-${i}`, timestamp: l.timestamp, message: l.message })),
    });
    const started = performance.now();
    const outcome = await processor.handle(payload);
    if (second === warmEnd) {
      // The first invocation is a cold start: it reads the whole state once. Reported apart.
      coldStartReadUnits = store.usage.readUnits - before.readUnits;
      before = { ...store.usage };
      continue;
    }
    invocations++;
    if (outcome.stateSaved) {
      saves++;
      encodeMsMax = Math.max(encodeMsMax, performance.now() - started);
    }
    if ((second - warmEnd) % 60_000 === 59_000) {
      // The schedule's tick, once a minute.
      const tick = await processor.handle({
        "detail-type": "Scheduled Event",
        source: "aws.events",
        time: new Date(wallMs).toISOString(),
      });
      invocations++;
      if (tick.stateSaved) saves++;
    }
  }
  const measureS = (performance.now() - measureStart) / 1000;
  const total = difference(store.usage, before, 1);
  const perInvocation = difference(store.usage, before, invocations);
  const restored = new Pipeline({ config: DEFAULT_CONFIG, timeReference: "wall" });
  const stored = await (await import("../../functions/processor/processor.js")).loadProcessorState(
    store,
    "processor",
  );
  if (stored !== null) restored.restore(stored.value.pipeline);
  const retrains = countTrainings(restored) - retrainsBefore;
  const storedItems = store.itemNames("processor").length + 1;
  const storedBytes = store.storedBytes("processor");
  // Invocations a month at one delivery a second, plus the minute tick.
  const monthly = SECONDS_PER_MONTH * (1 + 1 / 60);
  const usdWrites = (perInvocation.writeUnits * monthly * USD_PER_MILLION_WRU) / 1e6;
  const usdReads = (perInvocation.readUnits * monthly * USD_PER_MILLION_RRU) / 1e6;
  const usdStorage = (storedBytes / 1e9) * USD_PER_GB_MONTH;
  return {
    services,
    invocations,
    saves,
    perInvocation,
    wruPerSave: total.writeUnits / Math.max(1, saves),
    storedItems,
    storedBytes,
    usdWrites,
    usdReads,
    usdStorage,
    usdPerMonth: usdWrites + usdReads + usdStorage,
    encodeMsMax,
    packBytesPerRetrain: retrains > 0 ? packBytes / retrains : 0,
    retrains,
    warmupS,
    measureS,
    coldStartReadUnits,
  };
}

function countTrainings(pipeline: Pipeline): number {
  const ml = pipeline.snapshot().detectors.ml as { services?: { trainings?: number }[] } | undefined;
  return (ml?.services ?? []).reduce((sum, s) => sum + (s.trainings ?? 0), 0);
}

/**
 * The other way to keep models: store no model, refit on restore from the training rows (which
 * the layout stores anyway). Writes nothing per retrain; a cold start pays one full fit per service.
 */
function refitCost(): { fitMs: number; rowsBytesF32: number } {
  const rows = 512;
  const data = new Float64Array(rows * FEATURE_COUNT);
  let seed = 5;
  for (let i = 0; i < data.length; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    data[i] = (seed % 10_000) / 100;
  }
  const { trees, sample_size } = DEFAULT_CONFIG.detectors.ml;
  IsolationForest.fit(data, FEATURE_COUNT, { trees, sampleSize: sample_size, seed: 1, extrapolate: true });
  const started = performance.now();
  const rounds = 10;
  for (let r = 0; r < rounds; r++) {
    IsolationForest.fit(data, FEATURE_COUNT, { trees, sampleSize: sample_size, seed: r, extrapolate: true });
  }
  return { fitMs: (performance.now() - started) / rounds, rowsBytesF32: rows * FEATURE_COUNT * 4 };
}

const usd = (n: number) => `$${n < 10 ? n.toFixed(2) : n.toFixed(0)}`;

export async function run(): Promise<void> {
  const only = process.env.STATE_BENCH_SCALES?.split(",").map(Number);
  const results: ScaleResult[] = [];
  for (const services of only ?? SCALES) {
    const result = await measure(services);
    results.push(result);
    console.log(
      `services=${services}: ${result.invocations} invocations, ${result.saves} saves, ` +
        `${result.perInvocation.writeUnits.toFixed(2)} WRU and ${result.perInvocation.readUnits.toFixed(2)} RRU per invocation, ` +
        `${usd(result.usdPerMonth)}/month (warm-up ${result.warmupS.toFixed(0)} s, measured ${result.measureS.toFixed(0)} s, slowest saving invocation ${result.encodeMsMax.toFixed(0)} ms)`,
    );
  }
  const refit = refitCost();
  const rows = results.map((r) => {
    const p = r.perInvocation;
    return `| ${r.services} | ${r.saves} / ${r.invocations} | ${p.itemsWritten.toFixed(2)} | ${(p.bytesWritten / 1024).toFixed(1)} KB | ${p.itemsDeleted.toFixed(2)} | ${p.writeUnits.toFixed(2)} | ${p.readUnits.toFixed(2)} | ${r.wruPerSave.toFixed(0)} | ${r.storedItems} / ${(r.storedBytes / 1e6).toFixed(1)} MB | ${usd(r.usdWrites)} + ${usd(r.usdReads)} + ${usd(r.usdStorage)} = **${usd(r.usdPerMonth)}** | ${usd(GOALS[r.services] ?? Number.NaN)} | ${r.encodeMsMax.toFixed(0)} |`;
  });
  const packs = results.filter((r) => r.retrains > 0);
  const pack = packs.length > 0 ? packs.reduce((a, r) => a + r.packBytesPerRetrain, 0) / packs.length : 0;
  // Written once, deleted once: two units per started KB of pack.
  const shares = packs.map(
    (r) =>
      `${((100 * 2 * r.retrains * Math.ceil((r.packBytesPerRetrain + 80) / 1024)) / (r.perInvocation.writeUnits * r.invocations)).toFixed(0)}% at ${r.services}`,
  );
  const packShare = shares.join(", ");
  writeBenchSection(
    "state",
    `## State cost (\`npm run bench -- state\`)

${machineLine()}

The processor with the item layout (docs/lambda.md, "State layout") and the default save policy
(window-only changes at most every ${SAVE_INTERVAL_MS / 1000} s; findings, notifications and the
outbox at once), against \`MemoryStateStore\`, which bills every call as DynamoDB on-demand would
for the same items (1 WRU per started KB per item written or deleted, the larger of old and new for a
replaced item, failed conditional writes too; 1 RRU per started 4 KB per item of a consistent read).
Services: the generator's five cloned with a suffix, each clone with the generator's traffic and
incidents (about ${(1 / 5).toFixed(1)} events a second each), warmed up for ${WARMUP_MIN} minutes of
event time (training windows full, models renewed), then ${MEASURE_MIN} minutes measured: one
delivery a second plus the schedule's tick once a minute. Dollars a month: per-invocation units x
${SECONDS_PER_MONTH.toLocaleString("en-US")} s x (1 + 1/60) invocations, at $${USD_PER_MILLION_WRU} per
million WRU, $${USD_PER_MILLION_RRU} per million RRU (the prices of the issue's baseline; AWS's
us-east-1 on-demand prices since November 2024 are half of these) and $${USD_PER_GB_MONTH} per
GB-month stored.

| services | saves / invocations | items written / inv. | bytes written / inv. | items deleted / inv. | WRU / inv. | RRU / inv. | WRU / save | stored items / bytes | $ a month (writes + reads + storage) | goal | slowest saving invocation (ms) |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${rows.join("\n")}

Models: stored as tree packs, one pack per retrain holding only the renewed quarter of the forest
(${(pack / 1024).toFixed(1)} KB per retrain measured, compressed; written once and deleted four
retrains later, about ${packShare} of the write units above). The alternative, refitting on restore
from the training rows (float32: ${(refit.rowsBytesF32 / 1024).toFixed(0)} KB a service, which the
layout stores anyway as exact float64), writes nothing per retrain but costs one full fit per
service on every cold start or lost race: ${refit.fitMs.toFixed(1)} ms a service here, so
${refit.fitMs.toFixed(0)} s of CPU at 1,000 services before the first event is processed, and a
refit forest is not the sliding forest the detector had (different trees, different scores). Refit
is cheaper in dollars by that share; stored packs are kept for identical detection across cold
starts and bounded restore time.

${results.map((r) => `RESULT state services=${r.services} wru_per_save=${r.wruPerSave.toFixed(1)} usd_per_month=${r.usdPerMonth.toFixed(2)}`).join("\n")}
`,
  );
  for (const r of results) {
    console.log(
      `RESULT state services=${r.services} wru_per_save=${r.wruPerSave.toFixed(1)} usd_per_month=${r.usdPerMonth.toFixed(2)}`,
    );
  }
}
