import { setTimeout as sleep } from "node:timers/promises";
import type { Notification } from "../../shared/alerts/types.js";
import { fanOut } from "../../shared/sinks/fanout.js";
import type { SendOptions, Sink, SinkResult } from "../../shared/sinks/sink.js";
import { slackMessage } from "../../shared/sinks/slack.js";
import { WebhookSink, type WebhookTransport } from "../../shared/sinks/webhook.js";
import type { Logger } from "../lambda/log.js";
import type { ParameterReader } from "./ssm-parameter.js";

/** The Slack sink's I/O: the global fetch, the wall clock and a real timer. */
const NODE_TRANSPORT: WebhookTransport = {
  fetch: (input, init) => fetch(input, init),
  now: () => Date.now(),
  sleep: (ms) => sleep(ms),
};

/** What Terraform stores until an operator puts the real URL in (the URL never goes through Terraform). */
export const SLACK_PLACEHOLDER = "unset";

/**
 * Reads the Slack webhook URL from an SSM SecureString parameter, once: the first call fetches it
 * (decrypted), every later call in the same execution environment reuses it, so a cold start costs
 * one GetParameter and a warm invocation none. null when the parameter still holds the placeholder.
 */
export class SlackUrlFromSsm {
  private pending: Promise<string | null> | null = null;
  reads = 0;

  constructor(
    private readonly readParameter: ParameterReader,
    private readonly parameterName: string,
  ) {}

  url(): Promise<string | null> {
    this.pending ??= this.read().catch((error: unknown) => {
      // A failed read is retried on the next invocation rather than cached.
      this.pending = null;
      throw error;
    });
    return this.pending;
  }

  private async read(): Promise<string | null> {
    this.reads++;
    const value = (await this.readParameter(this.parameterName))?.trim() ?? "";
    return value === "" || value === SLACK_PLACEHOLDER ? null : value;
  }
}

/**
 * The processor's sink: SNS decides delivery (its failures keep the alert in the outbox), Slack
 * rides along best effort (a Slack failure is logged, never re-sends the SNS message). The URL is
 * never logged.
 */
export class SnsWithSlack implements Sink {
  readonly name: string;
  private slack: Sink | null | undefined;

  constructor(
    private readonly primary: Sink,
    private readonly slackUrl: SlackUrlFromSsm,
    private readonly logger: Logger,
  ) {
    this.name = primary.name;
  }

  async send(notification: Notification, options?: SendOptions): Promise<SinkResult> {
    const [primary, slack] = await Promise.all([
      this.primary.send(notification, options),
      this.sendSlack(notification),
    ]);
    if (slack !== null && slack.status !== "ok") {
      this.logger.warn("Slack notification not delivered", {
        notificationId: notification.id,
        error: slack.error,
      });
    }
    return primary;
  }

  private async sendSlack(notification: Notification): Promise<SinkResult | null> {
    if (this.slack === undefined) {
      try {
        const url = await this.slackUrl.url();
        this.slack =
          url === null
            ? null
            : new WebhookSink(url, {
                transport: NODE_TRANSPORT,
                name: "slack",
                body: slackMessage,
                minIntervalMs: 1000,
              });
        if (url === null)
          this.logger.warn("Slack parameter holds the placeholder; Slack notifications are off");
      } catch (error) {
        this.logger.error("Slack webhook URL not read from SSM", { error });
        return { status: "retryable", error: "Slack webhook URL not available" };
      }
    }
    if (this.slack === null) return null;
    const [report] = await fanOut([this.slack], notification);
    return report?.result ?? null;
  }
}
