import { describe, expect, it } from "vitest";
import { buildPublishInput, emailSubject, parseAlertMessage } from "../../../functions/aws/sns.js";
import { alert, notification } from "./fixtures.js";

const TOPIC = "arn:aws:sns:us-east-1:123456789012:alerts";

describe("buildPublishInput", () => {
  it("carries the filterable attributes, a short subject, and per-protocol bodies", () => {
    const input = buildPublishInput(TOPIC, notification());
    expect(input.TopicArn).toBe(TOPIC);
    expect(input.MessageStructure).toBe("json");
    expect(input.Subject?.length).toBeGreaterThan(0);
    expect(input.Subject?.length).toBeLessThanOrEqual(100);
    expect(input.MessageAttributes).toMatchObject({
      severity: { DataType: "String", StringValue: "critical" },
      alert_type: { DataType: "String", StringValue: "brute_force_ip" },
      service: { DataType: "String", StringValue: "auth-service" },
      fingerprint: { DataType: "String", StringValue: "fp-brute-1" },
      status: { DataType: "String", StringValue: "firing" },
    });
    const bodies = JSON.parse(input.Message ?? "") as Record<string, string>;
    // Machine subscribers get exactly the alert JSON; email gets text to act on, without the JSON.
    expect(parseAlertMessage(bodies.default ?? "")?.notification).toEqual(notification());
    expect(bodies.email).toContain("203.0.113.7");
    expect(bodies.email).toContain("incidents fp-brute-1:");
    expect(bodies.email).not.toContain('"fingerprint"');
    expect(bodies["email-json"]).toBe(bodies.default);
  });

  it("lists several distinct values as a String.Array, which filter policies match element-wise", () => {
    const n = notification({
      alerts: [alert(), alert({ fingerprint: "fp-2", type: "brute_force_user", entity: "alice" })],
    });
    const attributes = buildPublishInput(TOPIC, n).MessageAttributes ?? {};
    expect(attributes.alert_type).toEqual({
      DataType: "String.Array",
      StringValue: JSON.stringify(["brute_force_ip", "brute_force_user"]),
    });
    expect(attributes.service).toEqual({ DataType: "String", StringValue: "auth-service" });
  });

  it("drops log samples rather than exceed the SNS size limit", () => {
    const sample = {
      timestamp: "2026-01-05T10:00:00Z",
      service: "auth-service",
      level: "WARN" as const,
      event_type: "auth_failure" as const,
      message: "x".repeat(20_000),
      metrics: { cpu_pct: 1, memory_pct: 1, latency_ms: 1 },
      status_code: 401,
      source_ip: "203.0.113.7",
      user: "bob",
      request_id: "r",
    };
    const big = alert();
    big.annotations.samples = Array.from({ length: 5 }, () => sample);
    const n = notification({
      alerts: Array.from({ length: 3 }, (_, i) => ({ ...big, fingerprint: `fp-${i}` })),
    });
    const input = buildPublishInput(TOPIC, n);
    expect(Buffer.byteLength(input.Message ?? "")).toBeLessThan(256 * 1024);
    expect(parseAlertMessage(JSON.parse(input.Message ?? "").default)?.notification.alerts).toHaveLength(3);
  });
});

describe("emailSubject", () => {
  it.each([
    ["short stays", "CRITICAL brute force", "CRITICAL brute force"],
    ["control characters become spaces", "a\nb\tc", "a b c"],
    ["empty falls back", "   ", "cloud-observability alert"],
  ])("%s", (_label, input, expected) => {
    expect(emailSubject(input)).toBe(expected);
  });

  it("cuts at 100 characters", () => {
    expect(emailSubject("y".repeat(300))).toHaveLength(100);
  });
});

describe("parseAlertMessage", () => {
  it.each([
    ["not JSON", "hello"],
    ["another producer's JSON", '{"foo":1}'],
    [
      "wrong version",
      JSON.stringify({ kind: "cloud-observability.notification", version: 2, notification: {} }),
    ],
    [
      "notification without alerts",
      JSON.stringify({
        kind: "cloud-observability.notification",
        version: 1,
        notification: { id: "x", atMs: 1 },
      }),
    ],
  ])("returns null for %s", (_label, body) => {
    expect(parseAlertMessage(body)).toBeNull();
  });
});
