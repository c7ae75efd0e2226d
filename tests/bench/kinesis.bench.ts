/**
 * Throughput of the scale-out path per shard (docs/deploy.md, "Scaling out"): how many log events a
 * second one processor invocation at a time works through, next to what a Kinesis shard takes in.
 * The CPU side is measured here (router split, processor with in-memory state and sink); network and
 * DynamoDB latency are not, so the figures are an upper bound for one shard's processor.
 */
import type { CloudWatchLogsDecodedData, KinesisStreamEvent } from "aws-lambda";
import { MemoryStateStore } from "../../functions/aws/state.js";
import { generateWindow } from "../../functions/generator/generator.js";
import { createLogger } from "../../functions/lambda/log.js";
import { KinesisProcessor } from "../../functions/processor/kinesis.js";
import { Processor } from "../../functions/processor/processor.js";
import { splitByService } from "../../functions/router/router.js";
import { DEFAULT_CONFIG } from "../../shared/config/defaults.js";
import { MemorySink } from "../../shared/sinks/sink.js";
import { machineLine, writeBenchSection } from "./report.js";

const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);
const MINUTES = 30;
/** Kinesis's documented write limit per shard. */
const SHARD_BYTES_PER_S = 1024 * 1024;
/** Lambda gives one full vCPU at 1,769 MB; the processor's default is 512 MB. */
const PROCESSOR_VCPU = 512 / 1769;

function minuteDeliveries(): CloudWatchLogsDecodedData[] {
  const events = generateWindow({
    seed: 11,
    startMs: T0,
    endMs: T0 + MINUTES * 60_000,
    minIntervalS: 0.05,
    maxIntervalS: 0.2,
  });
  const out: CloudWatchLogsDecodedData[] = [];
  for (let m = 0; m < MINUTES; m++) {
    out.push({
      owner: "123456789012",
      logGroup: "/bench",
      logStream: "host-1",
      subscriptionFilters: ["to-kinesis"],
      messageType: "DATA_MESSAGE",
      logEvents: events
        .filter((e) => (e.timestamp ?? 0) >= T0 + m * 60_000 && (e.timestamp ?? 0) < T0 + (m + 1) * 60_000)
        .map((e, i) => ({ id: `${m}-${i}`, timestamp: e.timestamp ?? 0, message: e.message ?? "" })),
    });
  }
  return out;
}

export async function run(): Promise<void> {
  const deliveries = minuteDeliveries();
  const lines = deliveries.reduce((sum, d) => sum + d.logEvents.length, 0);

  let started = process.hrtime.bigint();
  const records = deliveries.flatMap((d) => splitByService(d));
  const routerS = Number(process.hrtime.bigint() - started) / 1e9;
  const compressedBytes = records.reduce((sum, r) => sum + r.data.byteLength, 0);

  const silent = createLogger({}, () => {});
  const store = new MemoryStateStore();
  const processor = new KinesisProcessor(
    (stateKey) =>
      new Processor({
        config: DEFAULT_CONFIG,
        store,
        sink: new MemorySink(),
        logger: silent,
        writeMetrics: () => {},
        stateKey,
        now: () => T0,
      }),
    silent,
  );
  const event: KinesisStreamEvent = {
    Records: records.map((r, i) => ({
      eventSource: "aws:kinesis",
      eventVersion: "1.0",
      eventID: `shardId-0:${i}`,
      eventName: "aws:kinesis:record",
      invokeIdentityArn: "arn:aws:iam::123456789012:role/bench",
      awsRegion: "us-east-1",
      eventSourceARN: "arn:aws:kinesis:us-east-1:123456789012:stream/services",
      kinesis: {
        kinesisSchemaVersion: "1.0",
        partitionKey: r.partitionKey,
        sequenceNumber: String(i),
        approximateArrivalTimestamp: 0,
        data: Buffer.from(r.data).toString("base64"),
      },
    })),
  };
  started = process.hrtime.bigint();
  const outcome = await processor.handle(event);
  const processorS = Number(process.hrtime.bigint() - started) / 1e9;
  const accepted = outcome.outcomes.reduce((sum, o) => sum + o.accepted, 0);
  if (accepted !== lines) throw new Error(`processor accepted ${accepted} of ${lines} lines`);

  const routerRate = lines / routerS;
  const processorRate = lines / processorS;
  const bytesPerEvent = compressedBytes / lines;
  const shardLimitRate = SHARD_BYTES_PER_S / bytesPerEvent;
  const lambdaRate = processorRate * PROCESSOR_VCPU;
  const perShard = Math.min(shardLimitRate, lambdaRate);
  console.log(
    `${lines} lines, ${records.length} service records; router ${routerRate.toFixed(0)} lines/s, processor ${processorRate.toFixed(0)} events/s on one core; ${bytesPerEvent.toFixed(0)} compressed bytes per event`,
  );
  writeBenchSection(
    "kinesis",
    [
      "## Scale-out path: throughput per shard",
      "",
      `Machine: ${machineLine()}. Command: \`npm run bench -- kinesis\`. ${MINUTES} simulated minutes of generated`,
      `traffic (${lines} lines, one subscription payload a minute), split by the router and processed by one`,
      "`KinesisProcessor` (state in memory, notifications to a memory sink: CPU only, no network or DynamoDB time).",
      "",
      "| measure | value |",
      "| --- | --- |",
      `| router split, lines/s on one core | ${routerRate.toFixed(0)} |`,
      `| processor, events/s on one core | ${processorRate.toFixed(0)} |`,
      `| processor at 512 MB (${PROCESSOR_VCPU.toFixed(2)} vCPU), events/s | ${lambdaRate.toFixed(0)} |`,
      `| compressed bytes per event on the service stream | ${bytesPerEvent.toFixed(0)} |`,
      `| shard write limit (1 MiB/s), events/s | ${shardLimitRate.toFixed(0)} |`,
      `| **one shard, events/s (the smaller of the two above)** | **${perShard.toFixed(0)}** |`,
      "",
      `RESULT kinesis router_lines_per_s=${routerRate.toFixed(0)} processor_events_per_s=${processorRate.toFixed(0)} per_shard_events_per_s=${perShard.toFixed(0)}`,
    ].join("\n"),
  );
  console.log(
    `RESULT kinesis router_lines_per_s=${routerRate.toFixed(0)} processor_events_per_s=${processorRate.toFixed(0)} per_shard_events_per_s=${perShard.toFixed(0)}`,
  );
}
