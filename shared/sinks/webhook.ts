import type { Notification } from "../alerts/types.js";
import { SettingsError } from "../errors.js";
import { rfc3339 } from "./alertmanager.js";
import { escapeChatMarkup } from "./escape.js";
import { describeError } from "./fanout.js";
import { formatNotificationText, notificationSubject } from "./format.js";
import type { Sink, SinkResult } from "./sink.js";
import { wireAlert } from "./wire.js";

/**
 * The sink's I/O and clock, injected (the core does none of its own): Node's fetch, Date.now and a
 * timer in production (`nodeWebhookTransport` in local/sinks/configured.ts and functions/aws/slack.ts),
 * a stub in tests.
 */
export interface WebhookTransport {
  fetch: typeof fetch;
  /** Wall clock in ms: retry deadlines, pacing and Retry-After dates. */
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

export interface WebhookSinkOptions {
  transport: WebhookTransport;
  /** Abort one request after this long (it then counts as a retryable failure). */
  timeoutMs?: number;
  /** Requests per notification when the receiver answers 429, 5xx, times out or is unreachable. */
  attempts?: number;
  /** Wait before the second attempt; doubled before each further one. */
  backoffMs?: number;
  /**
   * Give up retrying once this much time has passed since the first attempt, so a notification
   * finishes inside the fan-out's own timeout (5 s) instead of being left behind.
   */
  deadlineMs?: number;
  /** Name in reports and the history (default "webhook"); never the URL, which may hold a secret. */
  name?: string;
  /** The JSON body for a notification (default `webhookBody`; Slack and Alertmanager formats exist). */
  body?: (notification: Notification) => unknown;
  /** Least wall time between two requests to this URL (Slack allows about one per second). */
  minIntervalMs?: number;
}

/**
 * Why `url` is not a safe webhook target, or null when it is: https only, except plain http to
 * this machine (a local receiver or a test), and no credentials in the URL (they would end up in
 * logs). Alerts carry log content and service names, so they are never sent in clear over a network.
 */
export function checkWebhookUrl(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `webhook URL ${JSON.stringify(url.slice(0, 200))} is not a valid URL`;
  }
  if (parsed.username !== "" || parsed.password !== "") {
    return "webhook URL must not carry credentials (user:password@); put the secret in the path as Slack does";
  }
  if (parsed.protocol === "https:") return null;
  if (parsed.protocol === "http:" && isLoopbackHost(parsed.hostname)) return null;
  return `webhook URL must use https (plain http only to localhost, 127.0.0.0/8 or [::1]), got ${parsed.protocol}//${parsed.host}`;
}

function isLoopbackHost(hostname: string): boolean {
  // The URL parser has already normalised IPv4 shorthands ("127.1") to four decimal parts.
  return (
    hostname === "localhost" || hostname === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)
  );
}

const DEFAULT_TIMEOUT_MS = 2_000;
const DEFAULT_ATTEMPTS = 3;
const DEFAULT_BACKOFF_MS = 250;
const DEFAULT_DEADLINE_MS = 4_500;

/**
 * POSTs a Slack-compatible JSON body (`text`, plus the raw notification fields for other receivers)
 * to an incoming-webhook URL. 429, 5xx, timeouts and network errors are retryable; other 4xx mean
 * the request itself is wrong (bad URL, revoked token) and retrying cannot help. Retryable failures
 * are retried with exponential backoff, bounded by `attempts` and `deadlineMs`; the last failure is
 * what the caller sees. Redirects are never followed: a 3xx is an error, because following one would
 * re-send the alert, with its log content, to an address nobody configured.
 */
export class WebhookSink implements Sink {
  readonly name: string;
  private readonly transport: WebhookTransport;
  private readonly timeoutMs: number;
  private readonly attempts: number;
  private readonly backoffMs: number;
  private readonly deadlineMs: number;
  private readonly body: (notification: Notification) => unknown;
  private readonly minIntervalMs: number;
  private nextPostAtMs = 0;

  constructor(
    readonly url: string,
    options: WebhookSinkOptions,
  ) {
    const problem = checkWebhookUrl(url);
    if (problem !== null) throw new SettingsError(problem);
    this.transport = options.transport;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.attempts = Math.max(1, Math.floor(options.attempts ?? DEFAULT_ATTEMPTS));
    this.backoffMs = options.backoffMs ?? DEFAULT_BACKOFF_MS;
    this.deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
    this.name = options.name ?? "webhook";
    this.body = options.body ?? webhookBody;
    this.minIntervalMs = options.minIntervalMs ?? 0;
  }

  async send(notification: Notification): Promise<SinkResult> {
    const body = JSON.stringify(this.body(notification));
    const { now, sleep } = this.transport;
    const started = now();
    await this.pace();
    let result = await this.post(body, this.timeoutMs);
    let attempts = 1;
    let backoffMs = this.backoffMs;
    for (let attempt = 2; attempt <= this.attempts && result.status === "retryable"; attempt++) {
      // A 429's Retry-After says when to come back; otherwise exponential backoff.
      const waitMs = result.retryAfterMs ?? backoffMs;
      const remainingMs = this.deadlineMs - (now() - started) - waitMs;
      if (remainingMs <= 0) break;
      await sleep(waitMs);
      backoffMs *= 2;
      await this.pace();
      result = await this.post(body, Math.min(this.timeoutMs, remainingMs));
      attempts++;
    }
    const { retryAfterMs: _, ...reported } = result;
    return { ...reported, attempts } as SinkResult;
  }

  /** Keep at least `minIntervalMs` between requests (per sink, so per URL). */
  private async pace(): Promise<void> {
    const now = this.transport.now();
    if (now < this.nextPostAtMs) await this.transport.sleep(this.nextPostAtMs - now);
    this.nextPostAtMs = Math.max(now, this.nextPostAtMs) + this.minIntervalMs;
  }

  private async post(body: string, timeoutMs: number): Promise<SinkResult & { retryAfterMs?: number }> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      const response = await this.transport.fetch(this.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        signal: controller.signal,
        // A redirect could carry the alert (and any secret in the URL's path) somewhere else.
        redirect: "manual",
      });
      // Drain the body so the connection can be reused; its content is not needed.
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) return { status: "ok" };
      if (response.status >= 300 && response.status < 400) {
        return {
          status: "error",
          error: `webhook answered with a redirect (HTTP ${response.status}); redirects are not followed, configure the final URL`,
        };
      }
      const error = `webhook answered HTTP ${response.status}`;
      if (response.status === 429) {
        const retryAfterMs = retryAfter(response.headers.get("retry-after"), this.transport.now());
        return retryAfterMs === null
          ? { status: "retryable", error }
          : { status: "retryable", error, retryAfterMs };
      }
      if (response.status >= 500) return { status: "retryable", error };
      return { status: "error", error };
    } catch (error) {
      if (controller.signal.aborted) {
        return { status: "retryable", error: `webhook timed out after ${timeoutMs} ms` };
      }
      return { status: "retryable", error: `webhook request failed: ${describeError(error)}` };
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Retry-After in seconds or as an HTTP date; null when absent or unreadable. */
function retryAfter(header: string | null, nowMs: number): number | null {
  if (header === null) return null;
  const seconds = Number(header.trim());
  if (header.trim() !== "" && Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
  const at = Date.parse(header);
  return Number.isFinite(at) ? Math.max(0, at - nowMs) : null;
}

/**
 * The JSON a webhook receives: Slack reads `text`; other receivers get the structured fields. The
 * text is escaped for chat markup, so a log line saying `<!channel>` cannot page a whole channel.
 */
export function webhookBody(n: Notification) {
  const text = `*${notificationSubject(n)}*\n${formatNotificationText(n, { color: false })}`;
  return {
    text: escapeChatMarkup(text),
    id: n.id,
    groupKey: n.groupKey,
    status: n.status,
    severity: n.severity,
    reason: n.reason,
    atMs: n.atMs,
    at: rfc3339(n.atMs),
    alerts: n.alerts.map((a) => ({
      ...wireAlert(a),
      fingerprint: a.fingerprint,
      type: a.type,
      service: a.service,
      entity: a.entity,
      status: a.status,
      severity: a.severity,
      startsAtMs: a.startsAtMs,
      endsAtMs: a.endsAtMs,
      observed: a.annotations.observed,
      threshold: a.annotations.threshold,
      unit: a.annotations.unit,
      runbook: a.annotations.runbook,
    })),
  };
}
