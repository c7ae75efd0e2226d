/*
 * Text from log lines (service names, IPs, users, messages) reaches terminals, chat and email.
 * These helpers keep it inert there: control characters are shown as escapes instead of acting on
 * the reader's terminal, and chat markup is escaped so it cannot mention, link or format.
 * Small and pure so every text sink (console, SNS email, Slack, other webhooks) can use them.
 */

const NAMED_ESCAPES: Readonly<Record<string, string>> = {
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
};

/**
 * C0 controls, DEL, C1 controls (0x9b is a one-byte CSI on some terminals), the line and paragraph
 * separators, and the bidirectional overrides and isolates that can make text read differently
 * from what it is.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** `a\u001b[2J` becomes `a\x1b[2J`: the same text, visible and harmless. */
export function showControlCharacters(text: string): string {
  CONTROL.lastIndex = 0;
  if (!CONTROL.test(text)) return text;
  return text.replace(CONTROL, (ch) => {
    const named = NAMED_ESCAPES[ch];
    if (named !== undefined) return named;
    const code = ch.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16)}`;
  });
}

/**
 * Slack's escaping for message text (also what Mattermost and most Slack-compatible receivers read):
 * `&`, `<` and `>` become entities, so `<!channel>`, `<@U123>` and `<https://x|label>` arrive as
 * plain text rather than a broadcast, a mention or a disguised link.
 */
export function escapeChatMarkup(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
