/**
 * JSON lines: the project's own schema first (docs/log-format.md); an object that is not in it is
 * read through a field mapping, either the one given (`--mapping FILE|preset`) or the preset whose
 * keys the object has (Powertools, ECS, OpenTelemetry, pino, bunyan).
 */
import { parseLogLine, parseLogObject } from "../log/parse.js";
import { MAX_LINE_BYTES } from "../log/schema.js";
import { applyMapping, type CompiledMapping, compileMapping, detectPresets, PRESETS } from "./mapping.js";
import {
  type AdapterOptions,
  type IngestContext,
  type IngestResult,
  type LineAdapter,
  lineTime,
  rejected,
  serviceFromSource,
} from "./types.js";

const COMPILED_PRESETS: Record<string, CompiledMapping> = Object.fromEntries(
  Object.entries(PRESETS).map(([name, mapping]) => [name, compileMapping(mapping) as CompiledMapping]),
);

export interface JsonOptions extends AdapterOptions {
  /** A compiled mapping, or a preset name; without one, native schema then preset detection. */
  mapping?: CompiledMapping | string;
}

/** Resolve `--mapping` given as a preset name; a mapping object is compiled by the caller. */
export function presetMapping(name: string): CompiledMapping | null {
  return COMPILED_PRESETS[name.toLowerCase()] ?? null;
}

export const PRESET_NAMES = Object.keys(PRESETS);

export class JsonAdapter implements LineAdapter {
  readonly format = "json" as const;
  private readonly mapping: CompiledMapping | null;
  private readonly mappingName: string;
  private readonly service: string | undefined;
  private lastTimeMs = Number.NaN;

  constructor(options: JsonOptions = {}) {
    if (typeof options.mapping === "string") {
      const preset = presetMapping(options.mapping);
      if (preset === null)
        throw new RangeError(
          `unknown mapping preset ${JSON.stringify(options.mapping)} (presets: ${PRESET_NAMES.join(", ")})`,
        );
      this.mapping = preset;
      this.mappingName = options.mapping.toLowerCase();
    } else {
      this.mapping = options.mapping ?? null;
      this.mappingName = "mapping";
    }
    this.service = options.service;
  }

  read(line: string, context: IngestContext): IngestResult {
    if (this.mapping === null) {
      const native = parseLogLine(line);
      if (native.ok) {
        this.lastTimeMs = native.event.timeMs;
        return { status: "event", event: native.event };
      }
      if (
        native.reason === "malformed_json" ||
        native.reason === "empty_line" ||
        native.reason === "line_too_long"
      ) {
        return rejected(native.reason, native.detail);
      }
      // Valid JSON, but not the native schema: perhaps a known logger's layout.
      return this.readObject(JSON.parse(line) as unknown, context, `${native.reason}: ${native.detail}`);
    }
    if (line.length > MAX_LINE_BYTES)
      return rejected(
        "line_too_long",
        `line is at least ${line.length} bytes, the limit is ${MAX_LINE_BYTES}`,
      );
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      const native = parseLogLine(line);
      return native.ok ? { status: "event", event: native.event } : rejected(native.reason, native.detail);
    }
    return this.readObject(value, context, null);
  }

  /** An already decoded object (a JSON line, or the inner object of a wrapper). */
  readObject(value: unknown, context: IngestContext, nativeProblem: string | null): IngestResult {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      return rejected("not_an_object", "expected a JSON object");
    }
    const record = value as Record<string, unknown>;
    let mapping = this.mapping;
    let name = this.mappingName;
    if (mapping === null) {
      // An object with the native schema's own fields is meant as a native line: its problem stands.
      const presets = "event_type" in record && "metrics" in record ? [] : detectPresets(record);
      if (presets.length > 1) {
        return rejected(
          "ambiguous_format",
          `object fits the ${presets.join(" and ")} presets; choose one with --mapping`,
        );
      }
      const preset = presets[0];
      if (preset === undefined) {
        const native = parseLogObject(record);
        if (native.ok) return { status: "event", event: native.event };
        return rejected(
          native.reason,
          `${nativeProblem ?? `${native.reason}: ${native.detail}`} (not the native schema, and no mapping preset fits: pass --mapping FILE or one of ${PRESET_NAMES.join(", ")})`,
        );
      }
      mapping = COMPILED_PRESETS[preset] ?? null;
      name = preset;
      if (mapping === null) return rejected("mapping_failed", `no preset ${preset}`);
    }
    const result = applyMapping(
      record,
      mapping,
      this.service ?? serviceFromSource(context.source),
      lineTime(context, this.lastTimeMs),
      "json",
    );
    if (!result.ok) return rejected("mapping_failed", `${name}: ${result.detail}`);
    this.lastTimeMs = result.event.timeMs;
    return { status: "event", event: result.event };
  }

  snapshot(): unknown {
    return null;
  }

  restore(_state: unknown): void {}
}
