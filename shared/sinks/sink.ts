import type { Notification } from "../alerts/types.js";

/**
 * Sinks report what happened instead of throwing: the pipeline logs a failure, counts it and
 * carries on; `retryable` tells the caller that the same notification may succeed later.
 */
export type SinkResult =
  | { status: "ok"; attempts?: number }
  | { status: "retryable"; error: string; attempts?: number }
  | { status: "error"; error: string; attempts?: number };

/** Per-send options. `signal` aborts a send whose caller's time is up (the Lambda processor's budget). */
export interface SendOptions {
  signal?: AbortSignal;
}

export interface Sink {
  readonly name: string;
  send(notification: Notification, options?: SendOptions): Promise<SinkResult>;
}

/** Holds what it was given; the in-memory twin every sink test and end-to-end test uses. */
export class MemorySink implements Sink {
  readonly name = "memory";
  readonly received: Notification[] = [];
  async send(notification: Notification): Promise<SinkResult> {
    this.received.push(notification);
    return { status: "ok" };
  }
}
