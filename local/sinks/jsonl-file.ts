import { appendFile } from "node:fs/promises";
import type { Notification } from "../../shared/alerts/types.js";
import { describeError } from "../../shared/sinks/fanout.js";
import type { Sink, SinkResult } from "../../shared/sinks/sink.js";
import { wireNotification } from "../../shared/sinks/wire.js";

/** Errors that may clear on their own (disk full, too many open files, interrupted). */
const TRANSIENT_CODES = new Set(["ENOSPC", "EMFILE", "ENFILE", "EAGAIN", "EBUSY", "EINTR", "EIO"]);

/**
 * Appends one JSON object per notification (JSON lines), for tools like jq. Each append is one
 * write of a whole line, so a reader never sees half an object from this process.
 */
export class JsonlFileSink implements Sink {
  readonly name = "jsonl-file";

  constructor(readonly path: string) {}

  async send(notification: Notification): Promise<SinkResult> {
    let line: string;
    try {
      line = `${JSON.stringify(wireNotification(notification))}\n`;
    } catch (error) {
      return {
        status: "error",
        error: `cannot serialise notification ${notification.id}: ${describeError(error)}`,
      };
    }
    try {
      await appendFile(this.path, line, "utf8");
      return { status: "ok" };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? "";
      const message = `append to ${this.path} failed: ${describeError(error)}`;
      return TRANSIENT_CODES.has(code)
        ? { status: "retryable", error: message }
        : { status: "error", error: message };
    }
  }
}
