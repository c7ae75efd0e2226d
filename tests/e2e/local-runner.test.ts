import { spawnSync } from "node:child_process";
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
  return spawnSync(process.execPath, [join(ROOT, "local/launch.mjs"), "local/cli.ts", ...args], {
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

describe("local CLI as a process (node local/launch.mjs local/cli.ts)", () => {
  it("prints --help and exits 0", () => {
    const run = cli(["--help"]);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain("--duration SECONDS");
  });

  it("exits 2 on a bad flag, with the message on standard error", () => {
    const run = cli(["--speed", "fast"]);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/--speed must be a positive number/);
  });

  it("shows alerts as they happen in a short live run", () => {
    const run = cli(["--duration", "2", "--speed", "10", "--seed", "1"]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/FIRING/i);
    expect(run.stdout).toContain("Summary (generated)");
  });
});
