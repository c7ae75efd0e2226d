/** The dashboard's HTTP API on loopback, over a real pipeline: reads, the token, silences, the stream. */
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DashboardServer, startDashboardServer } from "../../local/dashboard/server.js";
import { PipelineSilenceControl } from "../../local/dashboard/silence-control.js";
import { DashboardState } from "../../local/dashboard/state.js";
import { DEFAULT_CONFIG } from "../../shared/config/defaults.js";
import { Pipeline } from "../../shared/pipeline.js";

const TOKEN = "0123456789abcdef0123";
const T0 = Date.parse("2026-03-01T12:00:00Z");

describe("dashboard server", () => {
  let server: DashboardServer;
  const pipeline = new Pipeline({ config: DEFAULT_CONFIG });
  const state = new DashboardState("replay");
  let refreshed = 0;

  beforeAll(async () => {
    pipeline.advance(T0);
    server = await startDashboardServer({
      host: "127.0.0.1",
      port: 0,
      token: TOKEN,
      state,
      silences: new PipelineSilenceControl(pipeline),
      refresh: () => {
        refreshed++;
        state.setTotals({ nowMs: pipeline.nowMs, events: 7, rejected: 1, notifications: 2, actions: 0 });
      },
      streamIntervalMs: 100,
    });
  });
  afterAll(async () => server?.close());

  const post = (body: unknown, headers: Record<string, string>) =>
    fetch(`${server.url}api/silences`, { method: "POST", headers, body: JSON.stringify(body) });
  const good = { matchers: { type: "high_cpu", service: "api" }, durationMinutes: 30, reason: "deploy" };

  it("binds where asked and serves the page, its script and uPlot with a restrictive CSP", async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await fetch(server.url);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("default-src 'self'");
    expect(await page.text()).toContain('<script src="/app.js"></script>');
    for (const path of ["app.js", "style.css", "vendor/uPlot.iife.min.js", "vendor/uPlot.min.css"]) {
      expect((await fetch(`${server.url}${path}`)).status, path).toBe(200);
    }
    expect((await fetch(`${server.url}nope`)).status).toBe(404);
    expect(await (await fetch(`${server.url}healthz`)).json()).toEqual({ ok: true });
  });

  it("answers /api/summary with the run's figures, brought up to date first", async () => {
    const before = refreshed;
    const summary = await (await fetch(`${server.url}api/summary`)).json();
    expect(refreshed).toBeGreaterThan(before);
    expect(summary).toMatchObject({
      mode: "replay",
      events: 7,
      notifications: 2,
      firing: [],
      finished: false,
    });
  });

  it("refuses a silence without the right token, as anything but JSON, or with bad matchers", async () => {
    expect((await post(good, { "content-type": "application/json" })).status).toBe(401);
    expect(
      (await post(good, { "content-type": "application/json", authorization: "Bearer wrong-token-00000000" }))
        .status,
    ).toBe(401);
    expect(
      (await post(good, { "content-type": "text/plain", authorization: `Bearer ${TOKEN}` })).status,
    ).toBe(415);
    const auth = { "content-type": "application/json", authorization: `Bearer ${TOKEN}` };
    const unknown = await post({ ...good, matchers: { colour: "red" } }, auth);
    expect(unknown.status).toBe(400);
    expect((await unknown.json()).error).toContain("colour");
    expect((await post({ ...good, matchers: {} }, auth)).status).toBe(400);
    expect((await post({ ...good, durationMinutes: -1 }, auth)).status).toBe(400);
    expect(pipeline.activeSilences(T0)).toEqual([]);
  });

  it("creates a silence in the running pipeline, expiring in event time", async () => {
    const response = await post(good, {
      "content-type": "application/json",
      authorization: `Bearer ${TOKEN}`,
    });
    expect(response.status).toBe(201);
    const created = await response.json();
    expect(created.expiresAtMs).toBe(T0 + 30 * 60_000);
    expect(pipeline.activeSilences(T0)).toEqual([
      expect.objectContaining({ id: created.id, matchers: good.matchers, reason: "deploy (by dashboard)" }),
    ]);
  });

  it("streams Server-Sent Events: a snapshot, then updates on the interval", async () => {
    const controller = new AbortController();
    const response = await fetch(`${server.url}api/stream`, { signal: controller.signal });
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const reader = response.body!.getReader();
    let text = "";
    const started = performance.now();
    while ((text.match(/\n\n/g) ?? []).length < 3 && performance.now() - started < 5000) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    controller.abort();
    const events = text.split("\n\n").filter((m) => m.startsWith("event:"));
    expect(events[0]).toMatch(/^event: snapshot\ndata: \{/);
    expect(events[1]).toMatch(/^event: update\ndata: \{/);
    expect(JSON.parse(events[1]!.split("data: ")[1]!).summary.events).toBe(7);
  });

  it("answers only to loopback names when bound to loopback (no DNS rebinding)", async () => {
    const statusFor = (host: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request(`${server.url}api/summary`, { headers: { host } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on("error", reject);
        req.end();
      });
    const port = new URL(server.url).port;
    expect(await statusFor(`attacker.example:${port}`)).toBe(421);
    expect(await statusFor(`localhost:${port}`)).toBe(200);
  });
});
