import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { ConsoleSink } from "../../../local/sinks/console.js";
import type { Notification } from "../../../shared/alerts/types.js";
import { escapeChatMarkup, showControlCharacters } from "../../../shared/sinks/escape.js";
import { formatNotificationText } from "../../../shared/sinks/format.js";
import { webhookBody } from "../../../shared/sinks/webhook.js";
import { notification } from "./fixtures.js";

const ESC = "\u001b";
const BEL = "\u0007";

/** Log content that tries to clear the screen, retitle the terminal and overwrite a line. */
function hostileNotification(): Notification {
  const base = notification();
  const alert = base.alerts[0];
  const sample = alert?.annotations.samples[0];
  if (!alert || !sample) throw new Error("fixture needs an alert with a sample");
  const service = `auth${ESC}[2J${ESC}[H`;
  const entity = `203.0.113.7${ESC}]0;pwned${BEL}`;
  return {
    ...base,
    title: `[FIRING:1] Brute force from IP on ${service} (${entity})`,
    groupKey: `${service}/auth`,
    alerts: [
      {
        ...alert,
        service,
        entity,
        annotations: {
          ...alert.annotations,
          summary: `42 failed logins from ${entity} <!channel>`,
          samples: [
            {
              ...sample,
              service,
              source_ip: entity,
              user: `alice\r${ESC}[2Kroot`,
              message: `ok\n${ESC}[1A${ESC}[2Kfake line <@U024BE7LH> <https://evil.example|click> & more`,
            },
          ],
        },
      },
    ],
  };
}

describe("showControlCharacters", () => {
  it.each([
    ["ESC", `a${ESC}[2Jb`, "a\\x1b[2Jb"],
    ["BEL", `t${BEL}`, "t\\x07"],
    ["CR and LF", "a\r\nb", "a\\r\\nb"],
    ["tab", "a\tb", "a\\tb"],
    ["DEL", "a\u007f", "a\\x7f"],
    ["C1 CSI", "a\u009b2J", "a\\x9b2J"],
    ["bidi override", "a\u202eb", "a\\u202eb"],
    ["plain text and non-ASCII letters", "café ☕ ok", "café ☕ ok"],
  ])("shows %s escaped", (_name, input, expected) => {
    expect(showControlCharacters(input)).toBe(expected);
  });
});

describe("escapeChatMarkup", () => {
  it.each([
    ["a broadcast mention", "<!channel> hi", "&lt;!channel&gt; hi"],
    ["a user mention", "<@U024BE7LH>", "&lt;@U024BE7LH&gt;"],
    ["a disguised link", "<https://evil.example|click>", "&lt;https://evil.example|click&gt;"],
    ["ampersands first, so entities are not double-read", "a & b &lt;", "a &amp; b &amp;lt;"],
  ])("escapes %s", (_name, input, expected) => {
    expect(escapeChatMarkup(input)).toBe(expected);
  });
});

describe("text sinks and log content", () => {
  it("the plain text shows control characters escaped and carries none", () => {
    const text = formatNotificationText(hostileNotification(), { color: false });
    expect(text).not.toContain(ESC);
    expect(text).not.toContain(BEL);
    expect(text).not.toContain("\r");
    expect(text).toContain("auth\\x1b[2J\\x1b[H");
    expect(text).toContain("\\x1b]0;pwned\\x07");
    // The sample message's own newline does not start a fake line of output.
    expect(text.split("\n").some((line) => line.startsWith(`${ESC}[1A`) || line.startsWith("\\x1b[1A"))).toBe(
      false,
    );
  });

  it("the console sink writes no control bytes from log content, even in colour", async () => {
    const stream = Object.assign(new PassThrough(), { isTTY: true });
    let text = "";
    stream.on("data", (c: Buffer) => {
      text += c.toString("utf8");
    });
    await new ConsoleSink(stream, { color: true, env: {} }).send(hostileNotification());
    // Only our own colour codes (ESC [ digits m) may remain.
    const foreign = text.replace(new RegExp(`${ESC}\\[[0-9;]*m`, "g"), "");
    expect(foreign).not.toContain(ESC);
    expect(foreign).not.toContain(BEL);
    expect(text).toContain("\\x1b[2J");
  });

  it("the webhook text escapes mentions, links and control characters", () => {
    const body = webhookBody(hostileNotification());
    expect(body.text).not.toContain("<!channel>");
    expect(body.text).not.toContain("<@U024BE7LH>");
    expect(body.text).not.toContain("<https://evil.example|click>");
    expect(body.text).toContain("&lt;!channel&gt;");
    expect(body.text).toContain("&amp; more");
    expect(body.text).not.toContain(ESC);
  });
});
