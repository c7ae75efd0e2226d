/**
 * `npm run dashboard` in process: the page's API over a real SQLite history that a real pipeline's
 * muted alerts and a real audit trail were written into; silences made on the page land in the store.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HistoryDashboard, startHistoryDashboard } from "../../local/dashboard/history.js";
import { dashboardMain } from "../../local/dashboard/history-command.js";
import type { IncidentView } from "../../local/dashboard/state.js";
import { SqliteHistoryStore } from "../../local/history/sqlite-store.js";
import type { DetectorFinding } from "../../shared/alerts/types.js";
import { DEFAULT_CONFIG } from "../../shared/config/defaults.js";
import { HistoryEventBuilder } from "../../shared/history/from-audit.js";
import { Pipeline } from "../../shared/pipeline.js";
import { AuditTrail } from "../../shared/remediation/audit.js";

const TOKEN = "0123456789abcdef0123";
const T0 = Date.parse("2026-03-01T12:00:00Z");
const NOW = T0 + 3600_000;

function finding(type: DetectorFinding["type"], atMs: number): DetectorFinding {
  return {
    status: "firing",
    type,
    service: "payment-service",
    entity: "",
    severity: "warning",
    summary: `${type} on payment-service`,
    observed: 97,
    threshold: 85,
    unit: "%",
    windowMs: 60_000,
    atMs,
    sinceMs: atMs - 30_000,
    samples: [],
    details: {},
  };
}

describe("npm run dashboard (over the alert history)", () => {
  const dir = mkdtempSync(join(tmpdir(), "dash-history-"));
  const store = new SqliteHistoryStore(join(dir, "history.sqlite"));
  let dashboard: HistoryDashboard;
  let cpuIncident = "";
  let mlIncident = "";

  beforeAll(async () => {
    // A real pipeline: high_cpu fires and inhibits the same service's ml_anomaly (the default rule).
    const pending: DetectorFinding[] = [finding("high_cpu", T0), finding("ml_anomaly", T0)];
    const pipeline = new Pipeline({
      config: DEFAULT_CONFIG,
      detectors: [
        {
          name: "fake",
          observe: () => [],
          advance: () => pending.splice(0),
          snapshot: () => ({}),
          restore: () => {},
        },
      ],
    });
    const audit = new AuditTrail();
    const builder = new HistoryEventBuilder();
    for (let t = 0; t <= 90; t++) {
      pipeline.advance(T0 + t * 1000);
      for (const f of pipeline.takeFindings()) audit.detection(f);
      const events = [...builder.fromAudit(audit.drain()), ...builder.fromMuted(pipeline.takeMuted())];
      if (events.length > 0) await store.append(events);
    }
    const firing = pipeline.firingAlerts();
    cpuIncident = `${firing.find((a) => a.type === "high_cpu")?.fingerprint}:${T0}`;
    mlIncident = `${firing.find((a) => a.type === "ml_anomaly")?.fingerprint}:${T0}`;
    dashboard = await startHistoryDashboard({
      store,
      host: "127.0.0.1",
      port: 0,
      token: TOKEN,
      now: () => NOW,
    });
  });
  afterAll(async () => {
    await dashboard?.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("lists the firing incidents and charts alerts per type per hour", async () => {
    const summary = await (await fetch(`${dashboard.url}api/summary`)).json();
    expect(summary.firing.map((f: { type: string }) => f.type).sort()).toEqual(["high_cpu", "ml_anomaly"]);
    expect(summary.incidents.map((i: { id: string }) => i.id).sort()).toEqual(
      [cpuIncident, mlIncident].sort(),
    );
    expect(summary.mode).toBe("history");
    // Hourly points from the hour before the first incident to the current hour; both at T0's hour.
    const points = ((await (await fetch(`${dashboard.url}api/summary`)).json()) as { latestPoint: unknown })
      .latestPoint;
    expect(points).toMatchObject({ spanMs: 3600_000 });
    expect(summary.incidents).toHaveLength(2);
  });

  it("shows the inhibition on the inhibited incident's timeline, naming the incident that inhibits it", async () => {
    const response = await fetch(`${dashboard.url}api/incidents/${encodeURIComponent(mlIncident)}`);
    expect(response.status).toBe(200);
    const incident = (await response.json()) as IncidentView;
    expect(incident.timeline.map((e) => e.kind)).toEqual(["fired", "inhibited"]);
    expect(incident.timeline[1]?.text).toContain(cpuIncident);
    expect(incident.timeline[1]?.text).toContain("high_cpu on payment-service");
  });

  it("writes a silence made on the page into the history (token required) and shows it", async () => {
    const body = JSON.stringify({
      matchers: { service: "payment-service" },
      durationMinutes: 30,
      reason: "maintenance",
    });
    const refused = await fetch(`${dashboard.url}api/silences`, { method: "POST", body });
    expect(refused.status).toBe(401);
    expect(await store.listSilences()).toEqual([]);
    const made = await fetch(`${dashboard.url}api/silences`, {
      method: "POST",
      body,
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    });
    expect(made.status).toBe(201);
    const stored = await store.listSilences();
    expect(stored).toMatchObject([
      { matchers: { service: "payment-service" }, startsAtMs: NOW, endsAtMs: NOW + 30 * 60_000 },
    ]);
    const summary = await (await fetch(`${dashboard.url}api/summary`)).json();
    expect(summary.silences.map((s: { id: string }) => s.id)).toEqual([stored[0]?.id]);
  });

  it("refuses bad flags with exit code 2 and prints its help", async () => {
    const out: string[] = [];
    const io = {
      stdout: { write: (t: string) => out.push(t) },
      stderr: { write: (t: string) => out.push(t) },
      env: {},
    };
    expect((await dashboardMain(["--port", "x"], io)).code).toBe(2);
    expect((await dashboardMain(["--nope"], io)).code).toBe(2);
    expect((await dashboardMain(["--help"], io)).code).toBe(0);
    expect(out.join("")).toContain("--history FILE");
  });
});
