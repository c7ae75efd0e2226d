import type { Alert, Notification } from "../alerts/types.js";
import { silenceCommand } from "../history/cli-input.js";
import { alertAnnotations, rfc3339 } from "./alertmanager.js";
import { notificationSubject } from "./format.js";

/** Slack's limits for a message: blocks per message, characters per section and per header. */
export const SLACK_MAX_BLOCKS = 50;
export const SLACK_MAX_SECTION_CHARS = 3000;
export const SLACK_MAX_HEADER_CHARS = 150;
/** The notification fallback `text` (shown in push notifications) is kept short. */
const SLACK_MAX_FALLBACK_CHARS = 3000;

type TextObject = { type: "mrkdwn" | "plain_text"; text: string };
export type SlackBlock =
  | { type: "header"; text: { type: "plain_text"; text: string } }
  | { type: "section"; text: TextObject }
  | { type: "context"; elements: TextObject[] }
  | { type: "divider" };

export interface SlackMessage {
  text: string;
  blocks: SlackBlock[];
}

/**
 * Slack treats `<`, `>` and `&` as control characters (links, mentions such as `<!channel>`):
 * text we did not write (service names, log messages) has them escaped, so it shows as typed.
 */
export function escapeSlackText(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  // Do not cut an escape sequence in half.
  let cut = text.slice(0, max - 1);
  const amp = cut.lastIndexOf("&");
  if (amp >= 0 && amp > cut.length - 6 && !cut.slice(amp).includes(";")) cut = cut.slice(0, amp);
  return `${cut}…`;
}

function alertSection(alert: Alert): SlackBlock {
  const a = alertAnnotations(alert);
  const who = alert.entity === "" ? alert.service : `${alert.service} ${alert.entity}`;
  const since =
    alert.status === "firing"
      ? `firing since ${rfc3339(alert.startsAtMs)}`
      : `resolved at ${rfc3339(alert.endsAtMs ?? alert.startsAtMs)} (fired ${rfc3339(alert.startsAtMs)})`;
  const lines = [
    `*${escapeSlackText(alert.type)}* on *${escapeSlackText(who)}*: ${since}`,
    escapeSlackText(a.summary ?? ""),
    escapeSlackText(a.description ?? ""),
    `Runbook: ${escapeSlackText(a.runbook ?? "")}`,
  ];
  if (alert.status === "firing") lines.push(`Silence: \`${escapeSlackText(silenceCommand(alert))}\``);
  return { type: "section", text: { type: "mrkdwn", text: clip(lines.join("\n"), SLACK_MAX_SECTION_CHARS) } };
}

/**
 * A notification as a Slack incoming-webhook message in Block Kit: a header (firing or resolved,
 * severity, title), one section per alert (what, where, since when, value against threshold,
 * runbook, the silence command), and a context line. Within Slack's limits: at most 50 blocks (the
 * alerts that do not fit are counted in a last section), 3,000 characters per section, 150 per header.
 */
export function slackMessage(n: Notification): SlackMessage {
  const subject = notificationSubject(n);
  const header = `${n.status === "resolved" ? "✅" : n.severity === "critical" ? "🔴" : "🟠"} ${subject}`;
  const blocks: SlackBlock[] = [
    { type: "header", text: { type: "plain_text", text: clip(header, SLACK_MAX_HEADER_CHARS) } },
    {
      type: "context",
      elements: [
        {
          type: "mrkdwn",
          text: clip(
            escapeSlackText(`${n.status} · ${n.reason} · group ${n.groupKey} · ${rfc3339(n.atMs)}`),
            SLACK_MAX_SECTION_CHARS,
          ),
        },
      ],
    },
  ];
  const room = SLACK_MAX_BLOCKS - blocks.length;
  const fits = n.alerts.length <= room ? n.alerts.length : room - 1;
  for (const alert of n.alerts.slice(0, fits)) blocks.push(alertSection(alert));
  if (fits < n.alerts.length) {
    blocks.push({
      type: "section",
      text: {
        type: "mrkdwn",
        text: `…and ${n.alerts.length - fits} more alerts in this group (npm run history -- list).`,
      },
    });
  }
  return { text: clip(escapeSlackText(subject), SLACK_MAX_FALLBACK_CHARS), blocks };
}
