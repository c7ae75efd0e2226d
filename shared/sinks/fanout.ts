import type { Notification } from "../alerts/types.js";
import type { Sink, SinkResult } from "./sink.js";

export interface SinkReport {
  sink: string;
  result: SinkResult;
  /** Wall time the sink took (or the timeout, if it did not answer). */
  ms: number;
}

export interface FanOutOptions {
  /** A sink that has not answered after this long is reported retryable and left behind. */
  timeoutMs?: number;
  /** Monotonic milliseconds for the `ms` figure; injectable so tests can pin it. */
  clock?: () => number;
}

export const DEFAULT_SINK_TIMEOUT_MS = 5_000;

/**
 * Send one notification to every sink concurrently. Never throws or rejects: a sink that throws,
 * rejects, returns garbage or hangs is reported as a failed SinkReport and the others still run.
 * Reports come back in the order of `sinks`.
 */
export async function fanOut(
  sinks: readonly Sink[],
  notification: Notification,
  options: FanOutOptions = {},
): Promise<SinkReport[]> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_SINK_TIMEOUT_MS;
  const clock = options.clock ?? (() => performance.now());
  return Promise.all(sinks.map((sink) => sendOne(sink, notification, timeoutMs, clock)));
}

async function sendOne(
  sink: Sink,
  notification: Notification,
  timeoutMs: number,
  clock: () => number,
): Promise<SinkReport> {
  const name = sinkName(sink);
  const started = clock();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<SinkResult>((resolve) => {
    timer = setTimeout(
      () => resolve({ status: "retryable", error: `timed out after ${timeoutMs} ms` }),
      timeoutMs,
    );
  });
  let result: SinkResult;
  try {
    // Promise.resolve().then(...) turns a synchronous throw inside send() into a rejection too.
    const sending = Promise.resolve().then(() => sink.send(notification));
    result = normalise(await Promise.race([sending, timeout]));
  } catch (error) {
    result = { status: "error", error: `sink threw: ${describeError(error)}` };
  } finally {
    clearTimeout(timer);
  }
  return { sink: name, result, ms: Math.max(0, clock() - started) };
}

function sinkName(sink: Sink): string {
  try {
    return typeof sink.name === "string" && sink.name !== "" ? sink.name : "unnamed";
  } catch {
    return "unnamed";
  }
}

/** A sink that resolves to something other than a SinkResult is misbehaving: report it, do not trust it. */
function normalise(value: unknown): SinkResult {
  if (typeof value === "object" && value !== null && "status" in value) {
    const { status } = value as { status: unknown };
    const error = (value as { error?: unknown }).error;
    // Requests the sink made (retries included), when it says; the history records it.
    const attempts = (value as { attempts?: unknown }).attempts;
    const counted =
      typeof attempts === "number" && Number.isInteger(attempts) && attempts >= 0 ? { attempts } : {};
    if (status === "ok") return { status: "ok", ...counted };
    if (status === "retryable" || status === "error") {
      return { status, error: typeof error === "string" ? error : "no error message given", ...counted };
    }
  }
  return { status: "error", error: "sink returned an invalid result" };
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
