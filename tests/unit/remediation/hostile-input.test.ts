import { describe, expect, it } from "vitest";
import type { AlertType } from "../../../shared/alerts/types.js";
import { RemediationEngine } from "../../../shared/remediation/engine.js";
import { isIpOrCidr, notificationTimeProblem } from "../../../shared/remediation/validate.js";
import { alert, notification, REMEDIATION, s, T0 } from "./fixtures.js";

describe("alert types are looked up as own properties only", () => {
  it.each(["constructor", "toString", "__proto__", "hasOwnProperty", "valueOf"])(
    "type %s has no policy: a no_policy skip, no action",
    (type) => {
      const engine = new RemediationEngine(REMEDIATION);
      const decisions = engine.decide(
        notification(s(0), [alert(type as AlertType, "api", "203.0.113.7")]),
        s(0),
      );
      expect(decisions).toHaveLength(1);
      expect(decisions[0]).toMatchObject({ kind: "skip", reason: "no_policy" });
    },
  );
});

describe("block_ip targets are IPs or CIDR ranges", () => {
  it.each([
    "203.0.113.7",
    "10.0.0.0/8",
    "0.0.0.0/0",
    "2001:db8::1",
    "2001:db8::/32",
    "::1",
    "::",
    "fe80::1:2:3:4",
    "::ffff:192.0.2.1",
    "2001:0db8:0000:0000:0000:ff00:0042:8329",
  ])("accepts %s", (target) => {
    expect(isIpOrCidr(target)).toBe(true);
    const engine = new RemediationEngine(REMEDIATION);
    const [decision] = engine.decide(notification(s(0), [alert("brute_force_ip", "auth", target)]), s(0));
    expect(decision).toMatchObject({ kind: "act", action: { type: "block_ip", target } });
  });

  it.each([
    "203.0.113.256",
    "203.0.113",
    "203.0.113.7/33",
    "01.2.3.4",
    "2001:db8::1::2",
    "2001:db8::/129",
    "1:2:3:4:5:6:7:8:9",
    "gggg::1",
    "203.0.113.7; rm -rf /",
    "10.0.0.1 10.0.0.2",
    "example.com",
    "*",
    "",
  ])("refuses %j as invalid_target", (target) => {
    expect(isIpOrCidr(target)).toBe(false);
    const engine = new RemediationEngine(REMEDIATION);
    const [decision] = engine.decide(
      notification(s(0), [alert("brute_force_ip", "auth", target === "" ? "x" : target)]),
      s(0),
    );
    if (target !== "") expect(decision).toMatchObject({ kind: "skip", reason: "invalid_target" });
  });
});

describe("notificationTimeProblem", () => {
  const wall = T0;
  it.each([
    ["now", T0, null],
    ["a minute old", T0 - 60_000, null],
    ["four minutes ahead (clock skew)", T0 + 4 * 60_000, null],
    ["dated 2030", Date.parse("2030-01-01T00:00:00Z"), "future"],
    ["at the end of the Date range", 8.64e15, "future"],
    ["past the Date range", 8.64e15 + 1, "future"],
    ["two days old", T0 - 2 * 86_400_000, "old"],
    ["negative infinity", Number.NEGATIVE_INFINITY, "not a finite time"],
    ["NaN", Number.NaN, "not a finite time"],
  ])("%s", (_name, atMs, problem) => {
    const n = notification(atMs, [alert("high_cpu", "api", "", Number.isFinite(atMs) ? atMs - 1000 : T0)]);
    const found = notificationTimeProblem(n, wall, { maxFutureSkewMs: 300_000, maxAgeMs: 86_400_000 });
    if (problem === null) expect(found).toBeNull();
    else expect(found).toContain(problem);
  });

  it("refuses an alert that starts in the future of its own notification", () => {
    const n = notification(T0, [alert("high_cpu", "api", "", Date.parse("2030-01-01T00:00:00Z"))]);
    expect(notificationTimeProblem(n, T0, { maxFutureSkewMs: 300_000, maxAgeMs: 86_400_000 })).toContain(
      "starts",
    );
  });
});
