/**
 * The local runner's side of the format adapters: builds the adapter from the flags (`--format`,
 * `--mapping`, `--service`, `--timezone`, `--year`, `--sshd-mode`, `--log-format`), feeds each line's
 * event to the pipeline, counts skips and rejections, writes `--events-out` (one JSON object per
 * input line, in order) and keeps what the summary shows about the input.
 */
import { closeSync, existsSync, openSync, readFileSync, statSync, writeSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { SettingsError } from "../shared/errors.js";
import { createAdapter, type FormatName } from "../shared/ingest/index.js";
import { PRESET_NAMES } from "../shared/ingest/json.js";
import type { IngestContext, IngestResult, LineAdapter } from "../shared/ingest/types.js";
import { type LogEvent, MAX_LINE_BYTES } from "../shared/log/schema.js";
import type { Pipeline } from "../shared/pipeline.js";
import type { RunOptions } from "./args.js";
import type { TimeDriver } from "./time.js";

export interface InputFormatOptions {
  format: string;
  /** A mapping file (JSON or YAML) or a preset name. */
  mapping: string | null;
  service: string | null;
  timezone: string | null;
  year: number | null;
  sshdMode: string | null;
  logFormat: string | null;
  metricField: string | null;
  eventsOutPath: string | null;
}

export const DEFAULT_INPUT_FORMAT: InputFormatOptions = {
  format: "auto",
  mapping: null,
  service: null,
  timezone: null,
  year: null,
  sshdMode: null,
  logFormat: null,
  metricField: null,
  eventsOutPath: null,
};

/** What the summary and the report say about the input. */
export interface InputSummary {
  format: string;
  lines: number;
  events: number;
  skipped: Record<string, number>;
  rejected: number;
  /** The first few rejected lines: number, reason, detail. */
  first_rejected: { line: number; reason: string; detail: string }[];
  /** Set when more than half the lines were rejected: the format that reads most of them. */
  suggested_format: string | null;
}

const FIRST_REJECTED = 5;
/** Rejected lines kept to try the other formats on, for the hint. */
const HINT_SAMPLE = 50;
const OUT_BUFFER_BYTES = 64 * 1024;

function loadMapping(value: string): string | Record<string, unknown> {
  if (PRESET_NAMES.includes(value.toLowerCase()) && !existsSync(value)) return value;
  let text: string;
  try {
    text = readFileSync(value, "utf8");
  } catch (error) {
    throw new SettingsError(
      `--mapping ${value}: neither a readable file (${(error as NodeJS.ErrnoException).code ?? error}) nor a preset (${PRESET_NAMES.join(", ")})`,
      { cause: error },
    );
  }
  let parsed: unknown;
  try {
    parsed = value.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new SettingsError(`--mapping ${value}: ${(error as Error).message.split("\n")[0]}`, {
      cause: error,
    });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new SettingsError(`--mapping ${value}: must hold an object of field -> path`);
  }
  return parsed as Record<string, unknown>;
}

export function buildAdapter(options: InputFormatOptions): LineAdapter {
  const built = createAdapter({
    format: options.format as FormatName,
    ...(options.mapping === null ? {} : { mapping: loadMapping(options.mapping) }),
    ...(options.service === null ? {} : { service: options.service }),
    ...(options.timezone === null ? {} : { timezone: options.timezone }),
    ...(options.year === null ? {} : { year: options.year }),
    ...(options.sshdMode === null ? {} : { mode: options.sshdMode }),
    ...(options.logFormat === null ? {} : { logFormat: options.logFormat }),
    ...(options.metricField === null ? {} : { metricField: options.metricField }),
  });
  if (typeof built === "string") throw new SettingsError(built);
  return built;
}

/** The event as `--events-out` shows it: every field but the derived timeMs, optional ones when set. */
export function eventForOutput(event: LogEvent): Record<string, unknown> {
  const { timeMs: _timeMs, ...rest } = event;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(rest)) if (value !== undefined) out[key] = value;
  return out;
}

export class LineReader {
  private readonly adapter: LineAdapter;
  private readonly context: IngestContext;
  private lineNumber = 0;
  private events = 0;
  private rejectedCount = 0;
  private readonly skipped: Record<string, number> = {};
  private readonly firstRejected: InputSummary["first_rejected"] = [];
  private readonly hintSample: string[] = [];
  private outFd: number | null = null;
  private outBuffer: string[] = [];
  private outBytes = 0;

  constructor(
    private readonly options: InputFormatOptions,
    private readonly pipeline: Pipeline,
    source: string,
  ) {
    this.adapter = buildAdapter(options);
    let receivedMs = Date.now();
    if (source !== "-") {
      try {
        receivedMs = statSync(source).mtimeMs;
      } catch {
        // The runner reports an unreadable input itself.
      }
    }
    this.context = { source: source === "-" ? "stdin" : source, receivedMs };
    if (options.eventsOutPath !== null) {
      try {
        this.outFd = openSync(options.eventsOutPath, "w");
      } catch (error) {
        throw new SettingsError(
          `cannot write --events-out ${options.eventsOutPath}: ${(error as NodeJS.ErrnoException).code ?? error}`,
        );
      }
    }
  }

  /** Wall-clock time of the last line read: follow mode lets event time run on from it when idle. */
  lastLineWallMs = Date.now();

  /** Read one line; the caller hands its event to the pipeline. Rejections are counted in the pipeline's stats too. */
  ingestLine(line: string): IngestResult {
    return this.account(this.adapter.read(line, this.context), line);
  }

  /** A line the input reader dropped for its length (local/lines.ts): numbered and reported like any rejection. */
  rejectTooLong(chars: number): void {
    this.account(
      {
        status: "rejected",
        reason: "line_too_long",
        detail: `a line of ${chars} characters; the limit is ${MAX_LINE_BYTES}`,
      },
      null,
    );
  }

  private account(result: IngestResult, line: string | null): IngestResult {
    this.lineNumber++;
    this.lastLineWallMs = Date.now();
    if (result.status === "event") {
      this.events++;
    } else if (result.status === "skipped") {
      this.skipped[result.reason] = (this.skipped[result.reason] ?? 0) + 1;
    } else {
      this.rejectedCount++;
      const rejected = this.pipeline.stats.rejected;
      rejected[result.reason] = (rejected[result.reason] ?? 0) + 1;
      if (this.firstRejected.length < FIRST_REJECTED) {
        this.firstRejected.push({ line: this.lineNumber, reason: result.reason, detail: result.detail });
      }
      if (line !== null && this.hintSample.length < HINT_SAMPLE) this.hintSample.push(line);
    }
    if (this.outFd !== null) this.writeOut(result);
    return result;
  }

  private writeOut(result: IngestResult): void {
    const record =
      result.status === "event"
        ? { line: this.lineNumber, status: "event", event: eventForOutput(result.event) }
        : result.status === "skipped"
          ? { line: this.lineNumber, status: "skipped", reason: result.reason }
          : { line: this.lineNumber, status: "rejected", reason: result.reason, detail: result.detail };
    const text = `${JSON.stringify(record)}\n`;
    this.outBuffer.push(text);
    this.outBytes += text.length;
    if (this.outBytes >= OUT_BUFFER_BYTES) this.flush();
  }

  flush(): void {
    if (this.outFd === null || this.outBuffer.length === 0) return;
    writeSync(this.outFd, this.outBuffer.join(""));
    this.outBuffer = [];
    this.outBytes = 0;
  }

  close(): void {
    this.flush();
    if (this.outFd !== null) closeSync(this.outFd);
    this.outFd = null;
  }

  summary(): InputSummary {
    return {
      format: this.options.format,
      lines: this.lineNumber,
      events: this.events,
      skipped: { ...this.skipped },
      rejected: this.rejectedCount,
      first_rejected: [...this.firstRejected],
      suggested_format: this.rejectedCount * 2 > this.lineNumber ? this.suggestFormat() : null,
    };
  }

  /** The format, other than the one used, that reads most of the sampled rejected lines. */
  private suggestFormat(): string | null {
    let best: string | null = null;
    let bestRead = 0;
    for (const format of ["json", "nginx", "sshd", "lambda", "metric-csv"]) {
      if (format === this.options.format) continue;
      const candidate = createAdapter({ format: format as FormatName });
      if (typeof candidate === "string") continue;
      let read = 0;
      for (const line of this.hintSample) {
        const result = candidate.read(line, this.context);
        if (result.status === "event" || (result.status === "skipped" && result.reason !== "other_program"))
          read++;
      }
      if (read > bestRead) {
        best = format;
        bestRead = read;
      }
    }
    return bestRead * 2 >= this.hintSample.length ? best : null;
  }
}

/** The input part of the end-of-run summary. */
export function formatInputSummary(input: InputSummary): string {
  const parts: string[] = [];
  if (input.suggested_format !== null || input.rejected * 2 > input.lines) {
    const share = input.lines === 0 ? 0 : Math.round((input.rejected / input.lines) * 100);
    parts.push(
      `More than half the lines were rejected (${input.rejected} of ${input.lines}, ${share}%) reading them as --format ${input.format}.` +
        (input.suggested_format === null
          ? " No other format reads them either; see docs/inputs.md."
          : ` They read as --format ${input.suggested_format}: try that.`),
    );
  }
  const skipped = Object.entries(input.skipped);
  parts.push(
    `Input (--format ${input.format}): ${input.lines} lines, ${input.events} events, ` +
      `${skipped.reduce((sum, [, n]) => sum + n, 0)} skipped${skipped.length > 0 ? ` (${skipped.map(([k, v]) => `${k}=${v}`).join(", ")})` : ""}, ${input.rejected} rejected`,
  );
  if (input.first_rejected.length > 0) {
    parts.push(
      [
        "First rejected lines:",
        ...input.first_rejected.map(
          (r) =>
            `  line ${r.line}: ${r.reason}: ${r.detail.length > 160 ? `${r.detail.slice(0, 160)}...` : r.detail}`,
        ),
      ].join("\n"),
    );
  }
  return parts.join("\n");
}

/** The reader for `--input`, built from the run's options. */
export function openLineReader(options: RunOptions, pipeline: Pipeline): LineReader {
  return new LineReader(options.inputFormat, pipeline, options.input ?? "-");
}

/**
 * Follow mode, nothing new in the file: event time runs on by the wall time since the last line,
 * so windows close, groups flush and alerts reach the sinks while the log is quiet.
 */
export async function idleTick(
  time: TimeDriver,
  pipeline: Pipeline,
  reader: LineReader | null,
): Promise<void> {
  if (reader === null || !Number.isFinite(pipeline.nowMs)) return;
  const nowMs = pipeline.nowMs + Math.max(0, Date.now() - reader.lastLineWallMs);
  reader.lastLineWallMs = Date.now();
  await time.advanceTo(nowMs);
  reader.flush();
}
