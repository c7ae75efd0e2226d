/**
 * Retrying is the SDK's job (functions/aws/client.ts). This only classifies what is left when the SDK
 * has given up: a throttling, server or network error may succeed later (the SNS sink then reports
 * `retryable` and the alert stays in the outbox), a validation error never will.
 */
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
