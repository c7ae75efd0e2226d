import { describe, expect, it } from "vitest";
import { parseConfig } from "../../../shared/config/load.js";
import { alertmanagerGroupKey, alertmanagerMessage, ZERO_TIME } from "../../../shared/sinks/alertmanager.js";
import { escapeSlackText, SLACK_MAX_BLOCKS, slackMessage } from "../../../shared/sinks/slack.js";
import { alert, notification } from "../functions/fixtures.js";

const many = (count: number, summary = "x") =>
  notification({
    alerts: Array.from({ length: count }, (_, i) =>
      alert({
        fingerprint: String(i).padStart(16, "0"),
        entity: `203.0.113.${i}`,
        annotations: { ...alert().annotations, summary },
      }),
    ),
  });

describe("Alertmanager payload", () => {
  it("keeps the zero endsAt while firing and counts what max_alerts left out", () => {
    const m = alertmanagerMessage(many(5), { receiver: "r", maxAlerts: 2 });
    expect(m.alerts).toHaveLength(2);
    expect(m.truncatedAlerts).toBe(3);
    expect(m.alerts.every((a) => a.endsAt === ZERO_TIME)).toBe(true);
    expect(m.commonLabels).toMatchObject({ alertname: "brute_force_ip", service: "auth-service" });
    expect(m.commonLabels.entity).toBeUndefined();
  });

  it("writes the group key as Alertmanager does: route, then sorted group labels", () => {
    expect(alertmanagerGroupKey({ service: "api", family: "resources" })).toBe(
      '{}:{family="resources", service="api"}',
    );
  });
});

describe("Slack payload", () => {
  it("stays within 50 blocks and says how many alerts did not fit", () => {
    const m = slackMessage(many(120));
    expect(m.blocks).toHaveLength(SLACK_MAX_BLOCKS);
    expect(JSON.stringify(m.blocks.at(-1))).toContain("73 more alerts");
  });

  it("clips a section to 3,000 characters", () => {
    const m = slackMessage(many(1, "y".repeat(10_000)));
    const sections = m.blocks.filter((b) => b.type === "section") as { text: { text: string } }[];
    expect(sections[0]?.text.text.length).toBe(3000);
  });

  it("escapes Slack control characters so a log line cannot ping the channel", () => {
    expect(escapeSlackText("<!channel> a & b >")).toBe("&lt;!channel&gt; a &amp; b &gt;");
    const m = slackMessage(many(1, "<!channel> wake up"));
    expect(JSON.stringify(m)).not.toContain("<!channel>");
  });
});

describe("sinks config section", () => {
  it("accepts sinks whose URL comes from the environment or a file", () => {
    const result = parseConfig(
      "sinks:\n  - type: slack\n    url_env: SLACK_URL\n  - type: alertmanager\n    name: am\n    url_file: /run/secrets/am\n",
    );
    expect(result).toMatchObject({
      ok: true,
      config: {
        sinks: [
          { type: "slack", name: "slack", url_env: "SLACK_URL" },
          { type: "alertmanager", name: "am" },
        ],
      },
    });
  });

  it("refuses a URL written in the config, an unknown type and a duplicate name", () => {
    const result = parseConfig(
      "sinks:\n  - type: slack\n    url: https://hooks.slack.com/x\n  - type: pager\n    url_env: X\n  - type: webhook\n    url_env: A\n  - type: webhook\n    url_env: B\n",
    );
    expect(result.ok).toBe(false);
    const messages = result.ok ? [] : result.errors.map((e) => e.message).join("\n");
    expect(messages).toContain("sinks[0]");
    expect(messages).toContain("sinks[1].type");
    expect(messages).toContain("used twice");
    expect(messages).not.toContain("hooks.slack.com");
  });
});
