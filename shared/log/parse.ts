/**
 * The log line parser: the hot path of the processor. One JSON.parse per line, then hand-written
 * checks in schema order; the first problem found is reported with the field, what was expected and
 * what was seen. Nothing here throws on bad input.
 */
import { civilProblem, daysFromCivil, daysInMonth } from "../time/calendar.js";
import { Interner } from "./intern.js";
import {
  EVENT_TYPES,
  type EventType,
  LOG_LEVELS,
  type LogEvent,
  type LogLevel,
  type LogLine,
  MAX_LINE_BYTES,
  type RejectReason,
} from "./schema.js";

export type ParseResult = { ok: true; event: LogEvent } | { ok: false; reason: RejectReason; detail: string };

// The lookup that validates a value also yields the constant string, so the event carries one
// shared string per level and type and later comparisons are pointer checks.
const LEVELS = new Interner<LogLevel>(LOG_LEVELS);
const EVENT_TYPES_BY_NAME = new Interner<EventType>(EVENT_TYPES);

/** Longest piece of an offending value quoted in a detail, so a reject report stays readable. */
const MAX_QUOTED_CHARS = 60;

function reject(reason: RejectReason, detail: string): ParseResult {
  return { ok: false, reason, detail };
}

/** Parse one line of a log stream (without its newline; a trailing "\r" is tolerated). */
export function parseLogLine(line: string): ParseResult {
  // UTF-8 needs between 1 and 3 bytes per UTF-16 code unit, so the string length bounds the byte
  // length from both sides; only lines in between are counted exactly. A 1 MB line costs nothing.
  const length = line.length;
  if (length > MAX_LINE_BYTES) {
    return reject("line_too_long", `line is at least ${length} bytes, the limit is ${MAX_LINE_BYTES}`);
  }
  if (length * 3 > MAX_LINE_BYTES) {
    const bytes = utf8ByteLength(line, MAX_LINE_BYTES);
    if (bytes > MAX_LINE_BYTES) {
      return reject("line_too_long", `line is more than ${MAX_LINE_BYTES} bytes (the limit)`);
    }
  }
  if (length === 0 || (line.charCodeAt(0) !== 0x7b && line.trim().length === 0)) {
    return reject("empty_line", "line is empty or whitespace only");
  }
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return reject("malformed_json", describeJsonError(error, line));
  }
  return parseLogObject(value);
}

/**
 * Validate an already decoded value (for example one record of a CloudWatch Logs or Kinesis batch)
 * and build a LogEvent with fields in schema order. Unknown extra fields are dropped, so producers
 * can add fields without breaking older processors.
 */
export function parseLogObject(value: unknown): ParseResult {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return reject("not_an_object", `expected a JSON object, got ${describeValue(value)}`);
  }
  const record = value as Record<string, unknown>;

  const timestamp = record.timestamp;
  if (timestamp === undefined) return missing("timestamp");
  if (typeof timestamp !== "string") return wrongType("timestamp", "an ISO 8601 string", timestamp);
  // The shape our writers emit is read first and directly: going through parseIsoTimestamp (which
  // tries the same fast path) would cost every line one more call.
  let timeMs = timestamp.length === 24 ? parseCanonicalUtc(timestamp) : -1;
  if (timeMs < 0) {
    const general = parseIsoTimestamp(timestamp);
    if (typeof general === "string") {
      return reject("bad_timestamp", `timestamp: ${general}, got ${quote(timestamp)}`);
    }
    timeMs = general;
  }

  const service = record.service;
  if (service === undefined) return missing("service");
  if (typeof service !== "string") return wrongType("service", "a string", service);
  // An empty service name would merge unrelated streams into one detector state.
  if (service.length === 0) return reject("missing_field", "service: must not be empty");
  const serviceName = canonicalService(service);

  const levelText = record.level;
  if (levelText === undefined) return missing("level");
  if (typeof levelText !== "string") return wrongType("level", "a string", levelText);
  const level = LEVELS.get(levelText);
  if (level === undefined) return unknownEnum("level", LOG_LEVELS, levelText);

  const eventTypeText = record.event_type;
  if (eventTypeText === undefined) return missing("event_type");
  if (typeof eventTypeText !== "string") return wrongType("event_type", "a string", eventTypeText);
  const eventType = EVENT_TYPES_BY_NAME.get(eventTypeText);
  if (eventType === undefined) return unknownEnum("event_type", EVENT_TYPES, eventTypeText);

  const message = record.message;
  if (message === undefined) return missing("message");
  if (typeof message !== "string") return wrongType("message", "a string", message);

  const metrics = record.metrics;
  if (metrics === undefined) return missing("metrics");
  if (typeof metrics !== "object" || metrics === null || Array.isArray(metrics)) {
    return wrongType("metrics", "an object", metrics);
  }
  const metricRecord = metrics as Record<string, unknown>;

  const cpu = metricRecord.cpu_pct;
  if (cpu === undefined) return missing("metrics.cpu_pct");
  if (typeof cpu !== "number") return wrongType("metrics.cpu_pct", "a number 0..100", cpu);
  if (!(cpu >= 0 && cpu <= 100)) return outOfRange("metrics.cpu_pct", "a number 0..100", cpu);

  const memory = metricRecord.memory_pct;
  if (memory === undefined) return missing("metrics.memory_pct");
  if (typeof memory !== "number") return wrongType("metrics.memory_pct", "a number 0..100", memory);
  if (!(memory >= 0 && memory <= 100)) return outOfRange("metrics.memory_pct", "a number 0..100", memory);

  const latency = metricRecord.latency_ms;
  if (latency === undefined) return missing("metrics.latency_ms");
  if (typeof latency !== "number") return wrongType("metrics.latency_ms", "a finite number >= 0", latency);
  if (!(latency >= 0 && latency < Number.POSITIVE_INFINITY)) {
    return outOfRange("metrics.latency_ms", "a finite number >= 0", latency);
  }

  let statusCode = record.status_code;
  if (statusCode === undefined) statusCode = null;
  else if (statusCode !== null) {
    if (typeof statusCode !== "number" || !Number.isInteger(statusCode)) {
      return wrongType("status_code", "an integer HTTP status 100..599 or null", statusCode);
    }
    if (statusCode < 100 || statusCode > 599) {
      return outOfRange("status_code", "an integer HTTP status 100..599 or null", statusCode);
    }
  }

  const sourceIp = optionalString(record.source_ip);
  if (sourceIp === false) return wrongType("source_ip", "a string or null", record.source_ip);
  const user = optionalString(record.user);
  if (user === false) return wrongType("user", "a string or null", record.user);
  const requestId = optionalString(record.request_id);
  if (requestId === false) return wrongType("request_id", "a string or null", record.request_id);

  return {
    ok: true,
    event: {
      timestamp,
      timeMs,
      service: serviceName,
      level,
      event_type: eventType,
      message,
      metrics: { cpu_pct: cpu, memory_pct: memory, latency_ms: latency },
      status_code: statusCode as number | null,
      source_ip: sourceIp,
      user,
      request_id: requestId,
    },
  };
}

/** Service names remembered by `canonicalService`; beyond this many, new names pass through as they are. */
const MAX_CANONICAL_SERVICES = 10_000;
const canonicalServices = new Interner<string>([], MAX_CANONICAL_SERVICES);

/**
 * The first string seen with this service name. Every detector looks the service up in its own
 * map; with one shared string per service those lookups find the key by identity, while a fresh
 * string from each line would be compared character by character every time.
 */
function canonicalService(name: string): string {
  return canonicalServices.get(name) ?? name;
}

/** The log line as written (no derived `timeMs`), copied so an alert never aliases detector state. */
export function toLogLine(event: LogEvent | LogLine): LogLine {
  return {
    timestamp: event.timestamp,
    service: event.service,
    level: event.level,
    event_type: event.event_type,
    message: event.message,
    metrics: {
      cpu_pct: event.metrics.cpu_pct,
      memory_pct: event.metrics.memory_pct,
      latency_ms: event.metrics.latency_ms,
    },
    status_code: event.status_code,
    source_ip: event.source_ip,
    user: event.user,
    request_id: event.request_id,
  };
}

/** One JSON line, fields in schema order, without the derived `timeMs`. */
export function formatLogLine(event: LogEvent | LogLine): string {
  return JSON.stringify(toLogLine(event));
}

/** null/absent -> null; a string -> itself; anything else -> false (wrong type). */
function optionalString(value: unknown): string | null | false {
  if (value === undefined || value === null) return null;
  return typeof value === "string" ? value : false;
}

function missing(field: string): ParseResult {
  return reject("missing_field", `${field}: required field is missing`);
}

function wrongType(field: string, expected: string, got: unknown): ParseResult {
  return reject("wrong_type", `${field}: expected ${expected}, got ${describeValue(got)}`);
}

function outOfRange(field: string, expected: string, got: number): ParseResult {
  return reject("out_of_range", `${field}: expected ${expected}, got ${String(got)}`);
}

function unknownEnum(field: string, allowed: readonly string[], got: string): ParseResult {
  return reject("unknown_enum", `${field}: expected one of ${allowed.join(", ")}, got ${quote(got)}`);
}

/** A short, printable description of an offending value: its type and (abbreviated) content. */
function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return `an array of ${value.length}`;
  switch (typeof value) {
    case "string":
      return `string ${quote(value)}`;
    case "number":
    case "boolean":
      return `${typeof value} ${String(value)}`;
    case "object":
      return "an object";
    default:
      return typeof value;
  }
}

function quote(text: string): string {
  const shown = text.length > MAX_QUOTED_CHARS ? `${text.slice(0, MAX_QUOTED_CHARS)}...` : text;
  return JSON.stringify(shown);
}

/**
 * V8's JSON errors quote the input; control and replacement characters are stripped so binary stays
 * out of reports. An error at the very end of the line means the writer was cut off mid-object.
 */
function describeJsonError(error: unknown, line: string): string {
  const raw = error instanceof Error ? error.message : String(error);
  // The regexes run only on lines that already failed, never on the hot path.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
  const printable = raw.replace(/[\u0000-\u001f\u007f-\u009f\ufffd]/g, "?");
  const shown = printable.length > 160 ? `${printable.slice(0, 160)}...` : printable;
  const position = /at position (\d+)/.exec(raw);
  const atEnd = position?.[1] !== undefined && Number(position[1]) >= line.trimEnd().length;
  const truncated = atEnd || /end of JSON input|Unterminated/.test(raw);
  return truncated ? `truncated JSON (the line ends inside a value): ${shown}` : `not valid JSON: ${shown}`;
}

/** Counts UTF-8 bytes of `text`, stopping as soon as the count passes `limit`. */
function utf8ByteLength(text: string, limit: number): number {
  let bytes = 0;
  for (let i = 0; i < text.length && bytes <= limit; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      // A surrogate pair is one 4-byte code point.
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

function digitAt(text: string, index: number): number {
  const digit = text.charCodeAt(index) - 48;
  return digit >= 0 && digit <= 9 ? digit : -1;
}

/** Reads `count` digits at `start`; -1 when any is not a digit. */
function digitsAt(text: string, start: number, count: number): number {
  let value = 0;
  for (let i = start; i < start + count; i++) {
    const digit = digitAt(text, i);
    if (digit < 0) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/**
 * RFC 3339 profile of ISO 8601: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)`. Returns epoch
 * milliseconds, or a description of what is wrong. Written by hand because Date.parse accepts
 * zone-less local times (wrong on any host not in UTC) and rolls 2026-02-31 over into March.
 */
export function parseIsoTimestamp(text: string): number | string {
  if (text.length === 24) {
    const timeMs = parseCanonicalUtc(text);
    if (timeMs >= 0) return timeMs;
  }
  const shape = "expected ISO 8601 like 2026-01-01T12:00:00.000Z with a zone (Z or +HH:MM)";
  if (text.length < 19 || text.length > 40) return shape;
  const year = digitsAt(text, 0, 4);
  const month = digitsAt(text, 5, 2);
  const day = digitsAt(text, 8, 2);
  const hour = digitsAt(text, 11, 2);
  const minute = digitsAt(text, 14, 2);
  const second = digitsAt(text, 17, 2);
  const separator = text.charCodeAt(10);
  if (
    year < 0 ||
    month < 0 ||
    day < 0 ||
    hour < 0 ||
    minute < 0 ||
    second < 0 ||
    text.charCodeAt(4) !== 0x2d ||
    text.charCodeAt(7) !== 0x2d ||
    (separator !== 0x54 && separator !== 0x74) ||
    text.charCodeAt(13) !== 0x3a ||
    text.charCodeAt(16) !== 0x3a
  ) {
    return shape;
  }
  const impossible = civilProblem(year, month, day, hour, minute, second, false);
  if (impossible !== null) return impossible;

  let index = 19;
  let millis = 0;
  if (text.charCodeAt(index) === 0x2e) {
    index++;
    const fractionStart = index;
    while (index < text.length && digitAt(text, index) >= 0) {
      // Digits past milliseconds are truncated; the pipeline works in whole milliseconds.
      if (index - fractionStart < 3) millis = millis * 10 + digitAt(text, index);
      index++;
    }
    const fractionDigits = index - fractionStart;
    if (fractionDigits === 0) return shape;
    if (fractionDigits === 1) millis *= 100;
    else if (fractionDigits === 2) millis *= 10;
  }

  let offsetMinutes = 0;
  const zone = text.charCodeAt(index);
  if (zone === 0x5a || zone === 0x7a) {
    if (index + 1 !== text.length) return shape;
  } else if (zone === 0x2b || zone === 0x2d) {
    const offsetHours = digitsAt(text, index + 1, 2);
    const offsetMins = digitsAt(text, index + 4, 2);
    if (
      offsetHours < 0 ||
      offsetMins < 0 ||
      text.charCodeAt(index + 3) !== 0x3a ||
      index + 6 !== text.length
    ) {
      return shape;
    }
    if (offsetHours > 23 || offsetMins > 59) return "zone offset out of range";
    offsetMinutes = (offsetHours * 60 + offsetMins) * (zone === 0x2d ? -1 : 1);
  } else {
    return index === text.length ? "missing zone (add Z for UTC or +HH:MM)" : shape;
  }

  const days = daysFromCivil(year, month, day);
  return ((days * 24 + hour) * 60 + minute - offsetMinutes) * 60_000 + second * 1000 + millis;
}

/** The date of the last canonical timestamp (as YYYYMMDD) and its day number: consecutive events share it. */
let lastDateKey = -1;
let lastDateDays = 0;

const MS_PER_DAY = 86_400_000;

/**
 * Fast path for the shape our writers emit, `YYYY-MM-DDTHH:MM:SS.mmmZ` (JavaScript's toISOString),
 * which is nearly every line: epoch milliseconds, or -1 for anything else, including dates before
 * 1970 and invalid values, and the general parser then gives the precise reason.
 */
function parseCanonicalUtc(text: string): number {
  const timeOfDayMs = canonicalTimeOfDay(text);
  return timeOfDayMs < 0 ? -1 : lastDateDays * MS_PER_DAY + timeOfDayMs;
}

/**
 * `parseCanonicalUtc`'s reading: a fixed layout read digit by digit, and the day number of the date
 * (`lastDateDays`) computed once per date rather than per line. It returns only the milliseconds
 * into that day: V8 does not inline a function this size, and the time of day comes back from the
 * call as a small integer where a full epoch time would come back boxed in a fresh heap number.
 */
function canonicalTimeOfDay(text: string): number {
  if (
    text.charCodeAt(4) !== 0x2d ||
    text.charCodeAt(7) !== 0x2d ||
    text.charCodeAt(10) !== 0x54 ||
    text.charCodeAt(13) !== 0x3a ||
    text.charCodeAt(16) !== 0x3a ||
    text.charCodeAt(19) !== 0x2e ||
    text.charCodeAt(23) !== 0x5a
  ) {
    return -1;
  }
  const y0 = text.charCodeAt(0) - 48;
  const y1 = text.charCodeAt(1) - 48;
  const y2 = text.charCodeAt(2) - 48;
  const y3 = text.charCodeAt(3) - 48;
  const mo0 = text.charCodeAt(5) - 48;
  const mo1 = text.charCodeAt(6) - 48;
  const d0 = text.charCodeAt(8) - 48;
  const d1 = text.charCodeAt(9) - 48;
  const h0 = text.charCodeAt(11) - 48;
  const h1 = text.charCodeAt(12) - 48;
  const mi0 = text.charCodeAt(14) - 48;
  const mi1 = text.charCodeAt(15) - 48;
  const s0 = text.charCodeAt(17) - 48;
  const s1 = text.charCodeAt(18) - 48;
  const ms0 = text.charCodeAt(20) - 48;
  const ms1 = text.charCodeAt(21) - 48;
  const ms2 = text.charCodeAt(22) - 48;
  // `>>> 0` turns a negative difference (a character below '0') into a huge number.
  if (
    y0 >>> 0 > 9 ||
    y1 >>> 0 > 9 ||
    y2 >>> 0 > 9 ||
    y3 >>> 0 > 9 ||
    mo0 >>> 0 > 9 ||
    mo1 >>> 0 > 9 ||
    d0 >>> 0 > 9 ||
    d1 >>> 0 > 9 ||
    h0 >>> 0 > 9 ||
    h1 >>> 0 > 9 ||
    mi0 >>> 0 > 9 ||
    mi1 >>> 0 > 9 ||
    s0 >>> 0 > 9 ||
    s1 >>> 0 > 9 ||
    ms0 >>> 0 > 9 ||
    ms1 >>> 0 > 9 ||
    ms2 >>> 0 > 9
  ) {
    return -1;
  }
  const year = y0 * 1000 + y1 * 100 + y2 * 10 + y3;
  const month = mo0 * 10 + mo1;
  const day = d0 * 10 + d1;
  const hour = h0 * 10 + h1;
  const minute = mi0 * 10 + mi1;
  const second = s0 * 10 + s1;
  if (hour > 23 || minute > 59 || second > 59 || year < 1970) return -1;
  const dateKey = year * 10000 + month * 100 + day;
  if (dateKey !== lastDateKey) {
    if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return -1;
    lastDateDays = daysFromCivil(year, month, day);
    lastDateKey = dateKey;
  }
  return (hour * 60 + minute) * 60_000 + second * 1000 + ms0 * 100 + ms1 * 10 + ms2;
}
