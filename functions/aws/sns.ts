import {
  type MessageAttributeValue,
  PublishCommand,
  type PublishCommandInput,
  SNSClient,
} from "@aws-sdk/client-sns";
import type { Notification } from "../../shared/alerts/types.js";
import { DEFAULT_CONFIG } from "../../shared/config/defaults.js";
import { type EmailContext, emailBody } from "../../shared/sinks/email.js";
import { notificationSubject } from "../../shared/sinks/format.js";
import type { SendOptions, Sink, SinkResult } from "../../shared/sinks/sink.js";
import type { Logger } from "../lambda/log.js";
import { type AwsClientSettings, SNS_ATTEMPTS, sdkAttempts, sdkClientConfig } from "./client.js";
import { isRetryableAwsError } from "./retry.js";

/** SNS refuses messages above 256 KiB (body plus attributes); stay clear of it. */
export const MAX_SNS_MESSAGE_BYTES = 250 * 1024;

/** The JSON every machine subscriber (SQS, Lambda, HTTPS) receives: the notification, versioned. */
export interface AlertMessage {
  kind: "cloud-observability.notification";
  version: 1;
  notification: Notification;
}

/**
 * The Publish request for one notification. With `MessageStructure: "json"` SNS delivers a
 * different body per protocol: email gets readable text (with the JSON at the end for tooling),
 * every other protocol gets the JSON alone. Attributes let subscriptions filter (for example
 * `{"severity": ["critical"]}` for email).
 */
export function buildPublishInput(
  topicArn: string,
  notification: Notification,
  email: EmailContext = emailContextFromTopic(topicArn),
): PublishCommandInput {
  const fitted = fitNotification(notification);
  const message: AlertMessage = {
    kind: "cloud-observability.notification",
    version: 1,
    notification: fitted,
  };
  const json = JSON.stringify(message);
  // People get a message to act on (shared/sinks/email.ts); the JSON goes to `email-json` and machines.
  const text = emailBody(fitted, email);
  const emailText =
    Buffer.byteLength(text) + Buffer.byteLength(json) * 2 > MAX_SNS_MESSAGE_BYTES ? json : text;
  return {
    TopicArn: topicArn,
    Subject: emailSubject(notificationSubject(fitted)),
    MessageStructure: "json",
    Message: JSON.stringify({ default: json, email: emailText, "email-json": json }),
    MessageAttributes: messageAttributes(fitted),
  };
}

/**
 * SNS rejects subjects over 100 characters or with control characters; it must start with a letter,
 * number or punctuation, so trim and replace rather than fail the alert.
 */
export function emailSubject(subject: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
  const clean = subject.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
  const safe = clean.length === 0 ? "cloud-observability alert" : clean;
  return safe.length <= 100 ? safe : `${safe.slice(0, 99)}…`;
}

export function messageAttributes(notification: Notification): Record<string, MessageAttributeValue> {
  const attributes: Record<string, MessageAttributeValue> = {
    severity: { DataType: "String", StringValue: notification.severity },
    status: { DataType: "String", StringValue: notification.status },
    reason: { DataType: "String", StringValue: notification.reason },
    notification_id: { DataType: "String", StringValue: notification.id },
  };
  const distinct = (pick: (a: Notification["alerts"][number]) => string) => [
    ...new Set(notification.alerts.map(pick)),
  ];
  for (const [name, values] of [
    ["alert_type", distinct((a) => a.type)],
    ["service", distinct((a) => a.service)],
    ["fingerprint", distinct((a) => a.fingerprint)],
  ] as const) {
    // One value is a plain String (the common case, simplest to read); several become a
    // String.Array, which filter policies match when any element matches.
    if (values.length === 1) attributes[name] = { DataType: "String", StringValue: values[0] };
    else if (values.length > 1)
      attributes[name] = { DataType: "String.Array", StringValue: JSON.stringify(values) };
  }
  return attributes;
}

/**
 * Large groups with many log samples could pass the SNS (and SQS) size limit: drop samples before
 * failing. Used for the dead-letter queue's copy too.
 */
export function fitNotification(notification: Notification): Notification {
  const size = (n: Notification) => Buffer.byteLength(JSON.stringify(n));
  // The message carries the JSON up to three times (default, email, email-json).
  if (size(notification) * 3 < MAX_SNS_MESSAGE_BYTES) return notification;
  const trimmed: Notification = {
    ...notification,
    alerts: notification.alerts.map((a) => ({
      ...a,
      annotations: { ...a.annotations, samples: a.annotations.samples.slice(-1) },
    })),
  };
  if (size(trimmed) * 3 < MAX_SNS_MESSAGE_BYTES) return trimmed;
  return {
    ...trimmed,
    alerts: trimmed.alerts.map((a) => ({ ...a, annotations: { ...a.annotations, samples: [] } })),
  };
}

/** Read an alert message back (remediation handler, tests); null when it is not one of ours. */
export function parseAlertMessage(body: string): AlertMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return null;
  }
  const v = value as Partial<AlertMessage> | null;
  if (v?.kind !== "cloud-observability.notification" || v.version !== 1) return null;
  const n = v.notification as Partial<Notification> | undefined;
  if (typeof n?.id !== "string" || !Array.isArray(n.alerts) || typeof n.atMs !== "number") return null;
  if (n.status !== "firing" && n.status !== "resolved") return null;
  // Every alert is read field by field downstream: one null or half-formed alert must not throw there.
  if (!n.alerts.every(isAlertShaped)) return null;
  return v as AlertMessage;
}

function isAlertShaped(value: unknown): boolean {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const a = value as Record<string, unknown>;
  const annotations = a.annotations as Record<string, unknown> | null | undefined;
  return (
    typeof a.fingerprint === "string" &&
    typeof a.type === "string" &&
    typeof a.service === "string" &&
    typeof a.entity === "string" &&
    (a.status === "firing" || a.status === "resolved") &&
    typeof a.startsAtMs === "number" &&
    typeof annotations === "object" &&
    annotations !== null &&
    typeof annotations.summary === "string"
  );
}

/** Account and region from the topic ARN; the rest unknown (the handler passes the real context). */
export function emailContextFromTopic(topicArn: string): EmailContext {
  const [, , , region = "", accountId = ""] = topicArn.split(":");
  return {
    accountId: accountId || "unknown",
    region: region || "unknown",
    environment: "unknown",
    logGroup: "",
    historyTable: "",
    remediation: DEFAULT_CONFIG.remediation,
    remediationEnabled: false,
  };
}

export interface SnsSinkOptions {
  client: SNSClient;
  topicArn: string;
  /** What the email says about where the alert is and what happens next (default: from the ARN). */
  email?: EmailContext;
  logger?: Logger;
}

/**
 * The SNS sink: the client retries throttling and transient failures (createSnsClient); what still
 * fails transiently is reported `retryable`, so the caller keeps the alert in its outbox. An aborted
 * `signal` (the processor's publish budget ran out) ends the request at once.
 */
export class SnsSink implements Sink {
  readonly name = "sns";
  constructor(private readonly options: SnsSinkOptions) {}

  async send(notification: Notification, options: SendOptions = {}): Promise<SinkResult> {
    const input = buildPublishInput(this.options.topicArn, notification, this.options.email);
    const { signal } = options;
    try {
      await this.options.client.send(
        new PublishCommand(input),
        signal === undefined ? {} : { abortSignal: signal },
      );
      return { status: "ok" };
    } catch (error) {
      if (signal?.aborted) {
        // Out of time, not a verdict on SNS: the caller keeps the notification for the next invocation.
        return { status: "retryable", error: "TimeoutError: publish budget spent" };
      }
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      const attempts = sdkAttempts(error);
      const status = isRetryableAwsError(error) ? "retryable" : "error";
      if (status === "retryable") {
        this.options.logger?.warn("SNS publish failed", { attempts, error });
      }
      return attempts === undefined ? { status, error: message } : { status, error: message, attempts };
    }
  }
}

export function createSnsClient(settings: AwsClientSettings): SNSClient {
  return new SNSClient(sdkClientConfig(settings, SNS_ATTEMPTS));
}
