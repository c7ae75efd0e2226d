import { describe, expect, it } from "vitest";
import type { BruteForceConfig } from "../../../shared/config/types.js";
import { BruteForceDetector } from "../../../shared/detectors/brute-force.js";
import { NO_FINDINGS } from "../../../shared/detectors/detector.js";
import type { LogEvent } from "../../../shared/log/schema.js";
import { at, brief, makeEvent, run } from "./events.js";

const CONFIG: BruteForceConfig = {
  ip_max_failures: 8,
  user_max_failures: 10,
  user_min_ips: 3,
  find_time_s: 60,
  severity: "critical",
  max_keys: 10_000,
};

function failure(t: number, ip: string | null, user: string | null, service = "auth"): LogEvent {
  return makeEvent({
    t,
    service,
    level: "WARN",
    event_type: "auth_failure",
    message: `login failed for ${user}`,
    status_code: 401,
    source_ip: ip,
    user,
  });
}

/** `count` failures, one every `everyS` seconds from `fromS`, cycling through the given IPs and users. */
function failures(fromS: number, count: number, everyS: number, ips: string[], users: string[]): LogEvent[] {
  return Array.from({ length: count }, (_, i) =>
    failure(fromS + i * everyS, ips[i % ips.length] ?? null, users[i % users.length] ?? null),
  );
}

describe("brute force", () => {
  it.each([
    // [label, count, every s, expected]
    ["7 failures in 14 s stays quiet (one under ip_max_failures)", 7, 2, []],
    ["8 failures in 14 s fires on the 8th", 8, 2, ["firing brute_force_ip auth/203.0.113.9 @14"]],
    ["one failure every 10 s never reaches 8 in 60 s", 30, 10, []],
    [
      "one failure every 8 s reaches 8 in 60 s at the 8th",
      9,
      8,
      ["firing brute_force_ip auth/203.0.113.9 @56"],
    ],
  ])("per IP: %s", (_label, count, every, expected) => {
    const steps = failures(0, count, every, ["203.0.113.9"], ["alice", "bob", "carol"]);
    expect(brief(run(new BruteForceDetector(CONFIG), steps))).toEqual(expected);
  });

  it("names the IP and reports failures, distinct users and the users tried", () => {
    const steps = failures(0, 8, 1, ["203.0.113.9"], ["alice", "bob", "carol", "dave"]);
    const [finding] = run(new BruteForceDetector(CONFIG), steps);
    expect(finding).toMatchObject({
      status: "firing",
      type: "brute_force_ip",
      service: "auth",
      entity: "203.0.113.9",
      severity: "critical",
      observed: 8,
      threshold: 8,
      unit: "failures",
      windowMs: 60_000,
      atMs: at(7),
      sinceMs: at(0),
    });
    expect(finding?.details).toMatchObject({ failures: 8, distinct_users: 4, find_time_s: 60 });
    expect(String(finding?.details.users).split(",").sort()).toEqual(["alice", "bob", "carol", "dave"]);
    expect(String(finding?.details.failures_by_user).split(",").sort()).toEqual([
      "alice:2",
      "bob:2",
      "carol:2",
      "dave:2",
    ]);
    expect(finding?.samples).toHaveLength(5);
    expect(finding?.samples.map((line) => line.timestamp)).toEqual(
      [3, 4, 5, 6, 7].map((step) => new Date(at(step)).toISOString()),
    );
    expect(finding?.summary).toBe("8 auth failures in 60s for IP 203.0.113.9 on auth (4 users)");
  });

  it("keeps no sample lines for a key too far under the limit to fire soon (an IP spray costs less)", () => {
    const detector = new BruteForceDetector(CONFIG);
    run(detector, failures(0, 3, 2, ["203.0.113.9"], ["alice"]));
    const saved = detector.snapshot() as { ips: { samples: unknown[] }[] };
    expect(saved.ips.map((key) => key.samples.length)).toEqual([0]);
  });

  it.each([
    ["3 IPs: credential stuffing fires per user", ["198.51.100.1", "198.51.100.2", "198.51.100.3"], true],
    ["2 IPs: below user_min_ips, no per-user alert", ["198.51.100.1", "198.51.100.2"], false],
  ])("per user: 10 failures against admin from %s", (_label, ips, fires) => {
    const found = run(new BruteForceDetector(CONFIG), failures(0, 10, 2, ips, ["admin"]));
    // Each IP alone stays under 8 failures, so the only possible alert is the per-user one.
    expect(brief(found)).toEqual(fires ? ["firing brute_force_user auth/admin @18"] : []);
    if (fires) {
      expect(found[0]?.details).toMatchObject({ failures: 10, distinct_ips: 3, min_ips: 3 });
      expect(String(found[0]?.details.ips).split(",").sort()).toEqual(ips);
    }
  });

  it("resolves through advance once the window no longer holds enough failures", () => {
    const detector = new BruteForceDetector(CONFIG);
    run(detector, failures(0, 10, 1, ["203.0.113.9"], ["alice"]));
    // Failures at 0..9 s; with 1 s buckets the 3rd falls out of the 60 s window at 62 s.
    expect(detector.advance(at(61))).toBe(NO_FINDINGS);
    const resolved = detector.advance(at(62));
    expect(brief(resolved)).toEqual(["resolved brute_force_ip auth/203.0.113.9 @62"]);
    expect(resolved[0]?.details).toMatchObject({ failures: 7, reason: "window" });
    expect(resolved[0]?.sinceMs).toBe(at(0));
  });

  it("resolves through observe of unrelated failures when nobody calls advance", () => {
    const detector = new BruteForceDetector(CONFIG);
    const found = run(detector, [
      ...failures(0, 8, 1, ["203.0.113.9"], ["alice"]),
      failure(100, "192.0.2.50", "zoe"),
    ]);
    expect(brief(found)).toEqual([
      "firing brute_force_ip auth/203.0.113.9 @7",
      "resolved brute_force_ip auth/203.0.113.9 @100",
    ]);
  });

  it("keeps firing while the attack continues and fires again after a pause", () => {
    const detector = new BruteForceDetector(CONFIG);
    const found = run(detector, [
      ...failures(0, 120, 1, ["203.0.113.9"], ["alice"]),
      // Ticks once a second, as the pipeline gives: the last 8 failures (112..119 s) span to 171 s.
      ...Array.from({ length: 80 }, (_, i) => ({ advanceTo: at(120 + i) })),
      ...failures(300, 8, 1, ["203.0.113.9"], ["alice"]),
    ]);
    expect(brief(found)).toEqual([
      "firing brute_force_ip auth/203.0.113.9 @7",
      "resolved brute_force_ip auth/203.0.113.9 @172",
      "firing brute_force_ip auth/203.0.113.9 @307",
    ]);
  });

  it("counts per service: the same IP on two services is two keys", () => {
    const steps = Array.from({ length: 8 }, (_, i) =>
      failure(i, "203.0.113.9", "alice", i % 2 ? "auth" : "admin"),
    );
    expect(run(new BruteForceDetector(CONFIG), steps)).toEqual([]);
  });

  it("uses the IP rule when the user is missing and the user rule when the IP is missing", () => {
    const noUser = failures(0, 8, 1, ["203.0.113.9"], []);
    expect(brief(run(new BruteForceDetector(CONFIG), noUser))).toEqual([
      "firing brute_force_ip auth/203.0.113.9 @7",
    ]);
    const noIp = failures(0, 12, 1, [], ["admin"]);
    // Without IPs the per-user rule cannot see 3 distinct sources, so it stays quiet.
    expect(run(new BruteForceDetector(CONFIG), noIp)).toEqual([]);
  });

  it("ignores every event that is not an auth failure", () => {
    const detector = new BruteForceDetector(CONFIG);
    for (let i = 0; i < 20; i++) {
      expect(detector.observe(makeEvent({ t: i, event_type: "auth_success", user: "alice" }))).toBe(
        NO_FINDINGS,
      );
    }
    expect((detector.snapshot() as { ips: unknown[] }).ips).toEqual([]);
  });

  it("evicts quiet IPs and users after two windows", () => {
    const detector = new BruteForceDetector(CONFIG);
    run(detector, [failure(0, "192.0.2.1", "alice"), failure(50, "192.0.2.2", "bob")]);
    detector.advance(at(121));
    const state = detector.snapshot() as { ips: { entity: string }[]; users: { entity: string }[] };
    expect(state.ips.map((k) => k.entity)).toEqual(["192.0.2.2"]);
    expect(state.users.map((k) => k.entity)).toEqual(["bob"]);
  });

  it("finds a restored key and counts afresh for a key that came back after its eviction", () => {
    const before = new BruteForceDetector(CONFIG);
    run(before, failures(0, 7, 1, ["203.0.113.9"], ["alice"]));
    const restored = new BruteForceDetector(CONFIG);
    restored.restore(before.snapshot());
    expect(brief(run(restored, [failure(7, "203.0.113.9", "alice")]))).toEqual([
      "firing brute_force_ip auth/203.0.113.9 @7",
    ]);

    const detector = new BruteForceDetector(CONFIG);
    run(detector, [...failures(0, 7, 1, ["192.0.2.1"], ["bob"]), { advanceTo: at(130) }]);
    expect((detector.snapshot() as { ips: unknown[] }).ips).toEqual([]);
    run(detector, failures(131, 7, 1, ["192.0.2.1"], ["bob"]));
    const state = detector.snapshot() as { ips: { entity: string; failures: { totalA: number } }[] };
    expect(state.ips.map((k) => [k.entity, k.failures.totalA])).toEqual([["192.0.2.1", 7]]);
  });

  it("counts two service and IP pairs whose names join to the same key on one key, and evicts it cleanly", () => {
    // "auth\0x" + "10.0.0.1" and "auth" + "x\0" + "10.0.0.1" both make the key "auth\0x\010.0.0.1".
    const steps = Array.from({ length: 8 }, (_, i) =>
      i % 2 === 0 ? failure(i, "10.0.0.1", null, "auth\u0000x") : failure(i, "x\u000010.0.0.1", null, "auth"),
    );
    const detector = new BruteForceDetector(CONFIG);
    expect(brief(run(detector, steps))).toEqual(["firing brute_force_ip auth\u0000x/10.0.0.1 @7"]);
    run(detector, [{ advanceTo: at(200) }]);
    expect((detector.snapshot() as { ips: unknown[] }).ips).toEqual([]);
    expect(
      brief(
        run(
          detector,
          failures(201, 8, 1, ["10.0.0.1"], []).map((e) => ({ ...e, service: "auth\u0000x" })),
        ),
      ),
    ).toEqual(["firing brute_force_ip auth\u0000x/10.0.0.1 @208"]);
  });

  it("caps tracked IPs: newcomers are refused while every IP is active, then take idle ones' places", () => {
    const detector = new BruteForceDetector(CONFIG, { maxKeys: 3 });
    const found = run(detector, [
      ...["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5"].map((ip, i) =>
        failure(i, ip, null),
      ),
      { advanceTo: at(6) },
    ]);
    const ips = () => (detector.snapshot() as { ips: { entity: string }[] }).ips.map((k) => k.entity);
    expect(ips()).toEqual(["192.0.2.1", "192.0.2.2", "192.0.2.3"]);
    const capacity = found.filter((f) => f.type === "pipeline_capacity");
    expect(capacity.at(-1)).toMatchObject({ status: "firing", entity: "brute_force_ip" });
    expect(capacity.at(-1)?.details).toMatchObject({ cap: 3, keys: 5 });
    // A minute later the first IP's failure has left the window: a new IP takes its place.
    run(detector, [failure(61, "192.0.2.9", null)]);
    expect(ips()).toEqual(["192.0.2.2", "192.0.2.3", "192.0.2.9"]);
  });
});
