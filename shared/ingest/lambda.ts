/**
 * AWS Lambda log groups: the platform's START/END/REPORT lines (text or the JSON log format's
 * platform.* records), CloudWatch Embedded Metric Format objects, the runtime's text lines
 * ("<time>\t<request id>\t<LEVEL>\t<message>"), and JSON application lines (handed to the JSON
 * adapter, so Powertools output in the same group is read too).
 */
import { parseIsoTimestamp } from "../log/parse.js";
import type { LogEvent, LogLevel, MetricSample } from "../log/schema.js";
import { JsonAdapter, type JsonOptions } from "./json.js";
import { readLevel } from "./mapping.js";
import { isoOf } from "./time.js";
import {
  type IngestContext,
  type IngestResult,
  type LineAdapter,
  lineTime,
  quoteLine,
  rejected,
  serviceFromSource,
  skipped,
} from "./types.js";

/** `aws logs tail` / console export prefix: an ISO time and optionally the log stream. */
const EXPORT_PREFIX = /^(\d{4}-\d{2}-\d{2}T\S+)\s+(?:\d{4}\/\d{2}\/\d{2}\/\[[^\]]*\]\S*\s+)?/;
const PLATFORM =
  /^(START|END|REPORT|INIT_START|INIT_REPORT|RESTORE_START|RESTORE_REPORT|EXTENSION|TELEMETRY)\b/;
const REPORT =
  /^REPORT RequestId: (\S+)\s+Duration: ([\d.]+) ms\s+Billed Duration: ([\d.]+) ms\s+Memory Size: (\d+) MB\s+Max Memory Used: (\d+) MB(?:\s+Init Duration: ([\d.]+) ms)?(?:\s+Restore Duration: [\d.]+ ms)?(?:\s+Billed Restore Duration: [\d.]+ ms)?(?:\s+Status: (\w+))?(?:\s+Error Type: (\S+))?/;
const RUNTIME_TEXT = /^(\d{4}-\d{2}-\d{2}T\S+)\t([\w-]{8,64})\t([A-Z]+)\t([\s\S]*)$/;
const TIMED_OUT = /^(\d{4}-\d{2}-\d{2}T\S+)?\s*([\w-]{8,64})?\s*Task timed out after ([\d.]+) seconds/;

export function isLambdaPlatformText(line: string): boolean {
  return PLATFORM.test(line) || (EXPORT_PREFIX.test(line) && PLATFORM.test(line.replace(EXPORT_PREFIX, "")));
}

export function isLambdaRuntimeText(line: string): boolean {
  return RUNTIME_TEXT.test(line) || TIMED_OUT.test(line);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Whether a decoded object is an EMF record or a Lambda platform record. */
export function isLambdaObject(record: Record<string, unknown>): boolean {
  return (
    isEmf(record) ||
    (typeof record.type === "string" && record.type.startsWith("platform.") && isObject(record.record))
  );
}

function isEmf(record: Record<string, unknown>): boolean {
  const aws = record._aws;
  return isObject(aws) && Array.isArray(aws.CloudWatchMetrics);
}

export class LambdaAdapter implements LineAdapter {
  readonly format = "lambda" as const;
  private readonly json: JsonAdapter;
  private readonly service: string | undefined;
  private lastTimeMs = Number.NaN;

  constructor(options: JsonOptions = {}) {
    this.json = new JsonAdapter(options);
    this.service = options.service;
  }

  read(line: string, context: IngestContext): IngestResult {
    const text = line.endsWith("\r") ? line.slice(0, -1) : line;
    if (text.trim() === "") return rejected("empty_line", "line is empty or whitespace only");
    if (text.startsWith("{")) {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        return this.json.read(text, context);
      }
      if (isObject(value) && isLambdaObject(value)) return this.readObject(value, context);
      const result = this.json.readObject(value, context, null);
      if (result.status === "event") this.lastTimeMs = result.event.timeMs;
      return result;
    }
    return this.readText(text, context);
  }

  readObject(record: Record<string, unknown>, context: IngestContext): IngestResult {
    if (isEmf(record)) return this.readEmf(record, context);
    const type = record.type as string;
    const body = record.record as Record<string, unknown>;
    const time = typeof record.time === "string" ? parseIsoTimestamp(record.time) : "no time";
    const timeMs = typeof time === "number" ? time : lineTime(context, this.lastTimeMs);
    if (type !== "platform.report")
      return skipped(
        `lambda_${type.replace("platform.", "").replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`,
      );
    const metrics = isObject(body.metrics) ? body.metrics : {};
    const num = (key: string): number | null =>
      typeof metrics[key] === "number" ? (metrics[key] as number) : null;
    const status = typeof body.status === "string" ? body.status : "success";
    return this.report(context, timeMs, {
      requestId: typeof body.requestId === "string" ? body.requestId : null,
      durationMs: num("durationMs"),
      billedMs: num("billedDurationMs"),
      memorySizeMb: num("memorySizeMB"),
      maxMemoryMb: num("maxMemoryUsedMB"),
      initMs: num("initDurationMs"),
      status,
      message: `REPORT ${JSON.stringify(body).slice(0, 200)}`,
    });
  }

  private readText(text: string, context: IngestContext): IngestResult {
    const runtime = RUNTIME_TEXT.exec(text);
    if (runtime) {
      const time = parseIsoTimestamp(runtime[1] ?? "");
      if (typeof time === "string") return rejected("bad_timestamp", `${time}: ${quoteLine(text)}`);
      const level: LogLevel = readLevel(runtime[3] ?? "", undefined) ?? "INFO";
      this.lastTimeMs = time;
      return {
        status: "event",
        event: this.event(
          context,
          time,
          level,
          level === "ERROR" ? "error" : "request",
          runtime[4] ?? "",
          runtime[2] === "undefined" ? null : (runtime[2] ?? null),
        ),
      };
    }
    const timedOut = TIMED_OUT.exec(text);
    if (timedOut) {
      const own = timedOut[1] === undefined ? null : parseIsoTimestamp(timedOut[1]);
      const timeMs = typeof own === "number" ? own : lineTime(context, this.lastTimeMs);
      if (timeMs === null) return rejected("no_timestamp", `no time for ${quoteLine(text)}`);
      const event = this.event(context, timeMs, "ERROR", "error", text, timedOut[2] ?? null);
      event.metrics.latency_ms = Number(timedOut[3]) * 1000;
      return { status: "event", event };
    }
    let rest = text;
    let ownTime: number | null = null;
    const prefix = EXPORT_PREFIX.exec(text);
    if (prefix && PLATFORM.test(text.slice(prefix[0].length))) {
      const parsed = parseIsoTimestamp(prefix[1] ?? "");
      if (typeof parsed === "number") ownTime = parsed;
      rest = text.slice(prefix[0].length);
    }
    const platform = PLATFORM.exec(rest);
    if (platform === null) {
      return rejected("bad_lambda_line", `not a Lambda platform, runtime or JSON line: ${quoteLine(text)}`);
    }
    if (platform[1] !== "REPORT") return skipped(`lambda_${(platform[1] ?? "").toLowerCase()}`);
    const report = REPORT.exec(rest);
    if (report === null)
      return rejected(
        "bad_lambda_line",
        `REPORT line without Duration/Billed Duration/Memory Size/Max Memory Used: ${quoteLine(text)}`,
      );
    const timeMs = ownTime ?? lineTime(context, this.lastTimeMs);
    return this.report(context, timeMs, {
      requestId: report[1] ?? null,
      durationMs: Number(report[2]),
      billedMs: Number(report[3]),
      memorySizeMb: Number(report[4]),
      maxMemoryMb: Number(report[5]),
      initMs: report[6] === undefined ? null : Number(report[6]),
      status: report[7] === undefined ? "success" : report[7].toLowerCase(),
      message: rest,
    });
  }

  private report(
    context: IngestContext,
    timeMs: number | null,
    r: {
      requestId: string | null;
      durationMs: number | null;
      billedMs: number | null;
      memorySizeMb: number | null;
      maxMemoryMb: number | null;
      initMs: number | null;
      status: string;
      message: string;
    },
  ): IngestResult {
    if (timeMs === null)
      return rejected("no_timestamp", "a REPORT line without a time, and none known before it");
    const failed = r.status !== "success";
    const event = this.event(
      context,
      timeMs,
      failed ? "ERROR" : "INFO",
      failed ? "error" : "request",
      r.message,
      r.requestId,
    );
    event.metrics.latency_ms = r.durationMs;
    event.metrics.memory_pct =
      r.memorySizeMb !== null && r.maxMemoryMb !== null && r.memorySizeMb > 0
        ? Math.min(100, (r.maxMemoryMb / r.memorySizeMb) * 100)
        : null;
    const measurements: MetricSample[] = [];
    if (r.billedMs !== null)
      measurements.push({ name: "billed_duration", value: r.billedMs, unit: "Milliseconds" });
    if (r.memorySizeMb !== null)
      measurements.push({ name: "memory_size", value: r.memorySizeMb, unit: "Megabytes" });
    if (r.maxMemoryMb !== null)
      measurements.push({ name: "max_memory_used", value: r.maxMemoryMb, unit: "Megabytes" });
    if (r.initMs !== null)
      measurements.push({ name: "init_duration", value: r.initMs, unit: "Milliseconds" });
    event.measurements = measurements;
    return { status: "event", event };
  }

  private readEmf(record: Record<string, unknown>, context: IngestContext): IngestResult {
    const aws = record._aws as Record<string, unknown>;
    const stamp = aws.Timestamp;
    const timeMs =
      typeof stamp === "number" && Number.isFinite(stamp) ? stamp : lineTime(context, this.lastTimeMs);
    if (timeMs === null) return rejected("no_timestamp", "EMF record without _aws.Timestamp");
    const measurements: MetricSample[] = [];
    let service: string | null = null;
    for (const directive of aws.CloudWatchMetrics as unknown[]) {
      if (!isObject(directive) || !Array.isArray(directive.Metrics)) continue;
      if (service === null && Array.isArray(directive.Dimensions)) {
        for (const set of directive.Dimensions) {
          if (!Array.isArray(set)) continue;
          for (const key of ["service", "Service", "ServiceName", "FunctionName"]) {
            if (set.includes(key) && typeof record[key] === "string") service = record[key] as string;
          }
        }
      }
      for (const metric of directive.Metrics) {
        if (!isObject(metric) || typeof metric.Name !== "string") continue;
        const raw = record[metric.Name];
        const values = Array.isArray(raw) ? raw : [raw];
        for (const value of values) {
          if (typeof value === "number" && Number.isFinite(value)) {
            measurements.push({
              name: metric.Name,
              value,
              unit: typeof metric.Unit === "string" ? metric.Unit : null,
            });
          }
        }
      }
    }
    if (measurements.length === 0) return skipped("emf_without_values");
    this.lastTimeMs = timeMs;
    const event = this.event(
      context,
      timeMs,
      "INFO",
      "metric",
      `EMF ${measurements.map((m) => `${m.name}=${m.value}`).join(" ")}`,
      null,
    );
    if (service !== null) event.service = service;
    event.measurements = measurements;
    return { status: "event", event };
  }

  private event(
    context: IngestContext,
    timeMs: number,
    level: LogLevel,
    eventType: LogEvent["event_type"],
    message: string,
    requestId: string | null,
  ): LogEvent {
    return {
      timestamp: isoOf(timeMs),
      timeMs,
      service: this.service ?? serviceFromSource(context.source),
      level,
      event_type: eventType,
      message,
      metrics: { cpu_pct: null, memory_pct: null, latency_ms: null },
      status_code: null,
      source_ip: null,
      user: null,
      request_id: requestId,
      origin: "lambda",
    };
  }

  snapshot(): unknown {
    return null;
  }

  restore(_state: unknown): void {}
}
