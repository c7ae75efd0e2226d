import { setTimeout as sleep } from "node:timers/promises";

export interface RetryOptions {
  /** Total attempts including the first. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Whether a failure may succeed if tried again (throttling, 5xx, network). */
  isRetryable: (error: unknown) => boolean;
  /** Injected so tests do not wait; defaults to a real timer. */
  sleep?: (ms: number) => Promise<unknown>;
  /** Jitter source in [0, 1); defaults to full jitter from Math.random (I/O layer only, not the core). */
  random?: () => number;
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

/**
 * Run `operation` until it succeeds, fails with a non-retryable error, or runs out of attempts.
 * Exponential backoff with full jitter (the AWS recommendation), so that concurrent Lambdas that were
 * throttled together do not retry together.
 */
export async function withRetries<T>(
  operation: (attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const wait = options.sleep ?? sleep;
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (attempt >= options.attempts || !options.isRetryable(error)) throw error;
      const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (attempt - 1));
      const delayMs = Math.round(ceiling * random());
      options.onRetry?.(error, attempt, delayMs);
      await wait(delayMs);
    }
  }
}

const RETRYABLE_CODES = new Set([
  "ThrottlingException",
  "Throttling",
  "ThrottledException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "ProvisionedThroughputExceededException",
  "ServiceUnavailable",
  "ServiceUnavailableException",
  "InternalError",
  "InternalFailure",
  "InternalServerError",
  "KMSThrottlingException",
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EAI_AGAIN",
  "TimeoutError",
  "RequestTimeout",
]);

/** Throttling, server errors and network failures are worth another try; validation errors are not. */
export function isRetryableAwsError(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const e = error as {
    name?: string;
    code?: string;
    $retryable?: unknown;
    $metadata?: { httpStatusCode?: number };
    cause?: unknown;
  };
  if (e.$retryable) return true;
  if ((e.name && RETRYABLE_CODES.has(e.name)) || (e.code && RETRYABLE_CODES.has(e.code))) return true;
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined && (status === 429 || status >= 500)) return true;
  return e.cause !== undefined && e.cause !== error ? isRetryableAwsError(e.cause) : false;
}
