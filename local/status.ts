import { Writable } from "node:stream";

/** "tty": a live line redrawn in place; "plain": a summary line now and then; "off": silent. */
export type StatusMode = "tty" | "plain" | "off";

/**
 * A one-line live status on a terminal that other output can interleave with: anything printed
 * clears the status line first and redraws it after. Off a terminal it prints a summary line at a
 * slow interval instead, so logs stay readable when piped.
 */
export class StatusLine {
  /** Write here instead of to the terminal directly, so the status line is kept intact. */
  readonly stream: Writable;
  private current = "";
  private lastTickMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly out: Writable,
    readonly mode: StatusMode,
    private readonly plainIntervalMs = 5000,
  ) {
    const print = (text: string) => this.print(text);
    this.stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        print(chunk.toString("utf8").replace(/\n$/, ""));
        done();
      },
    });
  }

  get interactive(): boolean {
    return this.mode === "tty";
  }

  print(text: string): void {
    if (this.interactive && this.current) this.out.write("\r\x1b[2K");
    this.out.write(`${text}\n`);
    if (this.interactive && this.current) this.out.write(this.current);
  }

  /** Redraw at most every 250 ms on a terminal, every `plainIntervalMs` in plain mode. */
  tick(render: () => string): void {
    if (this.mode === "off") return;
    const now = performance.now();
    if (now - this.lastTickMs < (this.interactive ? 250 : this.plainIntervalMs)) return;
    this.lastTickMs = now;
    const text = render();
    if (this.interactive) {
      this.current = text;
      this.out.write(`\r\x1b[2K${text}`);
    } else {
      this.out.write(`[status] ${text}\n`);
    }
  }

  clear(): void {
    if (this.interactive && this.current) this.out.write("\r\x1b[2K");
    this.current = "";
  }
}
