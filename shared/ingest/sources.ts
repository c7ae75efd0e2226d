/**
 * The processor's input sources: which format, service and mapping read each CloudWatch Logs
 * group it is subscribed to. The first source whose `log_group` pattern matches decides; a group
 * no source names is read with `auto`. One adapter per log group, its state (sshd connections)
 * kept across invocations through snapshot()/restore().
 */
import type { InputSourceConfig } from "../config/types.js";
import { createAdapter, type FormatName } from "./index.js";
import type { IngestResult, LineAdapter } from "./types.js";

/** Log groups read at once; beyond this the least recently used adapter (and its state) goes. */
const MAX_GROUPS = 256;

/** `*` matches any run of characters; everything else literally. */
export function logGroupMatches(pattern: string, logGroup: string): boolean {
  if (!pattern.includes("*")) return pattern === logGroup;
  const source = pattern
    .split("*")
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${source}$`).test(logGroup);
}

/** Check every source can build its adapter; the problems, each naming its source. */
export function checkSources(sources: readonly InputSourceConfig[]): string[] {
  const problems: string[] = [];
  sources.forEach((source, index) => {
    const built = adapterFor(source);
    if (typeof built === "string") problems.push(`sources[${index}] (${source.log_group}): ${built}`);
  });
  return problems;
}

function adapterFor(source: InputSourceConfig | undefined): LineAdapter | string {
  if (source === undefined) return createAdapter({ format: "auto" });
  return createAdapter({
    format: source.format as FormatName,
    ...(source.mapping === undefined ? {} : { mapping: source.mapping }),
    ...(source.service === undefined ? {} : { service: source.service }),
    ...(source.timezone === undefined ? {} : { timezone: source.timezone }),
    ...(source.mode === undefined ? {} : { mode: source.mode }),
    ...(source.log_format === undefined ? {} : { logFormat: source.log_format }),
    ...(source.metric_field === undefined ? {} : { metricField: source.metric_field }),
  });
}

export class SourceReader {
  private readonly adapters = new Map<string, LineAdapter>();
  private pendingState = new Map<string, unknown>();

  constructor(private readonly sources: readonly InputSourceConfig[]) {}

  /** The source config that reads a log group; undefined means `auto`. */
  sourceFor(logGroup: string): InputSourceConfig | undefined {
    return this.sources.find((source) => logGroupMatches(source.log_group, logGroup));
  }

  /** Read one CloudWatch Logs event: its message, where it came from, and its own timestamp. */
  read(message: string, logGroup: string, logStream: string, timestampMs: number): IngestResult {
    let adapter = this.adapters.get(logGroup);
    if (adapter === undefined) {
      const built = adapterFor(this.sourceFor(logGroup));
      // A source that cannot be built was refused when the config loaded; `auto` is the fallback.
      adapter = typeof built === "string" ? (adapterFor(undefined) as LineAdapter) : built;
      const saved = this.pendingState.get(logGroup);
      if (saved !== undefined) {
        try {
          adapter.restore(saved);
        } catch {
          // Unreadable adapter state (a format change): start that group's memory afresh.
        }
        this.pendingState.delete(logGroup);
      }
      if (this.adapters.size >= MAX_GROUPS) {
        const oldest = this.adapters.keys().next();
        if (!oldest.done) this.adapters.delete(oldest.value);
      }
      this.adapters.set(logGroup, adapter);
    }
    return adapter.read(message, {
      source: logGroup,
      stream: logStream,
      lineTimeMs: timestampMs,
      receivedMs: timestampMs,
    });
  }

  snapshot(): unknown {
    const groups: Record<string, unknown> = Object.fromEntries(this.pendingState);
    for (const [group, adapter] of this.adapters) {
      const state = adapter.snapshot();
      if (state !== null && state !== undefined) groups[group] = state;
    }
    return { version: 1, groups };
  }

  restore(state: unknown): void {
    this.adapters.clear();
    this.pendingState = new Map();
    if (typeof state !== "object" || state === null) return;
    const record = state as { version?: unknown; groups?: unknown };
    if (record.version !== 1 || typeof record.groups !== "object" || record.groups === null) return;
    for (const [group, groupState] of Object.entries(record.groups as Record<string, unknown>).slice(
      0,
      MAX_GROUPS,
    )) {
      this.pendingState.set(group, groupState);
    }
  }
}
