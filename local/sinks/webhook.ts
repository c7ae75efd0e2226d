import type { Notification } from "../../shared/alerts/types.js";
import { describeError } from "../../shared/sinks/fanout.js";
import { formatNotificationText, notificationSubject } from "../../shared/sinks/format.js";
import type { Sink, SinkResult } from "../../shared/sinks/sink.js";

export interface WebhookSinkOptions {
  /** Injected for tests; defaults to the global fetch of Node 20. */
  fetchImpl?: typeof fetch;
  /** Abort the request after this long and report it retryable. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 5_000;

/**
 * POSTs a Slack-compatible JSON body (`text`, plus the raw notification fields for other receivers)
 * to an incoming-webhook URL. 429, 5xx, timeouts and network errors are retryable; other 4xx mean
 * the request itself is wrong (bad URL, revoked token) and retrying cannot help.
 */
export class WebhookSink implements Sink {
  readonly name = "webhook";
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;

  constructor(
    readonly url: string,
    options: WebhookSinkOptions = {},
  ) {
    this.fetchImpl = options.fetchImpl ?? fetch;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  async send(notification: Notification): Promise<SinkResult> {
    const body = JSON.stringify(webhookBody(notification));
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    try {
      const response = await this.fetchImpl(this.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        signal: controller.signal,
      });
      // Drain the body so the connection can be reused; its content is not needed.
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) return { status: "ok" };
      const error = `webhook answered HTTP ${response.status}`;
      if (response.status === 429 || response.status >= 500) return { status: "retryable", error };
      return { status: "error", error };
    } catch (error) {
      if (controller.signal.aborted) {
        return { status: "retryable", error: `webhook timed out after ${this.timeoutMs} ms` };
      }
      return { status: "retryable", error: `webhook request failed: ${describeError(error)}` };
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The JSON a webhook receives: Slack reads `text`; other receivers get the structured fields. */
export function webhookBody(n: Notification) {
  return {
    text: `*${notificationSubject(n)}*\n${formatNotificationText(n, { color: false })}`,
    id: n.id,
    groupKey: n.groupKey,
    status: n.status,
    severity: n.severity,
    reason: n.reason,
    atMs: n.atMs,
    alerts: n.alerts.map((a) => ({
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
