import { describe, expect, it } from "vitest";
import { fingerprint } from "../../../shared/alerts/fingerprint.js";
import { AlertManager } from "../../../shared/alerts/manager.js";
import { AuditTrail, incidentId } from "../../../shared/remediation/audit.js";
import { RemediationEngine } from "../../../shared/remediation/engine.js";
import { SimulatedExecutor } from "../../../shared/remediation/simulated-executor.js";
import { ALERTING, finding, s } from "../alerts/fixtures.js";
import { REMEDIATION } from "./fixtures.js";

describe("AuditTrail", () => {
  it("records one causal chain per incident, in order, for a whole detect-notify-act-verify loop", async () => {
    const manager = new AlertManager(ALERTING);
    const engine = new RemediationEngine(REMEDIATION);
    const audit = new AuditTrail();
    const logged: string[] = [];
    const executor = new SimulatedExecutor({ log: (line) => logged.push(line) });

    const fire = finding("high_cpu", "firing", s(0));
    manager.ingest(fire);
    audit.detection(fire);
    audit.detection(finding("high_cpu", "firing", s(5))); // still the same episode
    for (const n of manager.flush(s(10))) {
      audit.notification(n, [{ sink: "memory", result: { status: "ok" }, ms: 1 }]);
      for (const d of engine.decide(n, s(10))) {
        if (d.kind === "skip") {
          audit.skip(d, s(10));
          continue;
        }
        const result = await executor.execute(d.action);
        engine.recordResult(d.action, result, s(10));
        audit.action(d.action, result);
      }
    }
    const resolved = finding("high_cpu", "resolved", s(60));
    manager.ingest(resolved);
    audit.detection(resolved);
    for (const o of engine.dueOutcomes(s(130), (fp) => manager.isFiring(fp))) audit.outcome(o);

    const records = audit.drain();
    const incident = incidentId(fingerprint("high_cpu", "payment-service", ""), s(0));
    expect(records.map((r) => `${r.stage}@${(r.atMs - s(0)) / 1000}`)).toEqual([
      "first_log@-2",
      "detection@0",
      "detection@5",
      "alert@10",
      "notification@10",
      "action@10",
      "detection@60",
      "outcome@130",
    ]);
    expect(new Set(records.map((r) => r.incident))).toEqual(new Set([incident]));
    expect(records.find((r) => r.stage === "outcome")?.data).toMatchObject({ status: "effective" });
    expect(records.find((r) => r.stage === "notification")?.data).toMatchObject({
      reason: "new",
      sinks: [{ sink: "memory", status: "ok", ms: 1 }],
    });
    expect(logged).toEqual(["would scale out payment-service by 1 instance (high_cpu)"]);
    expect(audit.drain()).toEqual([]);
  });

  it("joins a skip to its incident by the episode start the engine puts on it, with no detection history", () => {
    const audit = new AuditTrail();
    const engine = new RemediationEngine({ ...REMEDIATION, kill_switch: true });
    const manager = new AlertManager(ALERTING);
    manager.ingest(finding("high_cpu", "firing", s(0)));
    const [n] = manager.flush(s(10));
    if (!n) throw new Error("expected a notification");
    for (const d of engine.decide(n, s(10))) audit.skip(d, s(10));
    const fp = fingerprint("high_cpu", "payment-service", "");
    expect(audit.drain()).toEqual([
      expect.objectContaining({ stage: "skip", incident: incidentId(fp, s(0)) }),
    ]);
  });

  it("joins a skip to the incident of the alert's current episode", () => {
    const audit = new AuditTrail();
    audit.detection(finding("high_cpu", "firing", s(0), { samples: [] }));
    const fp = fingerprint("high_cpu", "payment-service", "");
    audit.skip(
      { kind: "skip", reason: "cooldown", alertFingerprint: fp, alertType: "high_cpu", detail: "x" },
      s(10),
    );
    expect(audit.drain()).toEqual([
      expect.objectContaining({ stage: "detection", incident: incidentId(fp, s(0)) }),
      {
        incident: incidentId(fp, s(0)),
        stage: "skip",
        atMs: s(10),
        data: { reason: "cooldown", detail: "x", alertType: "high_cpu" },
      },
    ]);
  });

  it("writes one alert record per incident even when the group is notified again", () => {
    const manager = new AlertManager(ALERTING);
    const audit = new AuditTrail();
    manager.ingest(finding("high_cpu", "firing", s(0)));
    for (const at of [10, 3610, 7210]) for (const n of manager.flush(s(at))) audit.notification(n, []);
    expect(audit.drain().map((r) => r.stage)).toEqual([
      "alert",
      "notification",
      "notification",
      "notification",
    ]);
  });
});

describe("SimulatedExecutor", () => {
  it("describes bans with their expiry, hands the action to onExecute and reports ok", async () => {
    const lines: string[] = [];
    const seen: string[] = [];
    const executor = new SimulatedExecutor({ log: (l) => lines.push(l), onExecute: (a) => seen.push(a.id) });
    const result = await executor.execute({
      id: "fp:1",
      type: "block_ip",
      alertType: "brute_force_ip",
      alertFingerprint: "fp",
      service: "auth-service",
      target: "203.0.113.7",
      reason: "r",
      requestedAtMs: s(0),
      expiresAtMs: s(3600),
      dryRun: true,
    });
    expect(result.status).toBe("ok");
    expect(lines).toEqual([
      "[dry run] would block 203.0.113.7 on auth-service until 2026-03-01T13:00:00.000Z (brute_force_ip)",
    ]);
    expect(seen).toEqual(["fp:1"]);
  });

  it("turns a throwing onExecute into an error result instead of a crash", async () => {
    const executor = new SimulatedExecutor({
      log: () => {},
      onExecute: () => {
        throw new Error("world is gone");
      },
    });
    const result = await executor.execute({
      id: "fp:1",
      type: "restart_service",
      alertType: "high_memory",
      alertFingerprint: "fp",
      service: "s",
      target: "s",
      reason: "r",
      requestedAtMs: 0,
      expiresAtMs: null,
      dryRun: false,
    });
    expect(result).toEqual({ status: "error", error: "onExecute failed: world is gone" });
  });
});
