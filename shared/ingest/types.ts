/**
 * Format adapters: one interface that turns a line of any supported log format into the pipeline's
 * LogEvent. Pure like the rest of the core: the caller supplies everything an adapter may not know
 * (where the line came from, when it was received); adapters that need memory across lines keep it
 * as plain state with snapshot()/restore(), as the detectors do.
 */
import type { LogEvent, RejectReason } from "../log/schema.js";

export const FORMATS = ["auto", "json", "nginx", "apache", "sshd", "lambda", "metric-csv"] as const;
export type FormatName = (typeof FORMATS)[number];

/** Where a line came from and what the caller knows that the line may not say. */
export interface IngestContext {
  /** File path, or CloudWatch log group; names the default service and helps `auto` decide. */
  source: string;
  /** CloudWatch log stream, when there is one. */
  stream?: string;
  /**
   * The time the transport gives this very line (a CloudWatch Logs event's timestamp, a Docker or
   * CRI wrapper's time): used when the line itself carries none.
   */
  lineTimeMs?: number;
  /**
   * When the input was read (a file's modification time, the wall clock in follow mode): the
   * reference that infers the year of a year-less syslog date, and the last resort for a line
   * without any time.
   */
  receivedMs?: number;
}

/**
 * What one line is: an event; a skip (recognised, but nothing to detect on: an sshd helper line, a
 * comment, a CSV header); or a rejection with a specific, counted reason.
 */
export type IngestResult =
  | { status: "event"; event: LogEvent }
  | { status: "skipped"; reason: string }
  | { status: "rejected"; reason: RejectReason; detail: string };

export interface LineAdapter {
  readonly format: FormatName;
  /** Never throws, whatever the line. */
  read(line: string, context: IngestContext): IngestResult;
  /** JSON-serialisable memory across lines (sshd connections by pid); null when stateless. */
  snapshot(): unknown;
  restore(state: unknown): void;
}

export function skipped(reason: string): IngestResult {
  return { status: "skipped", reason };
}

export function rejected(reason: RejectReason, detail: string): IngestResult {
  return { status: "rejected", reason, detail };
}

/** Longest piece of a line quoted in a rejection detail. */
const MAX_QUOTED = 60;

export function quoteLine(text: string): string {
  return JSON.stringify(text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED)}...` : text);
}

const serviceNames = new Map<string, string>();

/** The service name a file or log group implies: its base name without extension or date suffix. */
export function serviceFromSource(source: string): string {
  // Called for every line: remembered per source (a run reads a handful of sources).
  const known = serviceNames.get(source);
  if (known !== undefined) return known;
  const base =
    source
      .split(/[\\/]/)
      .filter((part) => part !== "")
      .pop() ?? "";
  const name = base
    .replace(/\.(?:gz|\d+)$/, "")
    .replace(/\.(?:log|jsonl|json|txt|csv)$/i, "")
    .replace(/[-_.]?\d{4}-?\d{2}-?\d{2}$/, "");
  const service = name === "" || name === "-" ? "stdin" : name;
  if (serviceNames.size > 1000) serviceNames.clear();
  serviceNames.set(source, service);
  return service;
}

/** Options every adapter understands; each reads the ones that apply to its format. */
export interface AdapterOptions {
  /** Service name for formats that carry none; default from the source name. */
  service?: string;
  /** Time zone of zone-less timestamps: "UTC", "+02:00", or an IANA name such as "Europe/Paris". */
  timezone?: string;
  /** Year of syslog timestamps that have none; default: inferred from the received time. */
  year?: number;
}

/**
 * The time of a line that carries none: the transport's time for it, else the last time the
 * adapter read (fail2ban's rule for date-less lines), else when the input was read; null if none.
 */
export function lineTime(context: IngestContext, lastTimeMs: number): number | null {
  if (context.lineTimeMs !== undefined) return context.lineTimeMs;
  if (!Number.isNaN(lastTimeMs)) return lastTimeMs;
  return context.receivedMs ?? null;
}
