/** `npm run local -- --dashboard` in process: it changes nothing about the run, and fails cleanly. */
import { createServer } from "node:net";
import { PassThrough, Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { runCli } from "../../../../local/cli-main.js";

async function cli(argv: string[], stdinText: string, env: NodeJS.ProcessEnv = {}) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  stdout.on("data", (c: Buffer) => out.push(c.toString()));
  stderr.on("data", (c: Buffer) => err.push(c.toString()));
  const status = await runCli(argv, { stdout, stderr, stdin: Readable.from([stdinText]), env });
  return { status, stdout: out.join(""), stderr: err.join("") };
}

/** Ten minutes of one service at 97% CPU: enough for a CPU alert, a notification and a resolution. */
function lines(): string {
  const out: string[] = [];
  const t0 = Date.parse("2026-01-01T00:00:00Z");
  for (let i = 0; i < 600; i++) {
    out.push(
      JSON.stringify({
        timestamp: new Date(t0 + i * 1000).toISOString(),
        service: "api-gateway",
        level: "INFO",
        event_type: "metric",
        message: "host metrics sample",
        metrics: { cpu_pct: i < 300 ? 97 : 20, memory_pct: 40, latency_ms: 0 },
        status_code: null,
        source_ip: null,
        user: null,
        request_id: null,
      }),
    );
  }
  return `${out.join("\n")}\n`;
}

describe("npm run local -- --dashboard", () => {
  it("prints the address and token, and the run's summary is the same as without it", async () => {
    const input = lines();
    const plain = await cli(["--input", "-", "--quiet"], input);
    const withDashboard = await cli(["--input", "-", "--quiet", "--dashboard", "--port", "0"], input, {
      DASHBOARD_TOKEN: "a-token-of-twenty-chars",
    });
    expect(withDashboard.status, withDashboard.stderr).toBe(0);
    expect(withDashboard.stdout).toMatch(
      /dashboard: http:\/\/127\.0\.0\.1:\d+\/#token=a-token-of-twenty-chars\n/,
    );
    // Everything but the wall-clock figures.
    const summaryOf = (text: string) =>
      text.slice(text.indexOf("Summary (")).replace(/in [\d.]+ s wall|[\d,]+ events\/s/g, "");
    expect(summaryOf(withDashboard.stdout)).toContain("high_cpu");
    expect(summaryOf(withDashboard.stdout)).toBe(summaryOf(plain.stdout));
  });

  it("exits 2 with a clear message when the port is taken or the token is too short", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const busy = await cli(["--input", "-", "--quiet", "--dashboard", "--port", String(port)], lines());
      expect(busy.status).toBe(2);
      expect(busy.stderr).toContain(`--dashboard cannot listen on 127.0.0.1:${port}: EADDRINUSE`);
    } finally {
      taken.close();
    }
    const short = await cli(["--input", "-", "--quiet", "--dashboard", "--port", "0"], lines(), {
      DASHBOARD_TOKEN: "short",
    });
    expect(short.status).toBe(2);
    expect(short.stderr).toContain("DASHBOARD_TOKEN must be at least 16 characters");
  });
});
