import { describe, expect, it } from "vitest";
import { formatDuration, formatNotificationText, notificationSubject } from "../../../shared/sinks/format.js";
import { notification } from "./fixtures.js";

describe("formatNotificationText", () => {
  const text = formatNotificationText(notification(), { color: false });

  it.each([
    ["status and severity first", /^FIRING CRITICAL \[FIRING:1\] Brute force/],
    ["observed vs threshold over the window", /observed 42 failures vs threshold 10 failures over 1m/],
    ["the runbook hint", /runbook: Block the IP at the edge\./],
    [
      "the sample line with who and status",
      /> 2026-03-01T11:59:59.000Z WARN auth_failure 401 203.0.113.7 alice invalid password x+\.\.\./,
    ],
    [
      "the group, reason and id",
      /group auth-service\/auth \| new \| at 2026-03-01T12:00:00.000Z \| id auth-service\/auth@/,
    ],
  ])("shows %s", (_what, pattern) => {
    expect(text).toMatch(pattern);
  });

  it("trims long sample messages", () => {
    const sampleLine = text.split("\n").find((l) => l.includes("invalid password")) ?? "";
    expect(sampleLine.length).toBeLessThan(220);
  });

  it("has no ANSI codes without colour, and has them with", () => {
    expect(text).not.toContain("\u001b[");
    expect(formatNotificationText(notification(), { color: true })).toContain("\u001b[31m");
  });

  it("shows the top ML feature contributions with their normal range", () => {
    const base = notification();
    const alert = base.alerts[0];
    if (!alert) throw new Error("fixture needs an alert");
    const ml = notification({
      alerts: [
        {
          ...alert,
          type: "ml_anomaly",
          annotations: {
            ...alert.annotations,
            contributions: [
              {
                feature: "latency_p95",
                contribution: 0.62,
                observed: 840,
                expectedLow: 20,
                expectedHigh: 95,
              },
            ],
          },
        },
      ],
    });
    expect(formatNotificationText(ml, { color: false })).toMatch(
      /drivers: latency_p95 62% \(840, normal 20\.\.95\)/,
    );
  });
});

describe("notificationSubject", () => {
  it("is short, prefixed by status and severity", () => {
    expect(notificationSubject(notification())).toBe(
      "[FIRING][critical] Brute force from IP on auth-service (203.0.113.7)",
    );
  });

  it("caps at 100 characters and strips control characters", () => {
    const subject = notificationSubject(
      notification({ title: `[FIRING:9] ${"very-long-service\n".repeat(20)}` }),
    );
    expect(subject.length).toBe(100);
    expect(subject.endsWith("...")).toBe(true);
    expect(subject).not.toMatch(/\n/);
  });
});

describe("formatDuration", () => {
  it.each([
    [3_600_000, "1h"],
    [90_000, "90s"],
    [120_000, "2m"],
    [1500, "1500ms"],
    [0, "an instant"],
  ])("%i ms -> %s", (ms, expected) => {
    expect(formatDuration(ms)).toBe(expected);
  });
});
