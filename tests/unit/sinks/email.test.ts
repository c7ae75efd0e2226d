import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildPublishInput, emailContextFromTopic } from "../../../functions/aws/sns.js";
import { emailContextFromEnv } from "../../../functions/processor/email-env.js";
import { DEFAULT_CONFIG } from "../../../shared/config/defaults.js";
import { emailBody, logsInsightsUrl } from "../../../shared/sinks/email.js";
import { EXAMPLE_CONTEXT, exampleNotification } from "./email-example.js";

const DOCS = new URL("../../../docs/alerting.md", import.meta.url);
const TOPIC = "arn:aws:sns:eu-west-1:123456789012:cloud-observability-alerts";

function documented(): string {
  const text = readFileSync(DOCS, "utf8");
  const match = /<!-- email-example:start -->\s*```text\n([\s\S]*?)\n```\s*<!-- email-example:end -->/.exec(
    text,
  );
  if (match === null) throw new Error("docs/alerting.md has no email example between the markers");
  return match[1] as string;
}

describe("alert email for on-call", () => {
  const body = emailBody(exampleNotification(), EXAMPLE_CONTEXT);

  it("is exactly the example in docs/alerting.md", () => {
    expect(documented()).toBe(body);
  });

  it("says what fired, where, since when and the value against the threshold first", () => {
    const [what, where, since, value] = body.split("\n");
    expect(what).toBe("FIRING critical: brute_force_ip on auth-service 203.0.113.7");
    expect(where).toContain(
      "service auth-service (203.0.113.7), account 123456789012, region eu-west-1, environment prod",
    );
    expect(since).toContain("2026-03-02T03:14:05.000Z (10s before this message)");
    expect(value).toContain("observed 12 failures vs threshold 8 failures over 1m");
  });

  it("then says what remediation does, how to silence it, where the logs are, and the runbook; no JSON", () => {
    expect(body).toContain("Remediation: block_ip on 203.0.113.7 runs automatically now");
    expect(body).toContain(
      'Silence:     npm run silence -- add --matcher service=auth-service --matcher type=brute_force_ip --matcher entity=203.0.113.7 --for 2h --reason "..." --table cloud-observability-history --region eu-west-1',
    );
    const logs = /Logs: +(\S+)/.exec(body)?.[1] ?? "";
    expect(new URL(logs).hostname).toBe("eu-west-1.console.aws.amazon.com");
    expect(logs).toContain("logs-insights");
    expect(logs).toContain("*2fcloud-observability*2fservices");
    expect(body).toContain("Runbook:     Confirm the failures");
    expect(body).not.toMatch(/[{}]/);
    expect(body.split("\n").length).toBeLessThan(25);
  });

  it("says dry run, kill switch or notify-only when nothing will act", () => {
    const n = exampleNotification();
    const off = { ...EXAMPLE_CONTEXT, remediation: { ...EXAMPLE_CONTEXT.remediation, dry_run: true } };
    expect(emailBody(n, off)).toContain("Dry run: block_ip on 203.0.113.7 will be recorded, not executed");
    const kill = { ...EXAMPLE_CONTEXT, remediation: { ...EXAMPLE_CONTEXT.remediation, kill_switch: true } };
    expect(emailBody(n, kill)).toContain("the kill switch is on");
    expect(emailBody(n, { ...EXAMPLE_CONTEXT, remediationEnabled: false })).toContain(
      "remediation is not deployed",
    );
  });

  it("is what SNS sends to email subscribers, with a subject of at most 100 characters", () => {
    const input = buildPublishInput(TOPIC, exampleNotification(), EXAMPLE_CONTEXT);
    const bodies = JSON.parse(input.Message ?? "") as Record<string, string>;
    expect(bodies.email).toBe(body);
    expect(input.Subject?.length).toBeLessThanOrEqual(100);
    const defaults = emailContextFromTopic(TOPIC);
    expect(defaults).toMatchObject({ accountId: "123456789012", region: "eu-west-1" });
  });

  it("links Logs Insights over the given window in the console's encoding", () => {
    const url = logsInsightsUrl("us-east-1", "/a", 'fields @timestamp\n| filter service = "x"', 0, 60_000);
    expect(url).toContain("~start~'1970-01-01T00*3a00*3a00.000Z");
    expect(url).toContain("~editorString~'fields*20*40timestamp*0a*7c*20filter*20service*20*3d*20*22x*22");
    expect(url.toLowerCase()).toContain("~source~(~'*2fa))");
  });

  it("takes the environment and the remediation mode from the processor's environment", () => {
    const ctx = emailContextFromEnv(
      {
        ENVIRONMENT_NAME: "prod",
        LOG_GROUP_NAME: "/app",
        HISTORY_TABLE_NAME: "h",
        REMEDIATION_ENABLED: "true",
        REMEDIATION_DRY_RUN: "true",
      },
      TOPIC,
      DEFAULT_CONFIG,
    );
    expect(ctx).toMatchObject({
      accountId: "123456789012",
      region: "eu-west-1",
      environment: "prod",
      logGroup: "/app",
      historyTable: "h",
      remediationEnabled: true,
      remediation: { dry_run: true },
    });
  });
});
