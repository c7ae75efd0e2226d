import { PassThrough, Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { parseRunArgs, type RunOptions } from "../../local/args.js";
import { runLocal } from "../../local/runner.js";

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
