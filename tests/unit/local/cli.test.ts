/**
 * `npm run local` as a user runs it, in process: the same argv, streams and exit codes as the spawned
 * command (tests/e2e/local-runner.test.ts keeps a few spawned smoke tests).
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { runCli } from "../../../local/cli-main.js";
import type { LocalReport } from "../../../local/report.js";

async function cli(argv: string[], stdinText = "") {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  stdout.on("data", (c: Buffer) => out.push(c.toString()));
  stderr.on("data", (c: Buffer) => err.push(c.toString()));
  const status = await runCli(argv, { stdout, stderr, stdin: Readable.from([stdinText]) });
  return { status, stdout: out.join(""), stderr: err.join("") };
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "co-cli-"));
}

function validLine(i: number): string {
  return JSON.stringify({
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
}

describe("npm run local", () => {
  it("prints --help and exits 0", async () => {
    const run = await cli(["--help"]);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain("--duration SECONDS");
  });

  it.each([
    [["--speed", "fast"], /--speed must be a positive number/],
    [["--duration", "-1"], /--duration/],
    [["--bogus"], /bogus/],
    [["--input", "/nonexistent/file.log"], /cannot read --input \/nonexistent\/file.log: ENOENT/],
    [
      ["--duration", "1", "--report", "/nonexistent/dir/r.json"],
      /^error: --report \/nonexistent\/dir\/r.json: the folder \/nonexistent\/dir does not exist\n$/,
    ],
    [
      ["--duration", "1", "--alerts", "/nonexistent/dir/a.jsonl"],
      /^error: --alerts \/nonexistent\/dir\/a.jsonl: the folder \/nonexistent\/dir does not exist\n$/,
    ],
  ])("exits 2 with a clear error for %j", async (argv, message) => {
    const run = await cli(argv);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stdout).toBe("");
  });

  it("refuses a bad config naming the key", async () => {
    const file = join(tempDir(), "bad.yaml");
    writeFileSync(file, "detectors:\n  cpu:\n    threshold_pct: lots\n");
    const run = await cli(["--config", file, "--duration", "1"]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("detectors.cpu.threshold_pct");
  });

  it.each([
    ["detectors:\n  cpu:\n    smoothing_s: 0\n", "detectors.cpu.smoothing_s: must be a number in 1..2678400"],
    [
      "detectors:\n  ml:\n    warmup_windows: 600\n    max_training_windows: 512\n",
      "detectors.ml.warmup_windows: must be at most detectors.ml.max_training_windows (512)",
    ],
    [
      "detectors:\n  request_flood:\n    window_s: 0.5\n",
      "detectors.request_flood.window_s: must be an integer",
    ],
    [
      "detectors:\n  ml:\n    sample_size: 100000\n",
      "detectors.ml.sample_size: must be an integer in 2..32768",
    ],
    [
      "remediation:\n  actions:\n    high_cpu: block_ip\n",
      "remediation.actions.high_cpu: block_ip needs an IP",
    ],
  ])("refuses a contradictory config before building the pipeline: %j", async (yaml, message) => {
    const file = join(tempDir(), "bad.yaml");
    writeFileSync(file, yaml);
    const run = await cli(["--config", file, "--duration", "1"]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(`error: invalid config ${file}:\n  - ${message}`);
    expect(run.stderr).not.toContain("unexpected failure");
  });

  it("replays a file with garbage in it: every valid line processed, the rest counted by reason", async () => {
    const dir = tempDir();
    const lines = [
      validLine(0),
      '{"timestamp": "2026-01-01T00:00:01Z", "service": "api', // truncated JSON
      validLine(1).replace('"cpu_pct":20', '"cpu_pct":"high"'), // wrong type
      `{"message":"${"x".repeat(1024 * 1024)}"}`, // a 1 MB line
      "\u0000\u0001\u00ff\ufffd binary", // binary bytes
      "", // empty line
      validLine(2),
      validLine(3),
    ];
    const file = join(dir, "mixed.log");
    writeFileSync(file, `${lines.join("\n")}\n`);
    const reportPath = join(dir, "report.json");
    const run = await cli(["--input", file, "--report", reportPath, "--quiet"]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain(`Report written to ${reportPath}`);
    const report = JSON.parse(readFileSync(reportPath, "utf8")) as LocalReport;
    expect(report.events).toBe(3);
    // Read with the default --format auto: the binary line is no format at all, not broken JSON.
    expect(report.rejected).toEqual({
      malformed_json: 1,
      unrecognised_line: 1,
      wrong_type: 1,
      line_too_long: 1,
      empty_line: 1,
    });
  });

  it("reads standard input with --input -", async () => {
    const run = await cli(
      ["--input", "-", "--quiet", "--report", join(tempDir(), "r.json")],
      `${validLine(0)}\nnot json\n`,
    );
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain("Summary (replay)");
  });
});
