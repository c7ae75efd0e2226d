import type { Notification } from "../../shared/alerts/types.js";
import { describeError } from "../../shared/sinks/fanout.js";
import { formatNotificationText } from "../../shared/sinks/format.js";
import type { Sink, SinkResult } from "../../shared/sinks/sink.js";

export interface ConsoleSinkOptions {
  /**
   * Colour wanted by the caller (for example "the status line is interactive"). Colour is used only
   * when this is not false, the stream is a TTY, and NO_COLOR is unset (https://no-color.org).
   */
  color?: boolean;
  /** Environment to read NO_COLOR from; tests pass their own. */
  env?: Record<string, string | undefined>;
}

/** Prints each notification as readable text, separated by a blank line. */
export class ConsoleSink implements Sink {
  readonly name = "console";
  private readonly color: boolean;

  constructor(
    private readonly stream: NodeJS.WritableStream & { isTTY?: boolean },
    options: ConsoleSinkOptions = {},
  ) {
    const env = options.env ?? process.env;
    const noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== "";
    this.color = options.color !== false && stream.isTTY === true && !noColor;
  }

  get colored(): boolean {
    return this.color;
  }

  send(notification: Notification): Promise<SinkResult> {
    const text = `${formatNotificationText(notification, { color: this.color })}\n\n`;
    return new Promise((resolve) => {
      try {
        this.stream.write(text, (error) => {
          resolve(
            error
              ? { status: "error", error: `console write failed: ${describeError(error)}` }
              : { status: "ok" },
          );
        });
      } catch (error) {
        resolve({ status: "error", error: `console write failed: ${describeError(error)}` });
      }
    });
  }
}
