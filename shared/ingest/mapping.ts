/**
 * Field mapping from any JSON log object onto the pipeline's event: dotted paths, unit conversion,
 * level names or numbers, and presets for the common structured loggers (docs/inputs.md).
 */
import { parseIsoTimestamp } from "../log/parse.js";
import { EVENT_TYPES, type EventType, type LogEvent, type LogLevel } from "../log/schema.js";
import { isoOf } from "./time.js";

/** How one event field is found: a path, several paths (first present wins), or a full spec. */
export type FieldRule = string | string[] | FieldSpec;

export interface FieldSpec {
  /** Dotted path(s) into the object; a key that itself contains dots ("log.level") is found too. */
  path?: string | string[];
  /** A constant used when no path gives a value. */
  value?: string | number;
  /** Numbers: what unit the source uses (converted to the field's unit: ms for times and latency, % for cpu/memory). */
  unit?: Unit;
  /** Levels: how numbers read ("pino" 10..60, "otel" 1..24, "syslog" 0..7); names are always understood. */
  levels?: "pino" | "otel" | "syslog";
  /** Value -> replacement (levels, event types) before the usual reading. */
  map?: Record<string, string>;
}

export const UNITS = ["ns", "us", "ms", "s", "fraction", "percent", "iso"] as const;
export type Unit = (typeof UNITS)[number];

export const MAPPED_FIELDS = [
  "timestamp",
  "service",
  "level",
  "event_type",
  "message",
  "status_code",
  "latency_ms",
  "cpu_pct",
  "memory_pct",
  "source_ip",
  "user",
  "request_id",
] as const;
export type MappedField = (typeof MAPPED_FIELDS)[number];

export type Mapping = Partial<Record<MappedField, FieldRule>>;

/** Presets by name; each is an ordinary mapping (shown in docs/inputs.md). */
export const PRESETS: Record<string, Mapping> = {
  powertools: {
    timestamp: "timestamp",
    service: "service",
    level: "level",
    message: "message",
    request_id: ["xray_trace_id", "function_request_id"],
    status_code: ["statusCode", "status_code"],
    latency_ms: ["duration_ms", "latency_ms"],
  },
  ecs: {
    timestamp: "@timestamp",
    service: "service.name",
    level: "log.level",
    message: "message",
    status_code: "http.response.status_code",
    latency_ms: { path: "event.duration", unit: "ns" },
    source_ip: ["client.ip", "source.ip"],
    user: "user.name",
    request_id: ["trace.id", "transaction.id", "http.request.id"],
  },
  otel: {
    timestamp: { path: ["timeUnixNano", "observedTimeUnixNano", "timestamp"], unit: "ns" },
    service: ["resource.attributes.service.name", "resource.service.name", "attributes.service.name"],
    level: { path: ["severityNumber", "severityText"], levels: "otel" },
    message: ["body", "body.stringValue"],
    status_code: ["attributes.http.response.status_code", "attributes.http.status_code"],
    source_ip: ["attributes.client.address", "attributes.net.peer.ip"],
    user: "attributes.enduser.id",
    request_id: ["traceId", "trace_id"],
  },
  pino: {
    timestamp: { path: "time", unit: "ms" },
    service: ["name", "service"],
    level: { path: "level", levels: "pino" },
    message: ["msg", "message"],
    status_code: ["res.statusCode", "statusCode"],
    latency_ms: ["responseTime", "duration"],
    source_ip: ["req.remoteAddress", "remoteAddress"],
    request_id: ["req.id", "reqId"],
  },
  bunyan: {
    timestamp: "time",
    service: "name",
    level: { path: "level", levels: "pino" },
    message: "msg",
    status_code: ["res.statusCode", "statusCode"],
    latency_ms: ["responseTime", "duration"],
    request_id: ["req_id", "req.id"],
  },
};

/**
 * The presets a decoded object fits, by keys only that preset's layout has. More than one means
 * the object is ambiguous; none means it needs an explicit mapping.
 */
export function detectPresets(record: Record<string, unknown>): string[] {
  const found: string[] = [];
  if (
    "@timestamp" in record &&
    ("log.level" in record || isObject(record.log) || isObject(record.ecs) || "ecs.version" in record)
  ) {
    found.push("ecs");
  }
  if (
    ("timeUnixNano" in record || "observedTimeUnixNano" in record) &&
    ("body" in record || "severityNumber" in record || "severityText" in record)
  ) {
    found.push("otel");
  }
  if (typeof record.level === "number" && "time" in record && "msg" in record) {
    found.push(record.v === 0 && typeof record.time === "string" ? "bunyan" : "pino");
  }
  if (
    typeof record.level === "string" &&
    "message" in record &&
    "timestamp" in record &&
    ("service" in record || "cold_start" in record || "function_name" in record || "xray_trace_id" in record)
  ) {
    found.push("powertools");
  }
  return found;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * A dotted path into nested objects. Keys may hold dots themselves (ECS "log.level", OpenTelemetry
 * attribute names): at each level the plain key is tried first, then the longest dotted key.
 */
export function readPath(record: Record<string, unknown>, path: string): unknown {
  return walk(record, planPath(path), 0);
}

/** A path split at its dots, with every dotted key it could also be read through, built once. */
interface PathPlan {
  segments: string[];
  /** joined[index][end]: segments index..end-1 joined by dots. */
  joined: string[][];
}

function planPath(path: string): PathPlan {
  const segments = path.split(".");
  const joined = segments.map((_, index) =>
    Array.from({ length: segments.length + 1 }, (__, end) =>
      end > index + 1 ? segments.slice(index, end).join(".") : "",
    ),
  );
  return { segments, joined };
}

function walk(value: unknown, plan: PathPlan, index: number): unknown {
  const segments = plan.segments;
  if (index === segments.length) return value;
  if (typeof value !== "object" || value === null) return undefined;
  const level = value as Record<string, unknown>;
  const direct = level[segments[index] as string];
  if (direct !== undefined) {
    const found = walk(direct, plan, index + 1);
    if (found !== undefined) return found;
  }
  const keys = plan.joined[index] as string[];
  for (let end = segments.length; end > index + 1; end--) {
    const key = keys[end] as string;
    const inner = level[key];
    if (inner !== undefined) {
      const found = walk(inner, plan, end);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

interface CompiledField {
  paths: string[];
  /** Each path split at its dots, with its dotted-key alternatives. */
  plans: PathPlan[];
  constant: string | number | undefined;
  unit: Unit | undefined;
  levels: "pino" | "otel" | "syslog" | undefined;
  map: Record<string, string> | undefined;
}

export interface CompiledMapping {
  fields: Partial<Record<MappedField, CompiledField>>;
}

/** Check a mapping (from a file or a preset) and prepare it; a list of problems otherwise. */
export function compileMapping(mapping: unknown): CompiledMapping | string[] {
  if (!isObject(mapping)) return ["mapping: must be an object of field -> path or spec"];
  const problems: string[] = [];
  const fields: Partial<Record<MappedField, CompiledField>> = {};
  for (const [field, rule] of Object.entries(mapping)) {
    if (!(MAPPED_FIELDS as readonly string[]).includes(field)) {
      problems.push(`mapping.${field}: unknown field (known: ${MAPPED_FIELDS.join(", ")})`);
      continue;
    }
    const compiled = compileField(rule);
    if (typeof compiled === "string") problems.push(`mapping.${field}: ${compiled}`);
    else fields[field as MappedField] = compiled;
  }
  return problems.length > 0 ? problems : { fields };
}

function compileField(rule: unknown): CompiledField | string {
  const compiled = compileFieldSpec(rule);
  if (typeof compiled === "string") return compiled;
  return { ...compiled, plans: compiled.paths.map(planPath) };
}

function compileFieldSpec(rule: unknown): Omit<CompiledField, "plans"> | string {
  if (typeof rule === "string")
    return { paths: [rule], constant: undefined, unit: undefined, levels: undefined, map: undefined };
  if (Array.isArray(rule)) {
    if (!rule.every((p) => typeof p === "string")) return "a list must hold paths (strings)";
    return {
      paths: rule as string[],
      constant: undefined,
      unit: undefined,
      levels: undefined,
      map: undefined,
    };
  }
  if (!isObject(rule)) return "must be a path, a list of paths, or {path, value, unit, levels, map}";
  const paths = rule.path === undefined ? [] : Array.isArray(rule.path) ? rule.path : [rule.path];
  if (!paths.every((p) => typeof p === "string")) return "path must be a string or a list of strings";
  if (rule.value !== undefined && typeof rule.value !== "string" && typeof rule.value !== "number") {
    return "value must be a string or a number";
  }
  if (rule.unit !== undefined && !(UNITS as readonly unknown[]).includes(rule.unit)) {
    return `unit must be one of ${UNITS.join(", ")}`;
  }
  if (rule.levels !== undefined && !["pino", "otel", "syslog"].includes(rule.levels as string)) {
    return "levels must be pino, otel or syslog";
  }
  if (
    rule.map !== undefined &&
    (!isObject(rule.map) || !Object.values(rule.map).every((v) => typeof v === "string"))
  ) {
    return "map must be an object of value -> replacement";
  }
  if (paths.length === 0 && rule.value === undefined) return "needs a path or a value";
  return {
    paths: paths as string[],
    constant: rule.value as string | number | undefined,
    unit: rule.unit as Unit | undefined,
    levels: rule.levels as CompiledField["levels"],
    map: rule.map as Record<string, string> | undefined,
  };
}

export function lookup(record: Record<string, unknown>, field: CompiledField | undefined): unknown {
  if (field === undefined) return undefined;
  for (let i = 0; i < field.paths.length; i++) {
    const value = walk(record, field.plans[i] as PathPlan, 0);
    if (value !== undefined && value !== null && value !== "") {
      if (field.map !== undefined) {
        const replaced = field.map[String(value)];
        if (replaced !== undefined) return replaced;
      }
      return value;
    }
  }
  return field.constant;
}

const LEVEL_NAMES: ReadonlyMap<string, LogLevel> = new Map([
  ["trace", "DEBUG"],
  ["debug", "DEBUG"],
  ["verbose", "DEBUG"],
  ["info", "INFO"],
  ["information", "INFO"],
  ["informational", "INFO"],
  ["notice", "INFO"],
  ["log", "INFO"],
  ["warn", "WARN"],
  ["warning", "WARN"],
  ["error", "ERROR"],
  ["err", "ERROR"],
  ["fatal", "ERROR"],
  ["critical", "ERROR"],
  ["crit", "ERROR"],
  ["alert", "ERROR"],
  ["emerg", "ERROR"],
  ["emergency", "ERROR"],
  ["panic", "ERROR"],
  ["severe", "ERROR"],
]);

/** A level name (any case, "WARNING", "Information") or number on the given scale. */
export function readLevel(value: unknown, scale: CompiledField["levels"]): LogLevel | null {
  if (typeof value === "string") {
    const named = LEVEL_NAMES.get(value.toLowerCase());
    if (named !== undefined) return named;
    if (/^\d+$/.test(value)) return readLevel(Number(value), scale);
    // OpenTelemetry severity texts carry a number suffix: "WARN2", "ERROR3".
    const base = /^([a-z]+)\d$/i.exec(value)?.[1];
    return base === undefined ? null : (LEVEL_NAMES.get(base.toLowerCase()) ?? null);
  }
  if (typeof value !== "number" || !Number.isFinite(value)) return null;
  if (scale === "otel") return value <= 8 ? "DEBUG" : value <= 12 ? "INFO" : value <= 16 ? "WARN" : "ERROR";
  if (scale === "syslog") return value <= 3 ? "ERROR" : value === 4 ? "WARN" : value <= 6 ? "INFO" : "DEBUG";
  // pino / bunyan: 10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal.
  return value < 30 ? "DEBUG" : value < 40 ? "INFO" : value < 50 ? "WARN" : "ERROR";
}

const LOOSE_TIME = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:[.,](\d{1,9}))?\s*(Z|[+-]\d{2}:?\d{2})?$/;

const UNIT_TO_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, ms: 1, s: 1000 };

/** A time as epoch ms: ISO text, or a number in the given unit (default: guessed by magnitude). */
export function readTime(value: unknown, unit: Unit | undefined): number | string {
  if (typeof value === "string") {
    if (/^\d+(?:\.\d+)?$/.test(value)) return readTime(Number(value), unit);
    const direct = parseIsoTimestamp(value);
    if (typeof direct === "number") return direct;
    // Loggers' near-ISO shapes: "2026-03-14 05:00:00,123+0000" (Python Powertools), no zone (UTC).
    const loose = LOOSE_TIME.exec(value);
    if (loose === null) return direct;
    const [, date, clock, fraction, zone] = loose;
    const offset =
      zone === undefined || zone === "Z"
        ? "Z"
        : zone.includes(":")
          ? zone
          : `${zone.slice(0, 3)}:${zone.slice(3)}`;
    return parseIsoTimestamp(`${date}T${clock}${fraction === undefined ? "" : `.${fraction}`}${offset}`);
  }
  if (typeof value === "number" && Number.isFinite(value)) {
    let factor = unit === undefined || unit === "iso" ? undefined : UNIT_TO_MS[unit];
    if (factor === undefined) {
      // Epoch numbers by magnitude: seconds ~1e9, ms ~1e12, us ~1e15, ns ~1e18.
      factor = value < 1e11 ? 1000 : value < 1e14 ? 1 : value < 1e17 ? 1e-3 : 1e-6;
    }
    return Math.floor(value * factor);
  }
  return "expected an ISO 8601 text or an epoch number";
}

function readNumber(value: unknown): number | null {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value)))
    return Number(value);
  return null;
}

function convert(value: number, unit: Unit | undefined, target: "ms" | "pct"): number {
  if (target === "pct") return unit === "fraction" ? value * 100 : value;
  return unit === undefined ? value : value * (UNIT_TO_MS[unit] ?? 1);
}

function text(value: unknown): string | null {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (value === undefined || value === null) return null;
  return JSON.stringify(value);
}

const EVENT_TYPE_NAMES: ReadonlyMap<string, EventType> = new Map(EVENT_TYPES.map((t) => [t, t]));

export type MappingResult = { ok: true; event: LogEvent } | { ok: false; detail: string };

/**
 * Build an event from a decoded object. Required: a timestamp (or the fallback time) and a
 * message or level; the service falls back to `defaultService`. Fields the mapping does not find
 * are missing (null), never invented. Without an event_type: "error" for ERROR lines, otherwise
 * "request".
 */
export function applyMapping(
  record: Record<string, unknown>,
  mapping: CompiledMapping,
  defaultService: string,
  fallbackTimeMs: number | null,
  origin: string,
): MappingResult {
  const f = mapping.fields;
  const rawTime = lookup(record, f.timestamp);
  let timeMs: number;
  if (rawTime === undefined) {
    if (fallbackTimeMs === null)
      return { ok: false, detail: `timestamp: not found at ${describePaths(f.timestamp)}` };
    timeMs = fallbackTimeMs;
  } else {
    const parsed = readTime(rawTime, f.timestamp?.unit);
    if (typeof parsed === "string")
      return { ok: false, detail: `timestamp: ${parsed}, got ${JSON.stringify(rawTime).slice(0, 60)}` };
    timeMs = parsed;
  }
  const rawLevel = lookup(record, f.level);
  let level: LogLevel = "INFO";
  if (rawLevel !== undefined) {
    const read = readLevel(rawLevel, f.level?.levels);
    if (read === null)
      return { ok: false, detail: `level: cannot read ${JSON.stringify(rawLevel).slice(0, 40)} as a level` };
    level = read;
  }
  const message = text(lookup(record, f.message));
  const statusRaw = readNumber(lookup(record, f.status_code));
  const status =
    statusRaw !== null && Number.isInteger(statusRaw) && statusRaw >= 100 && statusRaw <= 599
      ? statusRaw
      : null;
  const latency = readNumber(lookup(record, f.latency_ms));
  const cpu = readNumber(lookup(record, f.cpu_pct));
  const memory = readNumber(lookup(record, f.memory_pct));
  const typeRaw = text(lookup(record, f.event_type));
  const eventType =
    (typeRaw === null ? undefined : EVENT_TYPE_NAMES.get(typeRaw)) ??
    (level === "ERROR" ? "error" : "request");
  const service = text(lookup(record, f.service)) ?? defaultService;
  const cpuPct = cpu === null ? null : convert(cpu, f.cpu_pct?.unit, "pct");
  const memoryPct = memory === null ? null : convert(memory, f.memory_pct?.unit, "pct");
  const latencyMs = latency === null ? null : convert(latency, f.latency_ms?.unit, "ms");
  return {
    ok: true,
    event: {
      timestamp: isoOf(timeMs),
      timeMs,
      service: service === "" ? defaultService : service,
      level,
      event_type: eventType,
      message: message ?? "",
      metrics: {
        cpu_pct: cpuPct !== null && cpuPct >= 0 && cpuPct <= 100 ? cpuPct : null,
        memory_pct: memoryPct !== null && memoryPct >= 0 && memoryPct <= 100 ? memoryPct : null,
        latency_ms: latencyMs !== null && latencyMs >= 0 ? latencyMs : null,
      },
      status_code: status,
      source_ip: text(lookup(record, f.source_ip)),
      user: text(lookup(record, f.user)),
      request_id: text(lookup(record, f.request_id)),
      origin,
    },
  };
}

function describePaths(field: CompiledField | undefined): string {
  return field === undefined ? "(no mapping for it)" : field.paths.map((p) => JSON.stringify(p)).join(" or ");
}
