/**
 * Metric series as `timestamp,value` lines (the NAB file layout): a header line is skipped, every
 * other line is a `metric` event with one measurement named after the value column (or the file).
 */
import { readTime } from "./mapping.js";
import type { TimeZone } from "./time.js";
import { isoOf, TimeZone as Zone } from "./time.js";
import {
  type AdapterOptions,
  type IngestContext,
  type IngestResult,
  type LineAdapter,
  quoteLine,
  rejected,
  serviceFromSource,
  skipped,
} from "./types.js";

const ROW = /^\s*"?(\d[^,"]*)"?\s*,\s*"?(-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"?\s*$/;
const ZONELESS = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?$/;

export function isMetricCsvLine(line: string): boolean {
  return ROW.test(line);
}

/** Event fields a series may be declared to be, so the CPU/memory rules and ML features watch it. */
export const METRIC_FIELDS = ["cpu_pct", "memory_pct"] as const;
export type MetricField = (typeof METRIC_FIELDS)[number];

export interface MetricCsvOptions extends AdapterOptions {
  /** The series is this measurement (0..100): it fills that field too. Default: a named measurement only. */
  field?: MetricField;
}

export class MetricCsvAdapter implements LineAdapter {
  readonly format = "metric-csv" as const;
  private readonly field: MetricField | undefined;
  private readonly service: string | undefined;
  private readonly timezone: TimeZone;
  private metricName = "value";

  constructor(options: MetricCsvOptions = {}) {
    this.service = options.service;
    this.field = options.field;
    const zone = options.timezone === undefined ? Zone.UTC : Zone.parse(options.timezone);
    if (typeof zone === "string") throw new RangeError(zone);
    this.timezone = zone;
  }

  read(line: string, context: IngestContext): IngestResult {
    const text = line.trim();
    if (text === "") return rejected("empty_line", "line is empty or whitespace only");
    if (text.startsWith("#")) return skipped("comment");
    const row = ROW.exec(text);
    if (row === null) {
      const header = /^"?([A-Za-z_][\w ]*)"?\s*,\s*"?([A-Za-z_][\w .-]*)"?$/.exec(text);
      if (header) {
        this.metricName = (header[2] ?? "value").trim();
        return skipped("csv_header");
      }
      return rejected("bad_metric_csv", `expected "timestamp,value": ${quoteLine(text)}`);
    }
    const stamp = row[1] ?? "";
    const value = Number(row[2]);
    let timeMs: number | string;
    const zoneless = ZONELESS.exec(stamp);
    if (zoneless) {
      const [, y, mo, d, h, mi, s = "0", ms = "0"] = zoneless;
      const local = Date.UTC(
        Number(y),
        Number(mo) - 1,
        Number(d),
        Number(h),
        Number(mi),
        Number(s),
        Number(ms.padEnd(3, "0")),
      );
      timeMs = Number.isFinite(local) ? this.timezone.toUtc(local) : "not a date";
    } else {
      timeMs = readTime(stamp, undefined);
    }
    if (typeof timeMs === "string") return rejected("bad_timestamp", `${timeMs}: ${quoteLine(stamp)}`);
    const name = this.metricName === "value" ? serviceFromSource(context.source) : this.metricName;
    return {
      status: "event",
      event: {
        timestamp: isoOf(timeMs),
        timeMs,
        service: this.service ?? serviceFromSource(context.source),
        level: "INFO",
        event_type: "metric",
        message: `${name}=${value}`,
        metrics: {
          cpu_pct: this.field === "cpu_pct" && value >= 0 && value <= 100 ? value : null,
          memory_pct: this.field === "memory_pct" && value >= 0 && value <= 100 ? value : null,
          latency_ms: null,
        },
        status_code: null,
        source_ip: null,
        user: null,
        request_id: null,
        origin: "metric-csv",
        measurements: [{ name, value, unit: null }],
      },
    };
  }

  snapshot(): unknown {
    return { metricName: this.metricName };
  }

  restore(state: unknown): void {
    if (
      typeof state === "object" &&
      state !== null &&
      typeof (state as { metricName?: unknown }).metricName === "string"
    ) {
      this.metricName = (state as { metricName: string }).metricName;
    }
  }
}
