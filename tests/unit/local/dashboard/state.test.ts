import { describe, expect, it } from "vitest";
import { DashboardState, MAX_INCIDENTS, MAX_POINTS } from "../../../../local/dashboard/state.js";
import type { Alert } from "../../../../shared/alerts/types.js";
import { AuditTrail } from "../../../../shared/remediation/audit.js";
import type { AuditRecord } from "../../../../shared/remediation/types.js";
import { finding, s } from "../../alerts/fixtures.js";

function alertOf(fingerprint: string, startsAtMs: number): Alert {
  return {
    fingerprint,
    type: "high_cpu",
    service: "payment-service",
    entity: "",
    status: "firing",
    severity: "warning",
    startsAtMs,
    endsAtMs: null,
    annotations: {
      summary: "CPU high",
      observed: 97,
      threshold: 85,
      unit: "%",
      windowMs: 30_000,
      samples: [],
      details: {},
      runbook: "",
    },
  };
}

describe("DashboardState", () => {
  it("builds an incident's timeline from the audit trail: fired, notified per sink, action, outcome, resolved", () => {
    const audit = new AuditTrail();
    const state = new DashboardState("generated");
    audit.onRecord((r) => state.record(r));
    const fired = finding("high_cpu", "firing", s(0));
    audit.detection(fired);
    const incident = state.summary().incidents[0];
    expect(incident).toMatchObject({ type: "high_cpu", service: "payment-service", status: "firing" });
    const alert = alertOf(incident!.fingerprint, s(0));
    audit.notification(
      {
        id: "g@1",
        groupKey: "payment-service/resources",
        reason: "new",
        status: "firing",
        severity: "warning",
        title: "t",
        alerts: [alert],
        atMs: s(10),
      },
      [
        { sink: "console", result: { status: "ok" }, ms: 1 },
        { sink: "webhook", result: { status: "retryable", error: "HTTP 503" }, ms: 2 },
      ],
    );
    const action = {
      id: incident!.id,
      type: "scale_out" as const,
      alertType: "high_cpu" as const,
      alertFingerprint: incident!.fingerprint,
      service: "payment-service",
      target: "payment-service",
      reason: "cpu",
      requestedAtMs: s(10),
      expiresAtMs: null,
      dryRun: false,
    };
    audit.action(action, { status: "ok", detail: "scaled to 3" });
    audit.outcome({
      actionId: incident!.id,
      actionType: "scale_out",
      alertFingerprint: incident!.fingerprint,
      status: "effective",
      checkedAtMs: s(130),
      detail: "resolved",
    });
    audit.detection(finding("high_cpu", "resolved", s(120)));

    const view = state.incidentById(incident!.id);
    expect(view?.timeline.map((e) => e.kind)).toEqual([
      "first_log",
      "fired",
      "notified",
      "action_started",
      "action_finished",
      "action_outcome",
      "resolved",
    ]);
    const notified = view?.timeline.find((e) => e.kind === "notified");
    expect(notified?.outcome).toBe("failed");
    expect(notified?.sinks).toEqual([
      { sink: "console", status: "ok" },
      { sink: "webhook", status: "retryable", error: "HTTP 503" },
    ]);
    expect(view?.timeline.find((e) => e.kind === "action_outcome")?.outcome).toBe("effective");
    expect(view).toMatchObject({ status: "resolved", endsAtMs: s(120) });
    expect(state.summary().recentNotifications).toEqual([
      expect.objectContaining({
        id: "g@1",
        reason: "new",
        alerts: [{ fingerprint: incident!.fingerprint, status: "firing" }],
      }),
    ]);
  });

  it("marks a firing alert silenced once per silence, with the silence in the firing list", () => {
    const state = new DashboardState("replay");
    const alert = alertOf("abc", s(0));
    const silence = {
      id: "runtime-1",
      matchers: { service: "payment-service" },
      expiresAtMs: s(600),
      reason: "deploy",
    };
    state.observeFiring([alert], [], s(5));
    expect(state.summary().firing[0]?.silencedBy).toBeNull();
    state.observeFiring([alert], [silence], s(6));
    state.observeFiring([alert], [silence], s(7));
    expect(state.summary().firing[0]?.silencedBy).toBe("runtime-1");
    expect(state.incidentById(`abc:${s(0)}`)?.timeline.filter((e) => e.kind === "silenced")).toHaveLength(1);
    // Expired silences neither mute nor show.
    state.observeFiring([alert], [silence], s(600));
    expect(state.summary().firing[0]?.silencedBy).toBeNull();
    expect(state.summary().silences).toEqual([]);
  });

  it("stays bounded: points, incidents and each timeline keep their newest entries", () => {
    const state = new DashboardState("replay");
    for (let i = 0; i < MAX_POINTS + 10; i++) {
      state.addPoint({
        atMs: i,
        spanMs: 1,
        events: i,
        eventsPerSecond: i,
        alertsByType: {} as never,
        services: {},
      });
    }
    const { points, lastSeq } = state.pointsSince(0);
    expect(points).toHaveLength(MAX_POINTS);
    expect(points[0]?.events).toBe(10);
    expect(state.pointsSince(lastSeq - 2).points.map((p) => p.events)).toEqual([
      MAX_POINTS + 8,
      MAX_POINTS + 9,
    ]);

    const record = (incident: string, atMs: number): AuditRecord => ({
      incident,
      stage: "skip",
      atMs,
      data: { reason: "cooldown", detail: "" },
    });
    for (let i = 0; i < MAX_INCIDENTS + 5; i++) state.record(record(`fp${i}:${i}`, i));
    expect(state.summary().incidents).toHaveLength(MAX_INCIDENTS);
    for (let i = 0; i < 500; i++) state.record(record("busy:1", i));
    expect(state.incidentById("busy:1")?.timeline.length).toBeLessThanOrEqual(100);
    expect(state.incidentById("busy:1")?.timeline.at(-1)?.atMs).toBe(499);
  });
});
