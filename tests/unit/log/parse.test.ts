import { describe, expect, it } from "vitest";
import { formatLogLine, parseIsoTimestamp, parseLogLine, parseLogObject } from "../../../shared/log/parse.js";
import {
  type LogLine,
  MAX_LINE_BYTES,
  REJECT_REASONS,
  type RejectReason,
} from "../../../shared/log/schema.js";
import { Rng } from "../../../shared/random.js";

const VALID: LogLine = {
  timestamp: "2026-01-01T12:00:00.250Z",
  service: "checkout",
  level: "INFO",
  event_type: "request",
  message: "GET /cart 200",
  metrics: { cpu_pct: 41.5, memory_pct: 63, latency_ms: 12.25 },
  status_code: 200,
  source_ip: "10.0.0.7",
  user: "alice",
  request_id: "req-1",
};
const VALID_TIME_MS = Date.UTC(2026, 0, 1, 12, 0, 0, 250);

/** A copy of VALID with one field replaced (or removed when the value is `undefined`). */
function lineWith(path: string, value: unknown): string {
  const copy = structuredClone(VALID) as unknown as Record<string, Record<string, unknown>>;
  const [head, tail] = path.split(".") as [string, string | undefined];
  const target: Record<string, unknown> = tail === undefined ? copy : (copy[head] as Record<string, unknown>);
  const key = tail ?? head;
  if (value === undefined) delete target[key];
  else target[key] = value;
  return JSON.stringify(copy);
}

function expectReject(line: string, reason: RejectReason, detailPart: string): void {
  const result = parseLogLine(line);
  expect(result).toMatchObject({ ok: false, reason });
  if (!result.ok) expect(result.detail).toContain(detailPart);
}

describe("parseLogLine accepts valid lines", () => {
  it("returns every field in schema order plus timeMs from the timestamp", () => {
    const result = parseLogLine(JSON.stringify(VALID));
    expect(result).toEqual({ ok: true, event: { ...VALID, timeMs: VALID_TIME_MS } });
    if (result.ok) {
      expect(Object.keys(result.event)).toEqual([
        "timestamp",
        "timeMs",
        "service",
        "level",
        "event_type",
        "message",
        "metrics",
        "status_code",
        "source_ip",
        "user",
        "request_id",
      ]);
    }
  });

  it.each([
    ["null", null],
    ["absent", undefined],
  ])("turns %s optional fields into null", (_label, value) => {
    const copy: Record<string, unknown> = { ...VALID };
    for (const key of ["status_code", "source_ip", "user", "request_id"]) {
      if (value === undefined) delete copy[key];
      else copy[key] = value;
    }
    const result = parseLogLine(JSON.stringify(copy));
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.event.status_code).toBeNull();
      expect(result.event.source_ip).toBeNull();
      expect(result.event.user).toBeNull();
      expect(result.event.request_id).toBeNull();
    }
  });

  it("drops unknown extra fields so producers can add fields", () => {
    const result = parseLogLine(JSON.stringify({ ...VALID, region: "eu-west-1" }));
    expect(result.ok).toBe(true);
    if (result.ok) expect("region" in result.event).toBe(false);
  });

  it("tolerates surrounding whitespace and a CRLF line ending", () => {
    expect(parseLogLine(`  ${JSON.stringify(VALID)}\r`).ok).toBe(true);
  });

  it.each([
    [0, 0],
    [100, 100],
  ])("accepts the range bounds cpu=%d memory=%d and latency 0", (cpu, memory) => {
    const line = JSON.stringify({ ...VALID, metrics: { cpu_pct: cpu, memory_pct: memory, latency_ms: 0 } });
    expect(parseLogLine(line).ok).toBe(true);
  });

  it("accepts a multi-byte line just under the byte limit", () => {
    // "é" is 2 bytes in UTF-8: the line is under the limit in bytes though long in characters.
    const padding = "é".repeat(Math.floor((MAX_LINE_BYTES - 400) / 2));
    expect(parseLogLine(lineWith("message", padding)).ok).toBe(true);
  });
});

describe("parseLogLine rejects each kind of bad line with a specific detail", () => {
  const validText = JSON.stringify(VALID);
  it.each<[string, string, RejectReason, string]>([
    ["empty line", "", "empty_line", "empty"],
    ["whitespace only", " \t  ", "empty_line", "whitespace"],
    ["truncated JSON", validText.slice(0, 60), "malformed_json", "truncated JSON"],
    ["cut just before the closing brace", validText.slice(0, -1), "malformed_json", "JSON"],
    ["binary bytes", "\u0000\u0001\u00ff\ufffdPK\u0003\u0004", "malformed_json", "not valid JSON"],
    ["plain text", "ERROR something broke", "malformed_json", "not valid JSON"],
    ["a JSON array", "[1,2,3]", "not_an_object", "got an array of 3"],
    ["a JSON string", '"hello"', "not_an_object", 'got string "hello"'],
    ["JSON null", "null", "not_an_object", "got null"],
    ["missing timestamp", lineWith("timestamp", undefined), "missing_field", "timestamp: required"],
    ["missing service", lineWith("service", undefined), "missing_field", "service: required"],
    ["empty service", lineWith("service", ""), "missing_field", "service: must not be empty"],
    ["missing metrics", lineWith("metrics", undefined), "missing_field", "metrics: required"],
    ["missing cpu", lineWith("metrics.cpu_pct", undefined), "missing_field", "metrics.cpu_pct: required"],
    ["missing latency", lineWith("metrics.latency_ms", undefined), "missing_field", "metrics.latency_ms"],
    ["timestamp as number", lineWith("timestamp", 1767268800), "wrong_type", "timestamp: expected an ISO"],
    ["level as number", lineWith("level", 3), "wrong_type", "level: expected a string, got number 3"],
    [
      "metrics as string",
      lineWith("metrics", "high"),
      "wrong_type",
      'metrics: expected an object, got string "high"',
    ],
    ["metrics as array", lineWith("metrics", [1, 2]), "wrong_type", "metrics: expected an object"],
    [
      "cpu as string",
      lineWith("metrics.cpu_pct", "50"),
      "wrong_type",
      'metrics.cpu_pct: expected a number 0..100, got string "50"',
    ],
    ["status as string", lineWith("status_code", "200"), "wrong_type", "status_code: expected an integer"],
    ["status not integer", lineWith("status_code", 200.5), "wrong_type", "status_code"],
    ["user as number", lineWith("user", 42), "wrong_type", "user: expected a string or null, got number 42"],
    ["source_ip as object", lineWith("source_ip", {}), "wrong_type", "source_ip"],
    [
      "cpu 250",
      lineWith("metrics.cpu_pct", 250),
      "out_of_range",
      "metrics.cpu_pct: expected a number 0..100, got 250",
    ],
    ["cpu negative", lineWith("metrics.cpu_pct", -1), "out_of_range", "metrics.cpu_pct"],
    ["memory 100.5", lineWith("metrics.memory_pct", 100.5), "out_of_range", "metrics.memory_pct"],
    [
      "latency negative",
      lineWith("metrics.latency_ms", -3),
      "out_of_range",
      "metrics.latency_ms: expected a finite",
    ],
    ["latency overflow to Infinity", validText.replace("12.25", "1e400"), "out_of_range", "got Infinity"],
    ["status 99", lineWith("status_code", 99), "out_of_range", "status_code"],
    ["status 600", lineWith("status_code", 600), "out_of_range", "got 600"],
    ["timestamp without zone", lineWith("timestamp", "2026-01-01T12:00:00"), "bad_timestamp", "missing zone"],
    ["timestamp as date only", lineWith("timestamp", "2026-01-01"), "bad_timestamp", "expected ISO 8601"],
    ["timestamp nonsense", lineWith("timestamp", "yesterday at noon, UTC"), "bad_timestamp", "yesterday"],
    [
      "timestamp Feb 30",
      lineWith("timestamp", "2026-02-30T00:00:00Z"),
      "bad_timestamp",
      "day 30 does not exist",
    ],
    ["timestamp month 13", lineWith("timestamp", "2026-13-01T00:00:00Z"), "bad_timestamp", "month 13"],
    ["timestamp hour 24", lineWith("timestamp", "2026-01-01T24:00:00Z"), "bad_timestamp", "out of range"],
    [
      "timestamp trailing junk",
      lineWith("timestamp", "2026-01-01T00:00:00Zjunk"),
      "bad_timestamp",
      "ISO 8601",
    ],
    [
      "level lowercase",
      lineWith("level", "info"),
      "unknown_enum",
      'level: expected one of DEBUG, INFO, WARN, ERROR, got "info"',
    ],
    [
      "event_type unknown",
      lineWith("event_type", "login"),
      "unknown_enum",
      "event_type: expected one of request",
    ],
  ])("%s", (_label, line, reason, detailPart) => {
    expectReject(line, reason, detailPart);
  });

  it("refuses a 1 MB line as too long without parsing it", () => {
    const huge = lineWith("message", "x".repeat(1024 * 1024));
    expectReject(huge, "line_too_long", `limit is ${MAX_LINE_BYTES}`);
  });

  it("counts bytes, not characters: a line of 3-byte characters over the byte limit is too long", () => {
    // About 6000 characters but about 18000 bytes.
    const line = lineWith("message", "€".repeat(6000));
    expect(line.length).toBeLessThan(MAX_LINE_BYTES);
    expectReject(line, "line_too_long", "more than");
  });

  it("keeps binary bytes out of the detail text", () => {
    const result = parseLogLine("\u0000\u0001garbage\u0007");
    expect(result.ok).toBe(false);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting their absence
    if (!result.ok) expect(result.detail).not.toMatch(/[\u0000-\u001f]/);
  });

  it("abbreviates a long offending value in the detail", () => {
    const result = parseLogLine(lineWith("level", "L".repeat(5000)));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.detail.length).toBeLessThan(200);
  });

  it("uses only reasons from REJECT_REASONS", () => {
    const reasons = new Set<string>(REJECT_REASONS);
    for (const line of ["", "{", "[]", lineWith("level", "x"), lineWith("timestamp", "x")]) {
      const result = parseLogLine(line);
      if (!result.ok) expect(reasons.has(result.reason)).toBe(true);
    }
  });
});

describe("parseLogObject", () => {
  it("validates an already decoded record the same way", () => {
    expect(parseLogObject({ ...VALID })).toEqual({ ok: true, event: { ...VALID, timeMs: VALID_TIME_MS } });
  });

  it.each<[string, unknown, RejectReason]>([
    ["undefined", undefined, "not_an_object"],
    ["a number", 7, "not_an_object"],
    ["NaN cpu", { ...VALID, metrics: { ...VALID.metrics, cpu_pct: Number.NaN } }, "out_of_range"],
    [
      "Infinity latency",
      { ...VALID, metrics: { ...VALID.metrics, latency_ms: Number.POSITIVE_INFINITY } },
      "out_of_range",
    ],
    ["explicit undefined service", { ...VALID, service: undefined }, "missing_field"],
  ])("rejects %s", (_label, value, reason) => {
    expect(parseLogObject(value)).toMatchObject({ ok: false, reason });
  });
});

describe("parseIsoTimestamp", () => {
  it.each<[string, number]>([
    ["2026-01-01T00:00:00Z", Date.UTC(2026, 0, 1)],
    ["2026-01-01T00:00:00z", Date.UTC(2026, 0, 1)],
    ["2026-01-01t00:00:00Z", Date.UTC(2026, 0, 1)],
    ["2026-01-01T01:30:00+01:30", Date.UTC(2026, 0, 1)],
    ["2025-12-31T19:00:00-05:00", Date.UTC(2026, 0, 1)],
    ["2026-01-01T00:00:00.5Z", Date.UTC(2026, 0, 1, 0, 0, 0, 500)],
    ["2026-01-01T00:00:00.12Z", Date.UTC(2026, 0, 1, 0, 0, 0, 120)],
    ["2026-01-01T00:00:00.123456789Z", Date.UTC(2026, 0, 1, 0, 0, 0, 123)],
    ["2024-02-29T23:59:59Z", Date.UTC(2024, 1, 29, 23, 59, 59)],
    ["1969-12-31T23:59:59Z", -1000],
    ["0050-06-15T00:00:00Z", Date.parse("0050-06-15T00:00:00Z")],
  ])("%s -> its epoch milliseconds", (text, expected) => {
    expect(parseIsoTimestamp(text)).toBe(expected);
  });

  it.each([
    "2025-02-29T00:00:00Z",
    "2100-02-29T00:00:00Z",
    "2026-01-01T00:00:60Z",
    "2026-01-01T00:00:00+0100",
    "2026-01-01T00:00:00+24:00",
    "2026-01-01T00:00:00.Z",
    "2026-01-01 00:00:00Z",
    "+002026-01-01T00:00:00Z",
  ])("rejects %s", (text) => {
    expect(typeof parseIsoTimestamp(text)).toBe("string");
  });

  // Lines in toISOString's layout take a fast path that remembers the last date; it must agree with
  // Date.parse everywhere and still refuse impossible dates right after a valid one.
  it("reads toISOString's layout exactly like Date.parse over many dates, in any order", () => {
    const random = new Rng(11);
    for (let i = 0; i < 5_000; i++) {
      const timeMs = Math.floor(random.next() * Date.UTC(2200, 0, 1));
      const text = new Date(timeMs).toISOString();
      expect(parseIsoTimestamp(text)).toBe(timeMs);
    }
  });

  it.each([
    ["2025-02-28T10:00:00.000Z", "2025-02-29T10:00:00.000Z"],
    ["2026-04-30T10:00:00.000Z", "2026-04-31T10:00:00.000Z"],
    ["2026-12-31T10:00:00.000Z", "2026-13-01T10:00:00.000Z"],
    ["2026-01-01T10:00:00.000Z", "2026-01-01T24:00:00.000Z"],
    ["2026-01-01T10:00:00.000Z", "2026-01-01T10:00:00.00xZ"],
  ])("after %s still rejects %s", (valid, invalid) => {
    expect(parseIsoTimestamp(valid)).toBe(Date.parse(valid));
    expect(typeof parseIsoTimestamp(invalid)).toBe("string");
  });
});

describe("formatLogLine", () => {
  it("writes the fields in schema order without timeMs", () => {
    const text = formatLogLine({ ...VALID, timeMs: 1 });
    expect(text).not.toContain("timeMs");
    expect(Object.keys(JSON.parse(text) as object)).toEqual(Object.keys(VALID));
  });

  it.each<[string, LogLine]>([
    ["a full line", VALID],
    [
      "a line with nulls",
      { ...VALID, event_type: "deploy", status_code: null, source_ip: null, user: null, request_id: null },
    ],
    [
      "a zone offset and odd characters",
      { ...VALID, timestamp: "2026-03-01T09:00:00+05:30", message: 'quote " and \n newline ✓' },
    ],
  ])("round-trips %s through parseLogLine", (_label, line) => {
    const parsed = parseLogLine(formatLogLine(line));
    expect(parsed.ok).toBe(true);
    if (parsed.ok) {
      expect(formatLogLine(parsed.event)).toBe(formatLogLine(line));
      expect(parsed.event.timeMs).toBe(Date.parse(line.timestamp));
    }
  });
});
