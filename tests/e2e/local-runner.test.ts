import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { beforeAll, describe, expect, it } from "vitest";
import { parseRunArgs, type RunOptions } from "../../local/args.js";
import type { LocalReport } from "../../local/report.js";
import { runLocal } from "../../local/runner.js";
import { ACTION_TYPES } from "../../shared/config/types.js";

const ROOT = new URL("../..", import.meta.url).pathname;

function options(argv: string[]): RunOptions {
  const parsed = parseRunArgs(argv);
  if (parsed.kind !== "run") throw new Error(`bad test arguments: ${JSON.stringify(parsed)}`);
  return parsed.options;
}

function io(stdin: Readable = Readable.from([])) {
  const stdout = new PassThrough();
  const chunks: string[] = [];
  stdout.on("data", (c: Buffer) => chunks.push(c.toString()));
  return { io: { stdout, stderr: new PassThrough(), stdin }, output: () => chunks.join("") };
}

function cli(args: string[], input?: string) {
  return spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "local/cli.ts"), ...args], {
    cwd: ROOT,
    input,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
    timeout: 120_000,
  });
}

describe("local runner on a seeded accelerated run", () => {
  let report: LocalReport;
  let second: LocalReport;

  beforeAll(async () => {
    // 6,000 simulated seconds, as in the acceptance command (--duration 10 --speed 600), but paced
    // ten times faster: steps are fixed in simulated time, so the outcome does not depend on pace.
    const argv = [
      "--duration",
      "1",
      "--speed",
      "6000",
      "--seed",
      "1",
      "--start",
      "2026-03-02T08:00:00Z",
      "--quiet",
    ];
    report = await runLocal(options(argv), io().io);
    second = await runLocal(options(argv), io().io);
  }, 180_000);

  it("detects the injected incidents with high precision and recall", () => {
    expect(report.mode).toBe("generated");
    const ruleIncidents = (report.scenarios ?? [])
      .filter((s) => !["latency_degradation", "mixed_degradation", "benign_spike"].includes(s.type))
      .reduce((sum, s) => sum + s.injected, 0);
    expect(ruleIncidents).toBeGreaterThanOrEqual(20);
    expect(report.recall).toBeGreaterThanOrEqual(0.95);
    expect(report.precision).toBeGreaterThanOrEqual(0.95);
  });

  it("runs every remediation action type and records its outcome", () => {
    for (const type of ACTION_TYPES) {
      const tally = report.actions[type];
      expect(tally?.executed, type).toBeGreaterThan(0);
      const outcomes = Object.values(tally?.outcomes ?? {}).reduce((s, n) => s + (n ?? 0), 0);
      expect(outcomes, `${type} outcomes`).toBeGreaterThan(0);
    }
  });

  it("is deterministic for a seed", () => {
    const strip = (r: LocalReport) => ({ ...r, wall_seconds: 0, events_per_wall_second: 0 });
    expect(strip(second)).toEqual(strip(report));
  });
});

describe("local runner replaying a file with garbage in it", () => {
  it("processes every valid line and reports the rest by reason", async () => {
    const dir = mkdtempSync(join(tmpdir(), "co-replay-"));
    const valid = (i: number) =>
      JSON.stringify({
        timestamp: new Date(Date.parse("2026-01-01T00:00:00Z") + i * 1000).toISOString(),
        service: "api-gateway",
        level: "INFO",
        event_type: "request",
        message: "GET /health",
        metrics: { cpu_pct: 20, memory_pct: 40, latency_ms: 12 },
        status_code: 200,
        source_ip: "192.0.2.1",
        user: null,
        request_id: `r-${i}`,
      });
    const lines = [
      valid(0),
      '{"timestamp": "2026-01-01T00:00:01Z", "service": "api', // truncated JSON
      valid(1).replace('"cpu_pct":20', '"cpu_pct":"high"'), // wrong type
      `{"message":"${"x".repeat(1024 * 1024)}"}`, // a 1 MB line
      "\u0000\u0001\u00ff\ufffd binary", // binary bytes
      "", // empty line
      valid(2),
      valid(3),
    ];
    const file = join(dir, "mixed.log");
    writeFileSync(file, `${lines.join("\n")}\n`);
    const reportPath = join(dir, "report.json");
    const run = cli(["--input", file, "--report", reportPath, "--quiet"]);
    expect(run.status, run.stderr).toBe(0);
    const report = JSON.parse(readFileSync(reportPath, "utf8")) as LocalReport;
    expect(report.events).toBe(3);
    expect(report.rejected).toEqual({
      malformed_json: 2,
      wrong_type: 1,
      line_too_long: 1,
      empty_line: 1,
    });
  });

  it("reads standard input with --input -", async () => {
    const line = JSON.stringify({
      timestamp: "2026-01-01T00:00:00Z",
      service: "web",
      level: "INFO",
      event_type: "request",
      message: "ok",
      metrics: { cpu_pct: 1, memory_pct: 1, latency_ms: 1 },
      status_code: 200,
    });
    const { io: streams } = io(Readable.from([`${line}\nnot json\n`]));
    const report = await runLocal(options(["--input", "-", "--quiet"]), streams);
    expect(report.events).toBe(1);
    expect(report.rejected).toEqual({ malformed_json: 1 });
    expect(report.scenarios).toBeNull();
  });
});

describe("local CLI", () => {
  it("prints --help and exits 0", () => {
    const run = cli(["--help"]);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain("--duration SECONDS");
  });

  it.each([
    [["--speed", "fast"], /--speed must be a positive number/],
    [["--input", "/nonexistent/file.log"], /cannot read --input \/nonexistent\/file.log: ENOENT/],
    [
      ["--duration", "1", "--report", "/nonexistent/dir/r.json"],
      /^error: --report \/nonexistent\/dir\/r.json: the folder \/nonexistent\/dir does not exist\n$/,
    ],
    [
      ["--duration", "1", "--alerts", "/nonexistent/dir/a.jsonl"],
      /^error: --alerts \/nonexistent\/dir\/a.jsonl: the folder \/nonexistent\/dir does not exist\n$/,
    ],
  ])("exits 2 with a clear error for %j", (args, message) => {
    const run = cli(args);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(message);
  });

  it("refuses a bad config naming the key", () => {
    const dir = mkdtempSync(join(tmpdir(), "co-config-"));
    const file = join(dir, "bad.yaml");
    writeFileSync(file, "detectors:\n  cpu:\n    threshold_pct: lots\n");
    const run = cli(["--config", file, "--duration", "1"]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("detectors.cpu.threshold_pct");
  });

  it("shows alerts as they happen in a short live run", () => {
    const run = cli(["--duration", "2", "--speed", "10", "--seed", "1"]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/FIRING/i);
    expect(run.stdout).toContain("Summary (generated)");
  });
});
