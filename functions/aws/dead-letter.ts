import { type MessageAttributeValue, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { Notification } from "../../shared/alerts/types.js";
import type { Logger } from "../lambda/log.js";
import { type AwsClientSettings, sdkClientConfig } from "./client.js";
import { fitNotification } from "./sns.js";

/** Why a notification left the outbox without being published. */
export type DeadLetterReason =
  /** The outbox held more than its bound: the oldest make room. */
  | "outbox_full"
  /** SNS refused this one for good (a validation error, not an outage). */
  | "rejected";

export interface DeadLetter {
  reason: DeadLetterReason;
  notification: Notification;
  /** The last error from SNS, when there was one. */
  error?: string;
  /** Failed publish attempts (outages) before it left. */
  attempts: number;
  /** Wall time it was decided. */
  addedAtMs: number;
}

/** The message body on the queue: the notification in full, with why it is there. */
export interface DeadLetterMessage extends DeadLetter {
  kind: "cloud-observability.dead-letter";
  version: 1;
}

/**
 * Where notifications go that the outbox gives up on. `send` resolves true when the letter is
 * stored, false when it is not (the caller keeps it and tries again next time); it never throws.
 */
export interface DeadLetterQueue {
  readonly name: string;
  send(letter: DeadLetter, signal?: AbortSignal): Promise<boolean>;
}

export interface SqsDeadLetterQueueOptions {
  client: SQSClient;
  queueUrl: string;
  logger: Logger;
}

/**
 * The dead-letter queue infra already has for failed asynchronous invocations (infra/queue.tf).
 * Each letter is one message holding the full notification (samples trimmed only when it would
 * pass the 256 KiB message limit), with `notification_id` and `reason` as message attributes.
 */
export class SqsDeadLetterQueue implements DeadLetterQueue {
  readonly name = "sqs";

  constructor(private readonly options: SqsDeadLetterQueueOptions) {}

  async send(letter: DeadLetter, signal?: AbortSignal): Promise<boolean> {
    const body: DeadLetterMessage = {
      kind: "cloud-observability.dead-letter",
      version: 1,
      ...letter,
      notification: fitNotification(letter.notification),
    };
    const attributes: Record<string, MessageAttributeValue> = {
      notification_id: { DataType: "String", StringValue: letter.notification.id },
      reason: { DataType: "String", StringValue: letter.reason },
    };
    try {
      await this.options.client.send(
        new SendMessageCommand({
          QueueUrl: this.options.queueUrl,
          MessageBody: JSON.stringify(body),
          MessageAttributes: attributes,
        }),
        signal === undefined ? {} : { abortSignal: signal },
      );
      return true;
    } catch (error) {
      this.options.logger.error("dead-letter queue refused a notification; it stays in the outbox", {
        notificationId: letter.notification.id,
        reason: letter.reason,
        error,
      });
      return false;
    }
  }
}

/**
 * Without a queue (memory state, local tests): the letter is logged in full at error level, which
 * is the only record left of it.
 */
export class LogDeadLetterQueue implements DeadLetterQueue {
  readonly name = "log";
  constructor(private readonly logger: Logger) {}

  async send(letter: DeadLetter): Promise<boolean> {
    this.logger.error("notification dead-lettered (no queue configured): logged in full", { letter });
    return true;
  }
}

/** Read a dead letter back (operators, tests); null when the body is not one. */
export function parseDeadLetter(body: string): DeadLetterMessage | null {
  try {
    const value = JSON.parse(body) as Partial<DeadLetterMessage> | null;
    if (value?.kind !== "cloud-observability.dead-letter" || value.version !== 1) return null;
    if (typeof value.notification?.id !== "string") return null;
    return value as DeadLetterMessage;
  } catch {
    return null;
  }
}

/** Attempts per SendMessage (the SDK retries throttling, 5xx and network errors). */
export const SQS_ATTEMPTS = 3;

export function createSqsClient(settings: AwsClientSettings): SQSClient {
  return new SQSClient(sdkClientConfig(settings, SQS_ATTEMPTS));
}
