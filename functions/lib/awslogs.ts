import { gunzipSync, gzipSync } from "node:zlib";
import type { CloudWatchLogsDecodedData, CloudWatchLogsEvent, CloudWatchLogsLogEvent } from "aws-lambda";

/** Why a subscription payload was refused. Counted by reason, logged once per payload. */
export const PAYLOAD_REJECT_REASONS = [
  "missing_data",
  "bad_base64",
  "bad_gzip",
  "too_large",
  "malformed_json",
  "bad_shape",
] as const;
export type PayloadRejectReason = (typeof PAYLOAD_REJECT_REASONS)[number];

export type DecodeResult =
  | { ok: true; data: CloudWatchLogsDecodedData }
  | { ok: false; reason: PayloadRejectReason; detail: string };

/**
 * A subscription delivers at most 1 MB compressed; refuse to inflate past this so that a hostile or
 * corrupt payload cannot exhaust the function's memory.
 */
export const MAX_DECODED_BYTES = 32 * 1024 * 1024;

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
  return { ok: true, data: parsed as CloudWatchLogsDecodedData };
}

function shapeProblem(value: unknown): string | null {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return "decoded payload is not an object";
  const v = value as Record<string, unknown>;
  if (v.messageType !== "DATA_MESSAGE" && v.messageType !== "CONTROL_MESSAGE") {
    return `unknown messageType ${JSON.stringify(v.messageType)}`;
  }
  if (!Array.isArray(v.logEvents)) return "logEvents is not an array";
  for (const [i, e] of v.logEvents.entries()) {
    const item = e as Partial<CloudWatchLogsLogEvent> | null;
    if (typeof item !== "object" || item === null || typeof item.message !== "string") {
      return `logEvents[${i}] has no message string`;
    }
  }
  return null;
}

/** The inverse, exactly as CloudWatch Logs builds a subscription event (tests, replay tools). */
export function encodeAwsLogsEvent(data: CloudWatchLogsDecodedData): CloudWatchLogsEvent {
  return { awslogs: { data: gzipSync(Buffer.from(JSON.stringify(data), "utf8")).toString("base64") } };
}
