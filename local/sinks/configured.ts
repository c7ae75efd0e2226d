import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import type { SinkConfig } from "../../shared/config/sinks.js";
import { SettingsError } from "../../shared/errors.js";
import { alertmanagerMessage } from "../../shared/sinks/alertmanager.js";
import type { Sink } from "../../shared/sinks/sink.js";
import { slackMessage } from "../../shared/sinks/slack.js";
import { WebhookSink, type WebhookTransport, webhookBody } from "../../shared/sinks/webhook.js";

/** The webhook sinks' I/O on Node: the global fetch, the wall clock and a real timer. */
export const nodeWebhookTransport: WebhookTransport = {
  fetch: (input, init) => fetch(input, init),
  now: () => Date.now(),
  sleep: (ms) => sleep(ms),
};

/** Slack's incoming webhooks take about one message per second; more is answered with 429. */
export const SLACK_MIN_INTERVAL_S = 1;

/** The URL a sink's config points at, from its environment variable or file; checked, never echoed. */
export function resolveSinkUrl(
  config: Pick<SinkConfig, "name" | "url_env" | "url_file">,
  env: NodeJS.ProcessEnv,
  readText: (path: string) => string = (path) => readFileSync(path, "utf8"),
): string {
  let url: string | undefined;
  if (config.url_env !== undefined) {
    url = env[config.url_env]?.trim();
    if (!url)
      throw new SettingsError(`sink ${config.name}: environment variable ${config.url_env} is not set`);
  } else if (config.url_file !== undefined) {
    try {
      url = readText(config.url_file).split("\n")[0]?.trim();
    } catch (error) {
      throw new SettingsError(
        `sink ${config.name}: cannot read url_file ${config.url_file} (${(error as NodeJS.ErrnoException).code ?? "error"})`,
        { cause: error },
      );
    }
    if (!url) throw new SettingsError(`sink ${config.name}: url_file ${config.url_file} is empty`);
  }
  checkUrl(url ?? "", config.name);
  return url as string;
}

function checkUrl(url: string, name: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // No cause: the URL parser's message quotes the URL, which may hold a secret.
    throw new SettingsError(
      `sink ${name}: the URL is not a valid absolute URL (not shown: it may hold a secret)`,
    );
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new SettingsError(`sink ${name}: the URL must be http(s), got ${parsed.protocol}`);
  }
}

/** One sink for a config entry: the payload format is the type's, the transport is the webhook's. */
export function sinkFromConfig(config: SinkConfig, url: string): Sink {
  switch (config.type) {
    case "slack":
      return new WebhookSink(url, {
        transport: nodeWebhookTransport,
        name: config.name,
        body: slackMessage,
        minIntervalMs: (config.min_interval_s ?? SLACK_MIN_INTERVAL_S) * 1000,
      });
    case "alertmanager":
      return new WebhookSink(url, {
        transport: nodeWebhookTransport,
        name: config.name,
        minIntervalMs: (config.min_interval_s ?? 0) * 1000,
        body: (n) =>
          alertmanagerMessage(n, {
            receiver: config.receiver ?? config.name,
            externalURL: config.external_url ?? "",
            maxAlerts: config.max_alerts ?? 0,
          }),
      });
    case "webhook":
      return new WebhookSink(url, {
        transport: nodeWebhookTransport,
        name: config.name,
        body: webhookBody,
        minIntervalMs: (config.min_interval_s ?? 0) * 1000,
      });
  }
}

/** The sinks of the config's `sinks:` section plus one generic webhook per `--webhook URL`. */
export function buildSinks(
  configs: readonly SinkConfig[],
  webhookUrls: readonly string[],
  env: NodeJS.ProcessEnv,
): Sink[] {
  const sinks = configs.map((config) => sinkFromConfig(config, resolveSinkUrl(config, env)));
  webhookUrls.forEach((url, i) => {
    const name = webhookUrls.length === 1 ? "webhook" : `webhook-${i + 1}`;
    checkUrl(url, name);
    sinks.push(new WebhookSink(url, { transport: nodeWebhookTransport, name }));
  });
  return sinks;
}
