import type { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";

/** One line of input, or the fact that a line was too long to keep (its content is discarded). */
export type InputLine = { kind: "line"; text: string } | { kind: "too_long"; chars: number };

/**
 * Split a stream into lines ("\n"; a trailing "\r" is left for the parser, which tolerates it)
 * holding at most `maxChars` characters of any one line. readline buffers a whole line before
 * anyone can look at its length, so a 600 MB line without a newline ends in `RangeError: Invalid
 * string length`; here a line that passes the cap is dropped as it streams and reported once as
 * `too_long`, and memory stays at one chunk plus `maxChars` whatever the input.
 */
export async function* readBoundedLines(input: Readable, maxChars: number): AsyncGenerator<InputLine> {
  const decoder = new StringDecoder("utf8");
  let pending = "";
  /** Characters of the current line seen so far, once it has passed the cap. */
  let overflow = -1;
  const take = function* (text: string): Generator<InputLine> {
    let start = 0;
    for (;;) {
      const newline = text.indexOf("\n", start);
      const end = newline === -1 ? text.length : newline;
      const piece = start === 0 && end === text.length ? text : text.slice(start, end);
      if (overflow >= 0) overflow += piece.length;
      else if (pending.length + piece.length > maxChars) {
        overflow = pending.length + piece.length;
        pending = "";
      } else pending = pending.length === 0 ? piece : pending + piece;
      if (newline === -1) return;
      if (overflow >= 0) yield { kind: "too_long", chars: overflow };
      else yield { kind: "line", text: pending };
      pending = "";
      overflow = -1;
      start = newline + 1;
    }
  };
  for await (const chunk of input as AsyncIterable<string | Buffer>) {
    yield* take(typeof chunk === "string" ? chunk : decoder.write(chunk));
  }
  yield* take(decoder.end());
  if (overflow >= 0) yield { kind: "too_long", chars: overflow };
  else if (pending.length > 0) yield { kind: "line", text: pending };
}
