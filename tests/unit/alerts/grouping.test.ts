import { describe, expect, it } from "vitest";
import { type GroupView, groupDecision, groupKeyOf } from "../../../shared/alerts/grouping.js";
import { ALERTING, s, T0 } from "./fixtures.js";

const fresh: GroupView = {
  openedAtMs: T0,
  lastNotifiedAtMs: null,
  visibleFiring: 1,
  silencedFiring: 0,
  newSinceNotified: 1,
  resolvedSinceNotified: 0,
  resolvedUnnotified: 0,
};
const notified: GroupView = { ...fresh, lastNotifiedAtMs: s(10), newSinceNotified: 0 };

describe("groupDecision", () => {
  it.each<[string, GroupView, number, { send: boolean; reason: string }]>([
    ["new group inside group_wait", fresh, s(9.999), { send: false, reason: "group_wait" }],
    ["new group at group_wait", fresh, s(10), { send: true, reason: "new" }],
    [
      "new group, all silenced",
      { ...fresh, visibleFiring: 0, silencedFiring: 1 },
      s(20),
      { send: false, reason: "silenced" },
    ],
    [
      "fired and resolved before the first notification",
      { ...fresh, visibleFiring: 0, newSinceNotified: 0, resolvedUnnotified: 1 },
      s(20),
      { send: false, reason: "resolved_before_notify" },
    ],
    ["unchanged, inside repeat_interval", notified, s(3609), { send: false, reason: "repeat_interval" }],
    ["unchanged, repeat_interval reached", notified, s(3610), { send: true, reason: "repeat" }],
    [
      "new alert inside group_interval",
      { ...notified, visibleFiring: 2, newSinceNotified: 1 },
      s(69),
      { send: false, reason: "group_interval" },
    ],
    [
      "new alert at group_interval",
      { ...notified, visibleFiring: 2, newSinceNotified: 1 },
      s(70),
      { send: true, reason: "group_update" },
    ],
    [
      "one of two resolved at group_interval",
      { ...notified, visibleFiring: 1, resolvedSinceNotified: 1 },
      s(70),
      { send: true, reason: "group_update" },
    ],
    [
      "all resolved, inside group_interval",
      { ...notified, visibleFiring: 0, resolvedSinceNotified: 1 },
      s(30),
      { send: false, reason: "group_interval" },
    ],
    [
      "all resolved at group_interval",
      { ...notified, visibleFiring: 0, resolvedSinceNotified: 1 },
      s(70),
      { send: true, reason: "resolved" },
    ],
    [
      "notified group later fully silenced",
      { ...notified, visibleFiring: 0, silencedFiring: 1 },
      s(5000),
      { send: false, reason: "silenced" },
    ],
  ])("%s", (_name, view, nowMs, expected) => {
    expect(groupDecision(view, nowMs, ALERTING)).toEqual(expected);
  });

  it("hands out one shared object per decision rather than a new one every second", () => {
    const view = { ...notified, visibleFiring: 1 };
    expect(groupDecision(view, s(30), ALERTING)).toBe(groupDecision(view, s(20), ALERTING));
  });
});

describe("groupKeyOf", () => {
  it.each([
    ["brute_force_ip", "brute_force_user", true],
    ["high_cpu", "high_memory", true],
    ["high_cpu", "high_error_rate", false],
    ["ml_anomaly", "high_cpu", false],
  ] as const)("%s and %s share a group: %s", (a, b, same) => {
    expect(groupKeyOf(a, "auth-service") === groupKeyOf(b, "auth-service")).toBe(same);
  });

  it("keeps services apart", () => {
    expect(groupKeyOf("high_cpu", "a")).not.toBe(groupKeyOf("high_cpu", "b"));
  });
});
