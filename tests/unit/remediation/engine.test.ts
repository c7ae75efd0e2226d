import { describe, expect, it } from "vitest";
import type { Alert } from "../../../shared/alerts/types.js";
import type { RemediationConfig } from "../../../shared/config/types.js";
import { StateError } from "../../../shared/errors.js";
import { RemediationEngine } from "../../../shared/remediation/engine.js";
import type { RemediationDecision } from "../../../shared/remediation/types.js";
import { alert, notification, REMEDIATION, s } from "./fixtures.js";

/** "act scale_out payment-service" or "skip cooldown" per decision, for compact table expectations. */
function brief(decisions: RemediationDecision[]): string[] {
  return decisions.map((d) =>
    d.kind === "act" ? `act ${d.action.type} ${d.action.target}` : `skip ${d.reason}`,
  );
}

/** Feeds notifications (alerts at a time in seconds) and returns every decision in order. */
function decideAll(config: RemediationConfig, steps: [number, Alert[]][]): string[] {
  const engine = new RemediationEngine(config);
  return steps.flatMap(([atS, alerts]) => brief(engine.decide(notification(s(atS), alerts), s(atS))));
}

const cpu = (service = "payment-service", startS = 0) => alert("high_cpu", service, "", s(startS));

describe("RemediationEngine.decide guardrails", () => {
  it.each<[string, RemediationConfig, [number, Alert[]][], string[]]>([
    ["acts on a firing alert with a policy", REMEDIATION, [[10, [cpu()]]], ["act scale_out payment-service"]],
    [
      "skips a type with no policy",
      REMEDIATION,
      [[10, [alert("ml_anomaly", "payment-service")]]],
      ["skip no_policy"],
    ],
    [
      "kill switch stops everything",
      { ...REMEDIATION, kill_switch: true },
      [[10, [cpu()]]],
      ["skip kill_switch"],
    ],
    [
      "the same notification twice acts once (idempotency)",
      REMEDIATION,
      [
        [10, [cpu()]],
        [10, [cpu()]],
        [3610, [cpu()]],
      ],
      ["act scale_out payment-service", "skip duplicate", "skip duplicate"],
    ],
    [
      "a new episode of the same alert inside the cooldown is held back",
      REMEDIATION,
      [
        [10, [cpu()]],
        [200, [cpu("payment-service", 190)]],
      ],
      ["act scale_out payment-service", "skip cooldown"],
    ],
    [
      "cooldown is per target and ends after cooldown_s",
      REMEDIATION,
      [
        [10, [cpu()]],
        [20, [cpu("order-service")]],
        [309, [alert("high_memory", "payment-service", "", s(300))]],
        [310, [alert("high_memory", "payment-service", "", s(300))]],
      ],
      [
        "act scale_out payment-service",
        "act scale_out order-service",
        "skip cooldown",
        "act restart_service payment-service",
      ],
    ],
    [
      "the circuit opens at max_actions within the window and closes as it slides",
      REMEDIATION,
      [
        [0, [cpu("a")]],
        [100, [cpu("b")]],
        [200, [cpu("c")]],
        [300, [cpu("d")]],
        [599, [cpu("e")]],
        [600, [cpu("f")]],
      ],
      [
        "act scale_out a",
        "act scale_out b",
        "act scale_out c",
        "skip circuit_open",
        "skip circuit_open",
        // The action at t=0 left the 600 s window: one slot free again.
        "act scale_out f",
      ],
    ],
    [
      "kill switch is checked before idempotency",
      { ...REMEDIATION, kill_switch: true },
      [
        [10, [cpu()]],
        [10, [cpu()]],
      ],
      ["skip kill_switch", "skip kill_switch"],
    ],
    [
      "a resolved alert in a firing notification is not acted on",
      REMEDIATION,
      [[70, [cpu(), alert("high_memory", "payment-service", "", s(0), "resolved")]]],
      ["act scale_out payment-service", "skip alert_resolved"],
    ],
    [
      "a ban policy on an alert without an entity is refused by name",
      { ...REMEDIATION, actions: { high_cpu: "block_ip" } },
      [[10, [cpu()]]],
      ["skip no_policy"],
    ],
  ])("%s", (_name, config, steps, expected) => {
    expect(decideAll(config, steps)).toEqual(expected);
  });

  it("does nothing for a resolved notification", () => {
    const engine = new RemediationEngine(REMEDIATION);
    expect(
      engine.decide(notification(s(10), [alert("high_cpu", "p", "", s(0), "resolved")], "resolved"), s(10)),
    ).toEqual([]);
  });

  it("builds bans with an expiry and targets the entity; ids are fingerprint plus start", () => {
    const engine = new RemediationEngine(REMEDIATION);
    const ip = alert("brute_force_ip", "auth-service", "203.0.113.7", s(5));
    const user = alert("brute_force_user", "auth-service", "alice", s(6));
    const [block, lock] = engine.decide(notification(s(15), [ip, user]), s(15));
    expect(block).toEqual({
      kind: "act",
      action: {
        id: `${ip.fingerprint}:${s(5)}`,
        type: "block_ip",
        alertType: "brute_force_ip",
        alertFingerprint: ip.fingerprint,
        service: "auth-service",
        target: "203.0.113.7",
        reason: "brute_force_ip: brute_force_ip on auth-service",
        requestedAtMs: s(15),
        expiresAtMs: s(15 + 3600),
        dryRun: false,
      },
    });
    expect(lock).toMatchObject({
      kind: "act",
      action: { type: "lock_user", target: "alice", expiresAtMs: s(3615) },
    });
  });

  it("dry run produces actions flagged dryRun that still count against the guardrails", () => {
    const engine = new RemediationEngine({ ...REMEDIATION, dry_run: true });
    const [first] = engine.decide(notification(s(10), [cpu()]), s(10));
    expect(first).toMatchObject({ kind: "act", action: { dryRun: true } });
    expect(brief(engine.decide(notification(s(20), [cpu("payment-service", 15)]), s(20)))).toEqual([
      "skip cooldown",
    ]);
  });
});

describe("RemediationEngine outcomes", () => {
  const cases: [string, RemediationConfig, "ok" | "error", boolean, number, string[]][] = [
    ["alert resolved by verify time: effective", REMEDIATION, "ok", false, 130, ["effective"]],
    ["still firing at verify time: escalated", REMEDIATION, "ok", true, 130, ["not_effective_escalated"]],
    ["nothing is due before verify_after_s", REMEDIATION, "ok", false, 129, []],
    ["execution failed: escalated without waiting", REMEDIATION, "error", true, 10, ["failed_escalated"]],
    ["dry run: reported as such", { ...REMEDIATION, dry_run: true }, "ok", true, 130, ["dry_run"]],
  ];
  it.each(cases)("%s", (_name, config, status, stillFiring, checkAtS, expected) => {
    const engine = new RemediationEngine(config);
    const [decision] = engine.decide(notification(s(10), [cpu()]), s(10));
    if (decision?.kind !== "act") throw new Error("expected an action");
    engine.recordResult(
      decision.action,
      status === "ok" ? { status, detail: "done" } : { status, error: "boom" },
      s(10),
    );
    const outcomes = engine.dueOutcomes(s(checkAtS), () => stillFiring);
    expect(outcomes.map((o) => o.status)).toEqual(expected);
    for (const o of outcomes)
      expect(o).toMatchObject({ actionId: decision.action.id, checkedAtMs: s(checkAtS) });
    // An outcome is reported once.
    expect(engine.dueOutcomes(s(checkAtS + 1000), () => stillFiring)).toHaveLength(
      expected.length === 0 ? 1 : 0,
    );
  });

  it("lists bans until they expire, and only executed ones", () => {
    const engine = new RemediationEngine(REMEDIATION);
    const decisions = engine.decide(
      notification(s(0), [
        alert("brute_force_ip", "auth", "203.0.113.7"),
        alert("brute_force_user", "auth", "bob"),
      ]),
      s(0),
    );
    const [block, lock] = decisions.map((d) => (d.kind === "act" ? d.action : null));
    if (!block || !lock) throw new Error("expected two actions");
    engine.recordResult(block, { status: "ok", detail: "blocked" }, s(0));
    engine.recordResult(lock, { status: "error", error: "IAM denied" }, s(0));
    expect(engine.activeBans(s(3599)).map((b) => b.target)).toEqual(["203.0.113.7"]);
    expect(engine.activeBans(s(3600))).toEqual([]);
  });
});

describe("RemediationEngine snapshot/restore", () => {
  it("keeps idempotency, cooldowns, the breaker and pending checks across a cold start", () => {
    const before = new RemediationEngine(REMEDIATION);
    for (const [atS, service] of [
      [0, "a"],
      [1, "b"],
      [2, "c"],
    ] as const) {
      const [d] = before.decide(notification(s(atS), [cpu(service)]), s(atS));
      if (d?.kind === "act") before.recordResult(d.action, { status: "ok", detail: "" }, s(atS));
    }
    const after = new RemediationEngine(REMEDIATION);
    after.restore(JSON.parse(JSON.stringify(before.snapshot())));
    expect(brief(after.decide(notification(s(5), [cpu("a")]), s(5)))).toEqual(["skip duplicate"]);
    expect(brief(after.decide(notification(s(6), [cpu("a", 5)]), s(6)))).toEqual(["skip cooldown"]);
    expect(brief(after.decide(notification(s(7), [cpu("z")]), s(7)))).toEqual(["skip circuit_open"]);
    expect(after.dueOutcomes(s(200), () => false).map((o) => o.status)).toEqual([
      "effective",
      "effective",
      "effective",
    ]);
  });

  it.each<[string, unknown]>([
    ["undefined", undefined],
    ["a wrong version", { version: 9 }],
    [
      "a non-numeric timestamp",
      { version: 1, acted: { x: "yesterday" }, lastActionAt: {}, recentActions: [], pending: [], bans: [] },
    ],
  ])("refuses %s with StateError", (_name, state) => {
    expect(() => new RemediationEngine(REMEDIATION).restore(state)).toThrow(StateError);
  });
});
