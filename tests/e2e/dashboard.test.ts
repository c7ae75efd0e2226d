/// <reference lib="dom" />
/**
 * The live dashboard (`npm run local -- --dashboard`) in headless Chromium: what an operator sees
 * and does while a run goes. Skips with a printed reason when /usr/bin/chromium is missing
 * (REQUIRE_TOOLS=1 makes that a failure).
 */
import { spawn } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALERT_TYPES, type Notification } from "../../shared/alerts/types.js";
import { formatLogLine } from "../../shared/log/parse.js";
import type { LogEvent } from "../../shared/log/schema.js";
import {
  ARTIFACTS_DIR,
  chromiumAvailable,
  type DashboardRun,
  launchChromium,
  startDashboardRun,
} from "../helpers/browser.js";
import { toolGate } from "../helpers/moto.js";

const ROOT = new URL("../..", import.meta.url).pathname;
const haveChromium = toolGate("chromium (/usr/bin/chromium)", chromiumAvailable());

/** Console errors and uncaught page errors, collected per page. */
function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(error.message));
  return errors;
}

describe.runIf(haveChromium)("dashboard of a generated run, in Chromium", () => {
  let browser: Browser;
  let run: DashboardRun;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    // 40 wall seconds at 60x: long enough for every test here; stopped at the end. Not --quiet, so
    // notifications go to the console sink and the timeline shows a sink outcome.
    run = await startDashboardRun([
      "--duration",
      "40",
      "--speed",
      "60",
      "--seed",
      "1",
      "--start",
      "2026-03-02T08:00:00Z",
    ]);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 1500 } });
    errors = watchErrors(page);
    await page.goto(`${run.url}#token=${run.token}`);
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await run?.stop();
  });

  it("loads with no console errors and draws real data in every chart", async () => {
    await page.waitForFunction(
      () => {
        const d = (window as unknown as { dashboard?: { points: unknown[] } }).dashboard;
        return d !== undefined && d.points.length >= 4;
      },
      undefined,
      { timeout: 15_000 },
    );
    const charts = await page.evaluate(() => {
      type Chart = { data: (number | null)[][]; series: { label?: string }[]; ctx: CanvasRenderingContext2D };
      const d = (window as unknown as { dashboard: { charts: Record<string, Chart> } }).dashboard;
      const out: Record<
        string,
        { series: number; labels: string[]; withData: number; max: number; inked: number }
      > = {};
      for (const [name, chart] of Object.entries(d.charts)) {
        const values = chart.data.slice(1);
        const canvas = chart.ctx.canvas;
        const pixels = chart.ctx.getImageData(0, 0, canvas.width, canvas.height).data;
        let inked = 0;
        for (let i = 3; i < pixels.length; i += 4) if ((pixels[i] ?? 0) > 0) inked++;
        out[name] = {
          series: values.length,
          labels: chart.series.slice(1).map((s) => s.label ?? ""),
          withData: values.filter((s) => s.some((v) => v !== null && v > 0)).length,
          max: Math.max(...values.flat().map((v) => v ?? 0)),
          inked,
        };
      }
      return out;
    });
    expect(Object.keys(charts).sort()).toEqual(["alerts", "cpu", "errors", "events", "latency", "memory"]);
    // Events flow at a few events per simulated second; the generator has several services.
    expect(charts.events?.withData).toBe(1);
    expect(charts.events?.max).toBeGreaterThan(1);
    for (const name of ["cpu", "memory", "latency"]) {
      expect(charts[name]?.series, name).toBeGreaterThanOrEqual(3);
      expect(charts[name]?.withData, name).toBe(charts[name]?.series);
    }
    expect(charts.cpu?.max).toBeLessThanOrEqual(100);
    // One line per alert type the pipeline knows, not a list the page keeps of its own.
    expect(charts.alerts?.labels).toEqual([...ALERT_TYPES]);
    for (const [name, chart] of Object.entries(charts))
      expect(chart.inked, `${name} drew nothing`).toBeGreaterThan(500);
    expect(await page.locator("#t-events").textContent()).not.toBe("0");
    expect(errors).toEqual([]);
  });

  it("shows the detection-quality panel of a generated run", async () => {
    await expect.poll(() => page.locator("#quality").isVisible(), { timeout: 10_000 }).toBe(true);
    expect(Number(await page.locator("#q-precision").textContent())).toBeGreaterThanOrEqual(0);
    expect(Number(await page.locator("#q-recall").textContent())).toBeGreaterThanOrEqual(0);
  });

  it("opens an incident's timeline on click: fired, then notified", async () => {
    const incident = page.locator("#incidents li").first();
    await incident.waitFor({ timeout: 20_000 });
    await page.waitForFunction(
      () => {
        return Array.from(document.querySelectorAll("#incidents li")).some((li) =>
          /([2-9]|\d{2,}) steps/.test(li.textContent ?? ""),
        );
      },
      undefined,
      { timeout: 20_000 },
    );
    const withSteps = page.locator("#incidents li", { hasText: /([2-9]|\d{2,}) steps/ }).first();
    await withSteps.click();
    await expect.poll(() => withSteps.getAttribute("class")).toContain("selected");
    await page.locator('#timeline li[data-kind="fired"]').first().waitFor({ timeout: 5_000 });
    const kinds = await page
      .locator("#timeline li")
      .evaluateAll((items) => items.map((li) => (li as HTMLElement).dataset.kind));
    expect(kinds).toContain("fired");
    expect(kinds.some((k) => k === "notified" || k === "resolved")).toBe(true);
    if (kinds.includes("notified")) {
      expect(await page.locator('#timeline li[data-kind="notified"]').first().textContent()).toContain(
        "console: ok",
      );
    }
    expect(await page.locator("#timeline-title").textContent()).toMatch(/ on /);
  });

  it("GET /api/summary returns events, firing alerts and notifications so far", async () => {
    const response = await fetch(`${run.url}api/summary`);
    expect(response.headers.get("content-type")).toContain("application/json");
    const summary = (await response.json()) as Record<string, unknown>;
    expect(summary.events).toBeGreaterThan(0);
    expect(Array.isArray(summary.firing)).toBe(true);
    expect(typeof summary.notifications).toBe("number");
    expect(Array.isArray(summary.recentNotifications)).toBe(true);
  });

  it("`curl -N /api/stream` shows a message at least every 2 s", async () => {
    const arrivals: number[] = [];
    const curl = spawn("curl", ["-sN", `${run.url}api/stream`]);
    let buffered = "";
    curl.stdout.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      let end = buffered.indexOf("\n\n");
      while (end >= 0) {
        if (buffered.slice(0, end).includes("data: ")) arrivals.push(performance.now());
        buffered = buffered.slice(end + 2);
        end = buffered.indexOf("\n\n");
      }
    });
    const started = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 6_500));
    curl.kill("SIGTERM");
    const gaps = arrivals.map((t, i) => t - (i === 0 ? started : (arrivals[i - 1] ?? started)));
    expect(arrivals.length).toBeGreaterThanOrEqual(4);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(2_000);
  });

  it("saves a screenshot as a test artifact", async () => {
    mkdirSync(ARTIFACTS_DIR, { recursive: true });
    const path = join(ARTIFACTS_DIR, "dashboard.png");
    await page.screenshot({ path, fullPage: true });
    expect(readFileSync(path).subarray(1, 4).toString()).toBe("PNG");
    // UPDATE_SCREENSHOT=1 refreshes the one in the README.
    if (process.env.UPDATE_SCREENSHOT === "1") copyFileSync(path, join(ROOT, "docs", "dashboard.png"));
    expect(errors).toEqual([]);
  });
});

const START_MS = Date.parse("2026-03-02T08:00:00Z");

/** One second of a service's traffic at event time `atMs`: a metrics sample and two requests. */
function secondOf(service: string, atMs: number, cpuPct: number): string[] {
  const base = {
    service,
    source_ip: null,
    user: null,
  };
  const events: LogEvent[] = [
    {
      ...base,
      timestamp: new Date(atMs).toISOString(),
      timeMs: atMs,
      level: "INFO",
      event_type: "metric",
      message: "host metrics sample",
      metrics: { cpu_pct: cpuPct, memory_pct: 41, latency_ms: 0 },
      status_code: null,
      request_id: null,
    },
    ...[300, 700].map(
      (offset): LogEvent => ({
        ...base,
        timestamp: new Date(atMs + offset).toISOString(),
        timeMs: atMs + offset,
        level: "INFO",
        event_type: "request",
        message: "GET /cart 200",
        metrics: { cpu_pct: cpuPct, memory_pct: 41, latency_ms: 40 + (offset % 17) },
        status_code: 200,
        request_id: `r-${atMs + offset}`,
      }),
    ),
  ];
  return events.map((e) => formatLogLine(e));
}

describe.runIf(haveChromium)("dashboard of a replay fed through standard input, in Chromium", () => {
  let browser: Browser;
  let run: DashboardRun;
  let page: Page;
  let errors: string[];
  let work: string;
  let clock = START_MS;
  let fed = 0;
  const alertsPath = () => join(work, "alerts.jsonl");

  /** Feed `seconds` of event time; `hot` services run at 97% CPU, the rest at 30%. */
  const feed = (seconds: number, hot: string[]) => {
    const lines: string[] = [];
    for (let i = 0; i < seconds; i++, clock += 1000) {
      for (const service of ["checkout", "billing"])
        lines.push(...secondOf(service, clock, hot.includes(service) ? 97 : 30));
    }
    fed += lines.length;
    run.child.stdin?.write(`${lines.join("\n")}\n`);
  };
  const eventsSeen = async () =>
    ((await (await fetch(`${run.url}api/summary`)).json()) as { events: number }).events;
  const notifications = (): Notification[] =>
    existsSync(alertsPath())
      ? readFileSync(alertsPath(), "utf8")
          .split("\n")
          .filter((l) => l !== "")
          .map((l) => JSON.parse(l) as Notification)
      : [];
  const firingIn = (n: Notification, service: string) =>
    n.alerts.some((a) => a.service === service && a.type === "high_cpu" && a.status === "firing");

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "dashboard-e2e-"));
    const config = join(work, "config.json");
    // Short repeat interval: a firing alert is notified again every 10 s of event time, so a
    // silence that did nothing would show up as another notification.
    writeFileSync(
      config,
      JSON.stringify({
        detectors: { ml: { enabled: false } },
        alerting: { group_wait_s: 1, group_interval_s: 5, repeat_interval_s: 10 },
        remediation: { kill_switch: true },
      }),
    );
    run = await startDashboardRun(["--input", "-", "--config", config, "--alerts", alertsPath(), "--quiet"]);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 1200 } });
    errors = watchErrors(page);
    await page.goto(`${run.url}#token=${run.token}`);
    await page.locator("#connection.live").waitFor({ timeout: 10_000 });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    run?.child.stdin?.end();
    await run?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("shows a new alert within 2 s", async () => {
    feed(20, []);
    await expect.poll(eventsSeen).toBe(fed);
    expect(await page.locator("#firing tbody tr").count()).toBe(0);
    // A minute of 97% CPU on checkout: the CPU detector (30 s hold) fires during this batch.
    const sent = performance.now();
    feed(60, ["checkout"]);
    const row = page.locator('#firing tbody tr:has-text("checkout")');
    await row.waitFor({ timeout: 2_000 });
    const shownAfterMs = performance.now() - sent;
    expect(shownAfterMs).toBeLessThanOrEqual(2_000);
    expect(await row.locator("td").first().textContent()).toBe("high_cpu");
  });

  it("a silence made on the page mutes the next matching notification", async () => {
    // Before: the firing alert is notified again every 10 s of event time.
    feed(30, ["checkout"]);
    await expect.poll(eventsSeen).toBe(fed);
    await expect
      .poll(() => notifications().filter((n) => firingIn(n, "checkout")).length)
      .toBeGreaterThanOrEqual(3);
    const repeatsBefore = notifications().filter(
      (n) => firingIn(n, "checkout") && n.reason === "repeat",
    ).length;
    expect(repeatsBefore).toBeGreaterThanOrEqual(1);

    const row = page.locator('#firing tbody tr:has-text("checkout")');
    const silenced = page.waitForResponse((r) => r.url().endsWith("/api/silences"));
    await row.locator("button.silence").click();
    expect((await silenced).status()).toBe(201);
    await expect.poll(() => row.textContent(), { timeout: 3_000 }).toContain("silenced");
    const countAtSilence = notifications().length;

    // Another minute of 97% CPU: without the silence this would bring about six repeats.
    feed(60, ["checkout"]);
    await expect.poll(eventsSeen).toBe(fed);
    const summary = (await (await fetch(`${run.url}api/summary`)).json()) as {
      firing: { service: string; silencedBy: string | null }[];
    };
    // Still firing, so the mute is what kept it quiet, not a resolution.
    expect(summary.firing.find((a) => a.service === "checkout")?.silencedBy).toMatch(/^runtime-/);
    const after = notifications().slice(countAtSilence);
    expect(after.filter((n) => firingIn(n, "checkout"))).toEqual([]);

    // The incident's timeline tells the story, silence included.
    await page.locator('#incidents li:has-text("checkout")').first().click();
    await page.locator('#timeline li[data-kind="silenced"]').waitFor({ timeout: 3_000 });
    const kinds = await page
      .locator("#timeline li")
      .evaluateAll((items) => items.map((li) => (li as HTMLElement).dataset.kind));
    expect(kinds.indexOf("fired")).toBeLessThan(kinds.indexOf("notified"));
    expect(kinds.indexOf("notified")).toBeLessThan(kinds.indexOf("silenced"));
    expect(errors).toEqual([]);
  });

  it("refuses a silence without the token", async () => {
    const response = await fetch(`${run.url}api/silences`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ matchers: { service: "billing" }, durationMinutes: 60 }),
    });
    expect(response.status).toBe(401);
  });
});

describe.runIf(haveChromium)("npm run dashboard over the alert history, in Chromium", () => {
  let browser: Browser;
  let child: ReturnType<typeof spawn>;
  let dir: string;

  beforeAll(async () => {
    // A history where high_cpu inhibits the same service's ml_anomaly, written as a run writes it.
    const { SqliteHistoryStore } = await import("../../local/history/sqlite-store.js");
    const { HistoryEventBuilder } = await import("../../shared/history/from-audit.js");
    const { AuditTrail } = await import("../../shared/remediation/audit.js");
    const { Pipeline } = await import("../../shared/pipeline.js");
    const { DEFAULT_CONFIG } = await import("../../shared/config/defaults.js");
    dir = mkdtempSync(join(tmpdir(), "dash-history-e2e-"));
    const store = new SqliteHistoryStore(join(dir, "history.sqlite"));
    // On a whole second, as detector findings are (they come at the pipeline's ticks).
    const t0 = Math.floor((Date.now() - 3600_000) / 1000) * 1000;
    const finding = (type: "high_cpu" | "ml_anomaly") => ({
      status: "firing" as const,
      type,
      service: "checkout",
      entity: "",
      severity: "warning" as const,
      summary: `${type} on checkout`,
      observed: 97,
      threshold: 85,
      unit: "%",
      windowMs: 60_000,
      atMs: t0,
      sinceMs: t0 - 30_000,
      samples: [],
      details: {},
    });
    const pending = [finding("high_cpu"), finding("ml_anomaly")];
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
      pipeline.advance(t0 + t * 1000);
      for (const f of pipeline.takeFindings()) audit.detection(f);
      await store.append([...builder.fromAudit(audit.drain()), ...builder.fromMuted(pipeline.takeMuted())]);
    }
    await store.close();

    child = spawn(
      process.execPath,
      [
        join(ROOT, "local/launch.mjs"),
        "local/dashboard-cli.ts",
        "--history",
        join(dir, "history.sqlite"),
        "--port",
        "0",
      ],
      { cwd: ROOT, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] },
    );
    browser = await launchChromium();
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("shows the recorded incidents, and the inhibited one's timeline says so", async () => {
    let out = "";
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no address printed:\n${out}`)), 30_000);
      const onData = (chunk: Buffer) => {
        out += chunk.toString();
        const match = /dashboard: (http:\/\/[^#\s]+#token=\S+)/.exec(out);
        if (match?.[1]) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      };
      child.stdout?.on("data", onData);
      child.stderr?.on("data", onData);
    });
    const page = await browser.newPage({ viewport: { width: 1400, height: 1200 } });
    const errors = watchErrors(page);
    await page.goto(url);
    await page.locator('#incidents li:has-text("ml_anomaly")').first().click();
    await page.locator('#timeline li[data-kind="inhibited"]').waitFor({ timeout: 5_000 });
    expect(await page.locator('#timeline li[data-kind="inhibited"]').textContent()).toContain(
      "high_cpu on checkout",
    );
    expect(await page.locator("#firing tbody tr").count()).toBe(2);
    const kinds = await page
      .locator("#timeline li")
      .evaluateAll((items) => items.map((li) => (li as HTMLElement).dataset.kind));
    expect(kinds).toEqual(["fired", "inhibited"]);
    expect(await page.locator("#connection").textContent()).toBe("history");
    mkdirSync(ARTIFACTS_DIR, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS_DIR, "dashboard-history.png"), fullPage: true });
    expect(errors).toEqual([]);
  }, 60_000);
});
