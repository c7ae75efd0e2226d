/**
 * The alert history end to end, as a user drives it: a seeded local run records into a SQLite file,
 * `npm run history` reads it back, and `npm run silence` mutes alerts while a run is going.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { historyMain } from "../../local/history/history-command.js";
import { silenceMain } from "../../local/history/silence-command.js";
import type { LocalReport } from "../../local/report.js";
import type { Notification } from "../../shared/alerts/types.js";
import type { HistoryEvent, IncidentSummary } from "../../shared/history/types.js";

const ROOT = new URL("../..", import.meta.url).pathname;
const START = "2026-03-02T08:00:00Z";

function tsx(script: string, args: string[]) {
  return spawnSync(process.execPath, ["--import", "tsx", join(ROOT, script), ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
    timeout: 120_000,
  });
}

function readJsonLines<T>(path: string): T[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as T);
}

describe("history of a seeded run", () => {
  const dir = mkdtempSync(join(tmpdir(), "history-e2e-"));
  const db = join(dir, "data", "history.sqlite");
  const alertsPath = join(dir, "alerts.jsonl");
  const reportPath = join(dir, "report.json");
  let report: LocalReport;
  let incidents: (IncidentSummary & { startsAt: string })[];

  beforeAll(() => {
    // The acceptance run (--duration 10 --speed 600) is 6,000 simulated seconds; the same, paced 10x faster.
    const run = tsx("local/cli.ts", [
      ...["--duration", "1", "--speed", "6000", "--seed", "1", "--start", START],
      ...["--history", db, "--alerts", alertsPath, "--report", reportPath, "--quiet"],
    ]);
    expect(run.status, run.stderr).toBe(0);
    report = JSON.parse(readFileSync(reportPath, "utf8")) as LocalReport;
    const list = tsx("local/history-cli.ts", ["list", "--json", "--db", db, "--since", START]);
    expect(list.status, list.stderr).toBe(0);
    incidents = JSON.parse(list.stdout);
  }, 180_000);

  it("lists every alert the run raised, each once", () => {
    const raised = Object.values(report.alerts).reduce((sum, n) => sum + (n ?? 0), 0);
    expect(raised).toBeGreaterThan(20);
    expect(incidents).toHaveLength(raised);
    expect(new Set(incidents.map((i) => i.incident)).size).toBe(raised);
    expect(report.history).toMatchObject({ path: db, write_failures: 0 });

    // Every alert any notification carried is in the list, under its incident id.
    const listed = new Set(incidents.map((i) => i.incident));
    const notified = readJsonLines<Notification>(alertsPath).flatMap((n) => n.alerts);
    expect(notified.length).toBeGreaterThan(0);
    for (const alert of notified) expect(listed).toContain(`${alert.fingerprint}:${alert.startsAtMs}`);
    for (const i of incidents) expect(i.startsAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it("filters by service, type and state", () => {
    const list = tsx("local/history-cli.ts", [
      ...["list", "--json", "--db", db, "--since", START],
      ...["--service", "auth-service", "--type", "brute_force_ip", "--state", "resolved"],
    ]);
    const rows = JSON.parse(list.stdout) as IncidentSummary[];
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBe(
      incidents.filter(
        (i) => i.service === "auth-service" && i.type === "brute_force_ip" && i.state === "resolved",
      ).length,
    );
  }, 120_000);

  it("shows one incident's timeline from the first sign to the remediation outcome", () => {
    const acted = incidents.find((i) => i.lastOutcome === "effective");
    expect(acted).toBeDefined();
    const show = tsx("local/history-cli.ts", ["show", acted!.incident, "--json", "--db", db]);
    expect(show.status, show.stderr).toBe(0);
    const { timeline } = JSON.parse(show.stdout) as { timeline: HistoryEvent[] };
    const kinds = timeline.map((e) => e.kind);
    expect(kinds[0]).toBe("first_log");
    expect(kinds.indexOf("transition")).toBeLessThan(kinds.indexOf("notification"));
    expect(kinds.indexOf("notification")).toBeLessThan(kinds.indexOf("action"));
    expect(kinds.at(-1)).toBe("outcome");
    expect(timeline.find((e) => e.kind === "notification")).toMatchObject({
      sink: "jsonl-file",
      outcome: "ok",
      attempts: 1,
    });
    expect(timeline.at(-1)).toMatchObject({ status: "effective" });

    const text = tsx("local/history-cli.ts", ["show", acted!.incident, "--db", db]).stdout;
    expect(text).toContain("detected");
    expect(text).toContain("remediation");
    expect(text).toContain("outcome");
    expect(text).toContain("npm run silence -- add --matcher service=");
  }, 120_000);

  it("stats count incidents per day, service and type, with time to detect and resolve", () => {
    const stats = JSON.parse(
      tsx("local/history-cli.ts", ["stats", "--json", "--db", db, "--since", START]).stdout,
    );
    expect(stats.incidents).toBe(incidents.length);
    expect(stats.perDay.reduce((sum: number, r: { count: number }) => sum + r.count, 0)).toBe(
      incidents.length,
    );
    expect(stats.timeToDetect.count).toBeGreaterThan(0);
    expect(stats.timeToResolve.medianMs).toBeGreaterThan(0);
  }, 120_000);

  it("refuses bad arguments with exit 2 and a missing incident with exit 3", async () => {
    // In process: exit codes do not need another process start each.
    const code = async (argv: string[]) => {
      const sink = new PassThrough();
      sink.resume();
      return await historyMain(argv, { stdout: sink, stderr: sink, env: process.env });
    };
    expect(await code(["list", "--since", "yesterday-ish", "--db", db])).toBe(2);
    expect(await code(["list", "--type", "nope", "--db", db])).toBe(2);
    expect(await code(["list", "--db", db, "--table", "t"])).toBe(2);
    expect(await code(["show", "0000000000000000:1", "--db", db])).toBe(3);
    expect(await code(["frobnicate", "--db", db])).toBe(2);
    expect(await code(["--help"])).toBe(0);
  });
});

describe("a silence added while a run is going", () => {
  it("mutes the next matching notification, and the history records it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "silence-e2e-"));
    const db = join(dir, "history.sqlite");
    const alertsPath = join(dir, "alerts.jsonl");
    // About 8 s of wall time (4,800 simulated seconds): brute-force attacks keep coming all along.
    const child: ChildProcess = spawn(
      process.execPath,
      [
        ...["--import", "tsx", join(ROOT, "local/cli.ts")],
        ...["--duration", "8", "--speed", "600", "--seed", "1", "--start", START],
        ...["--history", db, "--alerts", alertsPath, "--quiet"],
      ],
      { cwd: ROOT, stdio: "ignore" },
    );
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));

    // Wait for the first brute-force notification: the run is going and the alert is live.
    const bruteNotified = () =>
      readJsonLines<Notification>(alertsPath).filter((n) =>
        n.alerts.some((a) => a.type === "brute_force_ip"),
      );
    const deadline = Date.now() + 60_000;
    while (bruteNotified().length === 0 && Date.now() < deadline) await sleep(100);
    expect(bruteNotified().length).toBeGreaterThan(0);

    // The silence command, run in this process: a second tsx start takes seconds on a busy machine,
    // and the run must still be going when the silence lands.
    const out = new PassThrough();
    let added = "";
    out.on("data", (c: Buffer) => {
      added += c.toString();
    });
    const code = await silenceMain(
      [
        ...["add", "--matcher", "service=auth-service", "--matcher", "type=brute_force_ip"],
        ...["--for", "2h", "--reason", "pen test", "--db", db, "--json"],
      ],
      { stdout: out, stderr: out, env: process.env },
    );
    expect(code, added).toBe(0);
    expect(child.exitCode).toBeNull();
    const silence = JSON.parse(added) as { id: string };
    expect(await exited).toBe(0);

    const list = tsx("local/history-cli.ts", [
      ...["list", "--json", "--db", db, "--since", START, "--type", "brute_force_ip"],
    ]);
    const incidents = JSON.parse(list.stdout) as IncidentSummary[];
    const silenced = incidents.filter((i) => i.silenced);
    // At least one attack began after the silence, and none of those was notified.
    expect(silenced.length).toBeGreaterThan(0);
    const notifiedFirings = new Set(
      readJsonLines<Notification>(alertsPath)
        .filter((n) => n.status === "firing")
        .flatMap((n) => n.alerts.map((a) => `${a.fingerprint}:${a.startsAtMs}`)),
    );
    for (const incident of silenced) expect(notifiedFirings).not.toContain(incident.incident);
    // Attacks before the silence were notified as usual.
    expect(incidents.some((i) => !i.silenced && i.notifications > 0)).toBe(true);

    const show = JSON.parse(
      tsx("local/history-cli.ts", ["show", (silenced[0] as IncidentSummary).incident, "--json", "--db", db])
        .stdout,
    ) as { timeline: HistoryEvent[] };
    expect(show.timeline.find((e) => e.kind === "silenced")).toMatchObject({
      silenceId: silence.id,
      reason: "pen test",
    });

    const silences = JSON.parse(tsx("local/silence-cli.ts", ["list", "--json", "--db", db]).stdout);
    expect(silences.map((s: { id: string }) => s.id)).toContain(silence.id);
    expect(tsx("local/silence-cli.ts", ["expire", silence.id, "--db", db]).status).toBe(0);
    expect(JSON.parse(tsx("local/silence-cli.ts", ["list", "--json", "--db", db]).stdout)).toEqual([]);
  }, 120_000);
});
