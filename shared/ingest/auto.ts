/**
 * `auto`: decides per line, in this order (docs/inputs.md):
 *  1. a container wrapper (Docker json-file, Kubernetes CRI) is removed, then the inner line goes on;
 *  2. a JSON object: the native schema; else EMF or a Lambda platform record; else a mapping preset
 *     (two presets fitting is ambiguous and refused);
 *  3. a Lambda platform or runtime text line (START/END/REPORT, "<time>\t<id>\t<LEVEL>\t...");
 *  4. an access log line (combined/common);
 *  5. a syslog line (classic, ISO 8601, RFC 5424) or journal line: sshd is read, others skipped;
 *  6. a `timestamp,value` metric row;
 *  anything else is refused as unrecognised.
 */
import { parseLogLine } from "../log/parse.js";
import { AccessLogAdapter, isAccessLogLine } from "./access-log.js";
import { ContainerUnwrap } from "./container.js";
import { JsonAdapter } from "./json.js";
import { isLambdaObject, isLambdaPlatformText, isLambdaRuntimeText, LambdaAdapter } from "./lambda.js";
import type { CompiledMapping } from "./mapping.js";
import { isMetricCsvLine, MetricCsvAdapter } from "./metric-csv.js";
import { SshdAdapter, type SshdMode } from "./sshd.js";
import {
  type AdapterOptions,
  type IngestContext,
  type IngestResult,
  type LineAdapter,
  quoteLine,
  rejected,
} from "./types.js";

export interface AutoOptions extends AdapterOptions {
  mapping?: CompiledMapping | string;
  mode?: SshdMode;
}

class AutoDetect implements LineAdapter {
  readonly format = "auto" as const;
  private readonly json: JsonAdapter;
  private readonly lambda: LambdaAdapter;
  private readonly access: AccessLogAdapter;
  private readonly sshd: SshdAdapter;
  private readonly csv: MetricCsvAdapter;
  private lastTimeMs = Number.NaN;

  constructor(options: AutoOptions) {
    this.json = new JsonAdapter(options);
    this.lambda = new LambdaAdapter(options);
    this.access = new AccessLogAdapter("nginx", options);
    this.sshd = new SshdAdapter(options);
    this.csv = new MetricCsvAdapter(options);
  }

  read(line: string, given: IngestContext): IngestResult {
    // A line without a time of its own (a REPORT line) takes the last time of any format here.
    const context =
      given.lineTimeMs === undefined && !Number.isNaN(this.lastTimeMs)
        ? { ...given, lineTimeMs: this.lastTimeMs }
        : given;
    const result = this.readLine(line, context);
    if (result.status === "event") this.lastTimeMs = result.event.timeMs;
    return result;
  }

  private readLine(line: string, context: IngestContext): IngestResult {
    const first = line.charCodeAt(0);
    if (first === 0x7b /* { */) {
      // The native schema first and on its own fast path: it is the common case.
      const native = parseLogLine(line);
      if (native.ok) return { status: "event", event: native.event };
      if (
        native.reason !== "missing_field" &&
        native.reason !== "wrong_type" &&
        native.reason !== "unknown_enum" &&
        native.reason !== "out_of_range" &&
        native.reason !== "bad_timestamp"
      ) {
        return rejected(native.reason, native.detail);
      }
      const value = JSON.parse(line) as unknown;
      if (typeof value === "object" && value !== null && !Array.isArray(value)) {
        const record = value as Record<string, unknown>;
        if (isLambdaObject(record)) return this.lambda.readObject(record, context);
      }
      return this.json.readObject(value, context, `${native.reason}: ${native.detail}`);
    }
    const text = line.endsWith("\r") ? line.slice(0, -1) : line;
    if (text.trim() === "") return rejected("empty_line", "line is empty or whitespace only");
    if (first === 0x5b /* [ */) {
      // A JSON array is JSON, just not an object; anything else starting with "[" is read on below.
      const native = parseLogLine(text);
      if (!native.ok && native.reason === "not_an_object") return rejected(native.reason, native.detail);
    }
    if (isLambdaPlatformText(text) || isLambdaRuntimeText(text)) return this.lambda.read(text, context);
    if (isAccessLogLine(text)) return this.access.read(text, context);
    if (isMetricCsvLine(text) || /^"?timestamp"?\s*,/i.test(text)) return this.csv.read(text, context);
    const syslog = this.sshd.read(text, context);
    if (syslog.status !== "rejected" || syslog.reason !== "unrecognised_line") return syslog;
    return rejected(
      "unrecognised_line",
      `no format recognises this line (JSON, Lambda, access log, syslog/sshd, timestamp,value): ${quoteLine(text)}`,
    );
  }

  snapshot(): unknown {
    return { sshd: this.sshd.snapshot(), csv: this.csv.snapshot() };
  }

  restore(state: unknown): void {
    if (typeof state !== "object" || state === null) return;
    const record = state as { sshd?: unknown; csv?: unknown };
    if (record.sshd !== undefined) this.sshd.restore(record.sshd);
    if (record.csv !== undefined) this.csv.restore(record.csv);
  }
}

export function createAutoAdapter(options: AutoOptions = {}): LineAdapter {
  return new ContainerUnwrap(new AutoDetect(options));
}
