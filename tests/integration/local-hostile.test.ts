import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { parseRunArgs, type RunOptions } from "../../local/args.js";
import { runLocal } from "../../local/runner.js";
import { SettingsError } from "../../shared/errors.js";

function options(argv: string[]): RunOptions {
  const parsed = parseRunArgs(argv);
  if (parsed.kind !== "run") throw new Error(`bad test arguments: ${JSON.stringify(parsed)}`);
  return parsed.options;
}

function io(stdin: Readable = Readable.from([])) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  stdout.on("data", (c: Buffer) => out.push(c.toString()));
  stderr.on("data", (c: Buffer) => err.push(c.toString()));
  return { io: { stdout, stderr, stdin }, output: () => out.join(""), errors: () => err.join("") };
}

const ESC = "\u001b";
const BEL = "\u0007";
const T0 = Date.parse("2026-03-01T12:00:00Z");

function line(i: number, fields: Record<string, unknown>): string {
  return JSON.stringify({
    timestamp: new Date(T0 + i * 1000).toISOString(),
    service: "auth-service",
    level: "WARN",
    event_type: "auth_failure",
    message: "invalid password",
    metrics: { cpu_pct: 20, memory_pct: 30, latency_ms: 5 },
    status_code: 401,
    source_ip: "203.0.113.7",
    user: "alice",
    request_id: `r-${i}`,
    ...fields,
  });
}

describe("local runner: control characters in log content", () => {
  it("prints none of them: a 40-line brute force with escape sequences in every text field", async () => {
    const lines = Array.from({ length: 40 }, (_, i) =>
      line(i, {
        service: `auth${ESC}[2J${ESC}[H`,
        source_ip: `203.0.113.7${ESC}]0;owned${BEL}`,
        user: `alice\r${ESC}[2K`,
        message: `bad password${ESC}[1A${ESC}[2K${BEL}`,
      }),
    );
    const streams = io(Readable.from([`${lines.join("\n")}\n`]));
    const report = await runLocal(options(["--input", "-"]), streams.io);
    expect(report.alerts.brute_force_ip).toBe(1);
    const output = streams.output();
    expect(output).toContain("auth\\x1b[2J\\x1b[H");
    expect([...output].filter((ch) => ch === ESC)).toHaveLength(0);
    expect([...output].filter((ch) => ch === BEL)).toHaveLength(0);
  });
});

describe("local runner: a line with no end on standard input", () => {
  it("counts a 600 MB line as line_too_long and goes on with the next lines", async () => {
    const chunk = Buffer.alloc(1024 * 1024, "x".charCodeAt(0));
    async function* input() {
      yield `${line(0, {})}\n{"message":"`;
      for (let i = 0; i < 600; i++) yield chunk;
      yield `"}\n${line(1, {})}\n${line(2, {})}`;
    }
    const streams = io(Readable.from(input()));
    const report = await runLocal(options(["--input", "-", "--quiet"]), streams.io);
    expect(report.rejected).toEqual({ line_too_long: 1 });
    expect(report.events).toBe(3);
  }, 20_000);

  it("keeps lines split across chunks and multi-byte characters split across chunks intact", async () => {
    const text = `${line(0, { message: "caf\u00e9 \u2615" })}\n${line(1, {})}\r\n\n${line(2, {})}`;
    const bytes = Buffer.from(text, "utf8");
    const chunks = Array.from({ length: Math.ceil(bytes.length / 7) }, (_, i) =>
      bytes.subarray(i * 7, i * 7 + 7),
    );
    const streams = io(Readable.from(chunks));
    const report = await runLocal(options(["--input", "-", "--quiet"]), streams.io);
    expect(report.events).toBe(3);
    expect(report.rejected).toEqual({ empty_line: 1 });
  });
});

describe("local runner: output paths are checked before the run starts", () => {
  const dir = mkdtempSync(join(tmpdir(), "co-outputs-"));
  mkdirSync(join(dir, "a-folder"));
  const input = join(dir, "in.log");
  writeFileSync(input, `${line(0, {})}\n`);

  it.each([
    ["--report", join(dir, "missing", "r.json"), /--report .*missing.*: the folder .* does not exist/],
    ["--alerts", join(dir, "missing", "a.jsonl"), /--alerts .*: the folder .* does not exist/],
    ["--audit", join(dir, "missing", "audit.jsonl"), /--audit .*: the folder .* does not exist/],
    ["--write-logs", join(dir, "missing", "logs.jsonl"), /--write-logs .*: the folder .* does not exist/],
    ["--report", join(dir, "a-folder"), /--report .*a-folder: is a folder, not a file/],
    ["--alerts", join(dir, "in.log", "x.jsonl"), /--alerts .*: .*in\.log is not a folder/],
  ])("%s %s is refused as a usage error", async (flag, path, message) => {
    const streams = io();
    const run = runLocal(options(["--input", input, "--quiet", flag, path]), streams.io);
    await expect(run).rejects.toThrow(SettingsError);
    await expect(run).rejects.toThrow(message);
  });

  it("refuses before generating anything", async () => {
    const logs = join(dir, "never.jsonl");
    const streams = io();
    const run = runLocal(
      options([
        "--duration",
        "5",
        "--speed",
        "max",
        "--write-logs",
        logs,
        "--report",
        join(dir, "no", "r.json"),
      ]),
      streams.io,
    );
    await expect(run).rejects.toThrow(SettingsError);
    expect(existsSync(logs)).toBe(false);
  });
});

describe("local runner: the audit trail is streamed", () => {
  it("writes audit records while the input is still open", async () => {
    const dir = mkdtempSync(join(tmpdir(), "co-audit-"));
    const auditPath = join(dir, "audit.jsonl");
    const stdin = new PassThrough();
    const streams = io(stdin);
    const run = runLocal(options(["--input", "-", "--quiet", "--audit", auditPath]), streams.io);
    // Twelve failed logins, then quiet traffic long enough for the group wait to pass.
    for (let i = 0; i < 12; i++) stdin.write(`${line(i, { source_ip: "198.51.100.9" })}\n`);
    for (let i = 0; i < 30; i++)
      stdin.write(`${line(12 + i, { event_type: "request", level: "INFO", status_code: 200 })}\n`);
    const deadline = Date.now() + 5000;
    let text = "";
    while (Date.now() < deadline) {
      text = existsSync(auditPath) ? readFileSync(auditPath, "utf8") : "";
      if (text.includes('"stage":"action"')) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    stdin.end();
    await run;
    expect(text).toContain('"stage":"detection"');
    expect(text).toContain('"stage":"action"');
  });
});
