/**
 * Container runtime wrappers, removed before the inner line is read by its own format:
 * Docker's json-file driver (`{"log":"...\n","stream":"stdout","time":"..."}`) and the
 * Kubernetes CRI text prefix (`2026-03-14T05:00:00.123456789Z stdout F <line>`; "P" marks a
 * partial line the runtime split, joined here with the rest of it).
 */
import { parseIsoTimestamp } from "../log/parse.js";
import { type IngestContext, type IngestResult, type LineAdapter, rejected, skipped } from "./types.js";

const CRI = /^(\d{4}-\d{2}-\d{2}T\S+) (stdout|stderr) ([PF]) ?/;
/** A joined CRI line may not grow past this (the same bound as any line). */
const MAX_JOINED = 16 * 1024;

export type Unwrapped =
  | { kind: "none" }
  | { kind: "inner"; line: string; timeMs: number | null; stream: string; partial: boolean }
  | { kind: "bad"; detail: string };

/** Whether the line is a container wrapper, and what it wraps; cheap for lines that are not. */
export function unwrapContainer(line: string): Unwrapped {
  if (line.startsWith('{"log":')) {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      return { kind: "none" };
    }
    if (typeof value !== "object" || value === null) return { kind: "none" };
    const record = value as Record<string, unknown>;
    if (typeof record.log !== "string" || typeof record.stream !== "string") return { kind: "none" };
    const time = typeof record.time === "string" ? parseIsoTimestamp(record.time) : null;
    const inner = record.log.endsWith("\n")
      ? record.log.slice(0, record.log.endsWith("\r\n") ? -2 : -1)
      : record.log;
    return {
      kind: "inner",
      line: inner,
      timeMs: typeof time === "number" ? time : null,
      stream: record.stream,
      // Docker splits lines over 16 KiB into pieces without the trailing newline.
      partial: !record.log.endsWith("\n"),
    };
  }
  const first = line.charCodeAt(0);
  if (first >= 0x30 && first <= 0x39) {
    const match = CRI.exec(line);
    if (match) {
      const time = parseIsoTimestamp(match[1] ?? "");
      return {
        kind: "inner",
        line: line.slice(match[0].length),
        timeMs: typeof time === "number" ? time : null,
        stream: match[2] ?? "stdout",
        partial: match[3] === "P",
      };
    }
  }
  return { kind: "none" };
}

/** Wraps an adapter so container-wrapped lines reach it unwrapped (and partial lines joined). */
export class ContainerUnwrap implements LineAdapter {
  readonly format;
  private pending = new Map<string, string>();

  constructor(private readonly inner: LineAdapter) {
    this.format = inner.format;
  }

  read(line: string, context: IngestContext): IngestResult {
    const unwrapped = unwrapContainer(line);
    if (unwrapped.kind === "none") return this.inner.read(line, context);
    if (unwrapped.kind === "bad") return rejected("malformed_json", unwrapped.detail);
    const key = `${context.source}\u0000${context.stream ?? ""}\u0000${unwrapped.stream}`;
    const joined = (this.pending.get(key) ?? "") + unwrapped.line;
    if (unwrapped.partial) {
      if (joined.length > MAX_JOINED) {
        this.pending.delete(key);
        return rejected(
          "line_too_long",
          `a container line split in parts grew past ${MAX_JOINED} characters`,
        );
      }
      if (this.pending.size >= 100 && !this.pending.has(key)) this.pending.clear();
      this.pending.set(key, joined);
      return skipped("container_partial_line");
    }
    this.pending.delete(key);
    return this.inner.read(joined, {
      ...context,
      lineTimeMs: unwrapped.timeMs ?? context.lineTimeMs,
    });
  }

  snapshot(): unknown {
    return { inner: this.inner.snapshot(), pending: [...this.pending.entries()] };
  }

  restore(state: unknown): void {
    if (typeof state !== "object" || state === null) return;
    const record = state as { inner?: unknown; pending?: unknown };
    if (record.inner !== undefined && record.inner !== null) this.inner.restore(record.inner);
    this.pending = new Map(
      Array.isArray(record.pending)
        ? record.pending.filter(
            (entry): entry is [string, string] =>
              Array.isArray(entry) && typeof entry[0] === "string" && typeof entry[1] === "string",
          )
        : [],
    );
  }
}
