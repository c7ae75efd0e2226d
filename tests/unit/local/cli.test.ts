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
    expect(report.rejected).toEqual({ malformed_json: 2, wrong_type: 1, line_too_long: 1, empty_line: 1 });
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
