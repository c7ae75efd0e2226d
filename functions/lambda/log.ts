/**
 * Structured JSON logs (one object per line, which CloudWatch Logs Insights parses) and metrics in
 * CloudWatch Embedded Metric Format: a log line that CloudWatch turns into metrics with no API call.
 */

export type LogLevel = "debug" | "info" | "warn" | "error";
export type Fields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
  /** A logger that adds these fields to every line (for example the request id). */
  child(fields: Fields): Logger;
}

export type LineWriter = (line: string) => void;

const defaultWriter: LineWriter = (line) => {
  process.stdout.write(`${line}\n`);
};

export function createLogger(
  base: Fields = {},
  write: LineWriter = defaultWriter,
  now: () => number = Date.now,
): Logger {
  const emit = (level: LogLevel, message: string, fields?: Fields) => {
    write(
      JSON.stringify(
        { time: new Date(now()).toISOString(), level, message, ...base, ...fields },
        errorReplacer,
      ),
    );
  };
  return {
    debug: (message, fields) => emit("debug", message, fields),
    info: (message, fields) => emit("info", message, fields),
    warn: (message, fields) => emit("warn", message, fields),
    error: (message, fields) => emit("error", message, fields),
    child: (fields) => createLogger({ ...base, ...fields }, write, now),
  };
}

/** Errors do not serialise by default; keep their name and message (and the AWS error code). */
function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const code = (value as { Code?: unknown }).Code;
    return { name: value.name, message: value.message, ...(typeof code === "string" ? { code } : {}) };
  }
  return value;
}

export const METRIC_NAMESPACE = "CloudObservability";

/**
 * One EMF record. `metrics` are counts. Every record carries the `Function` dimension, so each Lambda
 * has its own series; `breakdown` adds one more dimension with its value (for example `Reason` =
 * `malformed_json`), which CloudWatch files as a separate series per value. Zero counts are kept: a
 * flat zero line is information, a missing point is not.
 */
export function emfLine(
  functionName: string,
  metrics: Record<string, number>,
  timestampMs: number,
  extra: Fields = {},
  breakdown?: { dimension: string; value: string },
): string {
  const names = Object.keys(metrics);
  return JSON.stringify({
    _aws: {
      Timestamp: timestampMs,
      CloudWatchMetrics: [
        {
          Namespace: METRIC_NAMESPACE,
          Dimensions: [breakdown ? ["Function", breakdown.dimension] : ["Function"]],
          Metrics: names.map((name) => ({ Name: name, Unit: "Count" })),
        },
      ],
    },
    Function: functionName,
    ...(breakdown ? { [breakdown.dimension]: breakdown.value } : {}),
    ...extra,
    ...metrics,
  });
}
