import { gunzipSync, gzipSync } from "node:zlib";
import type { CloudWatchLogsDecodedData, CloudWatchLogsEvent, CloudWatchLogsLogEvent } from "aws-lambda";

/** Why a subscription payload was refused. Counted by reason, logged once per payload. */
export const PAYLOAD_REJECT_REASONS = [
  "missing_data",
  "bad_base64",
  "bad_gzip",
  "too_large",
  "too_many_values",
  "malformed_json",
  "bad_shape",
] as const;
export type PayloadRejectReason = (typeof PAYLOAD_REJECT_REASONS)[number];

/** A `logEvents` entry without a message string: refused on its own, the rest of the batch goes on. */
export interface InvalidLogEvent {
  index: number;
  /** The entry's id when it has a string one (clipped), for the log line. */
  id: string | null;
  detail: string;
}

export type DecodeResult =
  | { ok: true; data: CloudWatchLogsDecodedData; invalidEvents: InvalidLogEvent[] }
  | { ok: false; reason: PayloadRejectReason; detail: string };

/**
 * A subscription delivers at most 1 MB compressed; refuse to inflate past this so that a hostile or
 * corrupt payload cannot exhaust the function's memory.
 */
export const MAX_DECODED_BYTES = 32 * 1024 * 1024;

/**
 * Most JSON arrays and objects a payload may hold. A real delivery has a handful plus about one per
 * log event (two with extracted fields), and CloudWatch puts at most 10,000 events in one. Counted
 * before JSON.parse: 32 MiB of `[],` would otherwise become eleven million arrays (about 900 MB).
 */
export const MAX_JSON_CONTAINERS = 50_000;

/** Longest payload-supplied text quoted in a detail or a log line. */
export const MAX_QUOTED_CHARS = 120;

/** CloudWatch Logs group and stream names are at most 512 characters. */
const MAX_NAME_CHARS = 512;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** `awslogs.data` is base64 of gzip of JSON; decode it without ever throwing. */
export function decodeAwsLogsEvent(event: unknown): DecodeResult {
  const data = (event as Partial<CloudWatchLogsEvent> | null)?.awslogs?.data;
  if (typeof data !== "string" || data.length === 0) {
    return { ok: false, reason: "missing_data", detail: "event has no awslogs.data string" };
  }
  const compact = data.replace(/\s+/g, "");
  if (compact.length % 4 === 1 || !BASE64.test(compact)) {
    return { ok: false, reason: "bad_base64", detail: `awslogs.data is not base64 (${data.length} chars)` };
  }
  let json: string;
  try {
    json = gunzipSync(Buffer.from(compact, "base64"), { maxOutputLength: MAX_DECODED_BYTES }).toString(
      "utf8",
    );
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ERR_BUFFER_TOO_LARGE") {
      return {
        ok: false,
        reason: "too_large",
        detail: `decompressed payload exceeds ${MAX_DECODED_BYTES} bytes`,
      };
    }
    return { ok: false, reason: "bad_gzip", detail: `awslogs.data is not gzip: ${(error as Error).message}` };
  }
  const containers = countJsonContainers(json, MAX_JSON_CONTAINERS);
  if (containers > MAX_JSON_CONTAINERS) {
    return {
      ok: false,
      reason: "too_many_values",
      detail: `decoded payload holds more than ${MAX_JSON_CONTAINERS} JSON arrays and objects`,
    };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    return {
      ok: false,
      reason: "malformed_json",
      detail: `decoded payload is not JSON: ${(error as Error).message}`,
    };
  }
  const problem = shapeProblem(parsed);
  if (problem !== null) return { ok: false, reason: "bad_shape", detail: problem };
  const decoded = parsed as CloudWatchLogsDecodedData;
  // One malformed entry must not cost the valid events beside it: it is set aside and counted.
  const invalidEvents: InvalidLogEvent[] = [];
  const valid: CloudWatchLogsLogEvent[] = [];
  for (const [index, entry] of (decoded.logEvents as unknown[]).entries()) {
    const item = entry as Partial<CloudWatchLogsLogEvent> | null;
    if (typeof item === "object" && item !== null && typeof item.message === "string") {
      valid.push(item as CloudWatchLogsLogEvent);
      continue;
    }
    invalidEvents.push({
      index,
      id: typeof item?.id === "string" ? clip(item.id) : null,
      detail:
        typeof item !== "object" || item === null || Array.isArray(item)
          ? `logEvents[${index}] is ${describeJsonValue(item)}, not an object`
          : `logEvents[${index}].message is ${describeJsonValue(item.message)}, not a string`,
    });
  }
  if (invalidEvents.length > 0) decoded.logEvents = valid;
  return { ok: true, data: decoded, invalidEvents };
}

function shapeProblem(value: unknown): string | null {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return "decoded payload is not an object";
  const v = value as Record<string, unknown>;
  if (v.messageType !== "DATA_MESSAGE" && v.messageType !== "CONTROL_MESSAGE") {
    return `unknown messageType ${describeJsonValue(v.messageType)}`;
  }
  if (!Array.isArray(v.logEvents)) return "logEvents is not an array";
  for (const name of ["logGroup", "logStream"] as const) {
    const text = v[name];
    if (text !== undefined && (typeof text !== "string" || text.length > MAX_NAME_CHARS)) {
      return `${name} is ${describeJsonValue(text)}, not a CloudWatch Logs name (a string of at most ${MAX_NAME_CHARS} characters)`;
    }
  }
  return null;
}

/** `text` cut to MAX_QUOTED_CHARS, so payload content never makes a log line large. */
export function clip(text: string): string {
  return text.length > MAX_QUOTED_CHARS
    ? `${text.slice(0, MAX_QUOTED_CHARS)}... (${text.length} chars)`
    : text;
}

function describeJsonValue(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "missing";
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === "string") return `the string ${JSON.stringify(clip(value))}`;
  if (typeof value === "object") return "an object";
  return `${typeof value} ${String(value)}`;
}

/**
 * Arrays and objects in `json`, counting past `limit` only far enough to tell; brackets inside
 * strings do not count. A linear scan costs a few milliseconds per MiB, far less than a parse.
 */
export function countJsonContainers(json: string, limit: number): number {
  let count = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const code = json.charCodeAt(i);
    if (inString) {
      if (code === 0x5c)
        i++; // backslash: skip the escaped character
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) inString = true;
    else if (code === 0x5b || code === 0x7b) {
      if (++count > limit) return count;
    }
  }
  return count;
}

/** The inverse, exactly as CloudWatch Logs builds a subscription event (tests, replay tools). */
export function encodeAwsLogsEvent(data: CloudWatchLogsDecodedData): CloudWatchLogsEvent {
  return { awslogs: { data: gzipSync(Buffer.from(JSON.stringify(data), "utf8")).toString("base64") } };
}
