/**
 * `npm run local -- --input FILE --format ...` on real-world log formats, in process: sshd with
 * --events-out, an nginx log with a prober, a mixed Lambda/container file read with `auto`, and
 * the summary's rejected lines and format hint.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { parseRunArgs, type RunOptions } from "../../local/args.js";
import { formatSummary } from "../../local/report.js";
import { runLocal } from "../../local/runner.js";

const dir = mkdtempSync(join(tmpdir(), "formats-"));

function options(argv: string[]): RunOptions {
  const parsed = parseRunArgs(argv);
  if (parsed.kind !== "run") throw new Error(`bad test arguments: ${JSON.stringify(parsed)}`);
  return parsed.options;
}

function io() {
  const stdout = new PassThrough();
  const printed: string[] = [];
  stdout.on("data", (chunk: Buffer) => printed.push(chunk.toString()));
  return { io: { stdout, stderr: new PassThrough(), stdin: Readable.from([]) }, printed };
}

function file(name: string, lines: readonly string[]): string {
  const path = join(dir, name);
  writeFileSync(path, `${lines.join("\n")}\n`);
  return path;
}

/** One connection per attempt, as sshd logs them; `fail` says whether fail2ban counts the line. */
const AUTH_LOG: ReadonlyArray<{ line: string; host: string | null }> = [
  {
    line: 'Mar 14 03:10:58 web1 sshd[20111]: Connection from 203.0.113.9 port 51120 on 10.0.0.5 port 22 rdomain ""',
    host: null,
  },
  {
    line: "Mar 14 03:11:02 web1 sshd[20112]: Failed password for root from 203.0.113.9 port 51122 ssh2",
    host: "203.0.113.9",
  },
  {
    line: "Mar 14 03:11:03 web1 sshd[20112]: Failed password for root from 203.0.113.9 port 51122 ssh2",
    host: "203.0.113.9",
  },
  {
    line: "Mar 14 03:11:03 web1 sshd[20112]: error: maximum authentication attempts exceeded for root from 203.0.113.9 port 51122 ssh2 [preauth]",
    host: "203.0.113.9",
  },
  {
    line: "Mar 14 03:11:03 web1 sshd[20112]: Disconnecting authenticating user root 203.0.113.9 port 51122: Too many authentication failures [preauth]",
    host: null,
  },
  {
    line: "Mar 14 03:11:04 web1 CRON[999]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)",
    host: null,
  },
  {
    line: "Mar 14 03:11:05 web1 sshd[20113]: Invalid user admin from 2001:db8::66 port 40412",
    host: "2001:db8::66",
  },
  { line: "Mar 14 03:11:06 web1 sshd[20113]: pam_unix(sshd:auth): check pass; user unknown", host: null },
  {
    line: "Mar 14 03:11:06 web1 sshd[20113]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=2001:db8::66",
    host: null,
  },
  {
    line: "Mar 14 03:11:08 web1 sshd[20113]: Failed password for invalid user admin from 2001:db8::66 port 40412 ssh2",
    host: "2001:db8::66",
  },
  {
    line: "Mar 14 03:11:09 web1 sshd[20114]: Failed password for invalid user oracle from ::ffff:198.51.100.4 port 40413 ssh2",
    host: "198.51.100.4",
  },
  {
    line: "Mar 14 03:11:10 web1 sshd[20115]: Accepted publickey for alice from 192.0.2.10 port 50000 ssh2: ED25519 SHA256:abc",
    host: null,
  },
  {
    line: "Mar 14 03:11:10 web1 sshd[20115]: pam_unix(sshd:session): session opened for user alice(uid=1000) by (uid=0)",
    host: null,
  },
  {
    line: "Mar 14 03:11:11 web1 sshd[20116]: Connection closed by 203.0.113.9 port 40414 [preauth]",
    host: null,
  },
  {
    line: "Mar 14 03:11:12 web1 sshd[20117]: User carol from bad.example.net not allowed because not listed in AllowUsers",
    host: "bad.example.net",
  },
  {
    line: "Mar 14 03:11:13 web1 sshd[20118]: Received disconnect from 203.0.113.12 port 2200:11: Bye Bye [preauth]",
    host: null,
  },
  {
    line: "Mar 14 03:11:14 web1 sshd[20119]: Failed publickey for deploy from 203.0.113.13 port 2201 ssh2: RSA SHA256:xyz",
    host: null,
  },
  {
    line: "Mar 14 03:11:15 web1 sshd[20119]: Disconnecting: Too many authentication failures for deploy [preauth]",
    host: "203.0.113.13",
  },
];

describe("local runner on real formats", () => {
  it("sshd + --events-out: exactly the lines fail2ban counts are auth_failure events, with the same host", async () => {
    const input = file(
      "auth.log",
      AUTH_LOG.map((entry) => entry.line),
    );
    const out = join(dir, "e.jsonl");
    const { io: runIo } = io();
    const report = await runLocal(
      options(["--input", input, "--format", "sshd", "--events-out", out, "--quiet"]),
      runIo,
    );
    const records = readFileSync(out, "utf8")
      .trim()
      .split("\n")
      .map((text) => JSON.parse(text));
    expect(records.map((r) => r.line)).toEqual(AUTH_LOG.map((_, i) => i + 1));
    const failures = records.map((r) =>
      r.status === "event" && r.event.event_type === "auth_failure"
        ? (r.event.source_ip ?? r.event.source_host)
        : null,
    );
    expect(failures).toEqual(AUTH_LOG.map((entry) => entry.host));
    expect(records[4]).toEqual({ line: 5, status: "skipped", reason: "sshd_other" });
    expect(report.rejected).toEqual({});
    // 203.0.113.9 failed three times: under the jail's five, so no ban.
    expect(report.alerts).toEqual({});
  });

  it("nginx: one prober among ordinary traffic with a few 404s gives exactly one probing alert naming it", async () => {
    const lines: string[] = [];
    const stamp = (s: number) => {
      const whole = Math.floor(s);
      return `14/Mar/2026:05:${String(Math.floor(whole / 60)).padStart(2, "0")}:${String(whole % 60).padStart(2, "0")} +0000`;
    };
    const pages = ["/", "/products", "/products/42", "/cart", "/checkout", "/static/app.js", "/img/logo.png"];
    for (let s = 0; s < 600; s += 0.5) {
      const client = `198.51.100.${(s * 2) % 40}`;
      const path = pages[Math.floor(s * 2) % pages.length] as string;
      const status = Math.floor(s * 2) % 97 === 0 ? 404 : 200;
      lines.push(
        `${client} - - [${stamp(s)}] "GET ${status === 404 ? `/old${s}` : path} HTTP/1.1" ${status} 512 "-" "Mozilla/5.0"`,
      );
      if (s >= 120 && s < 122) {
        // The prober: 15 distinct missing paths within two seconds.
        for (let i = 0; i < 8 && lines.length > 0; i++) {
          const n = (s - 120) * 16 + i;
          if (n < 15)
            lines.push(
              `203.0.113.66 - - [${stamp(s)}] "GET /.env${n === 0 ? "" : `.${n}`} HTTP/1.1" 404 153 "-" "zgrab/0.x"`,
            );
        }
      }
    }
    const input = file("access.log", lines);
    const alertsPath = join(dir, "alerts.jsonl");
    const { io: runIo } = io();
    const report = await runLocal(
      options(["--input", input, "--format", "nginx", "--alerts", alertsPath, "--quiet"]),
      runIo,
    );
    expect(report.rejected).toEqual({});
    expect(report.alerts.http_probing).toBe(1);
    const notifications = readFileSync(alertsPath, "utf8")
      .trim()
      .split("\n")
      .map((text) => JSON.parse(text));
    const probing = notifications
      .flatMap((n) => n.alerts)
      .filter((a: { type: string }) => a.type === "http_probing");
    expect(new Set(probing.map((a: { entity: string }) => a.entity))).toEqual(new Set(["203.0.113.66"]));
  });

  it("auto on a mixed file (Powertools, START/END/REPORT, Docker-wrapped JSON, native): 0 rejected", async () => {
    const powertools = (s: number, level: string, message: string) =>
      JSON.stringify({
        level,
        message,
        timestamp: `2026-03-14T05:00:0${s}.000Z`,
        service: "orders",
        cold_start: false,
        function_request_id: "r-1",
      });
    const native = JSON.stringify({
      timestamp: "2026-03-14T05:00:05.000Z",
      service: "checkout",
      level: "INFO",
      event_type: "request",
      message: "GET /cart 200",
      metrics: { cpu_pct: 41, memory_pct: 63, latency_ms: 12 },
      status_code: 200,
      source_ip: "10.0.0.7",
      user: null,
      request_id: "r1",
    });
    const lines = [
      "START RequestId: 6f9c1e2a-5b3d-4c7e-9f11-2a3b4c5d6e7f Version: $LATEST",
      powertools(1, "INFO", "order received"),
      powertools(2, "WARN", "stock low"),
      "END RequestId: 6f9c1e2a-5b3d-4c7e-9f11-2a3b4c5d6e7f",
      "REPORT RequestId: 6f9c1e2a-5b3d-4c7e-9f11-2a3b4c5d6e7f\tDuration: 87.31 ms\tBilled Duration: 88 ms\tMemory Size: 512 MB\tMax Memory Used: 81 MB\tInit Duration: 240.02 ms\t",
      JSON.stringify({
        log: `${powertools(3, "ERROR", "payment failed")}\n`,
        stream: "stderr",
        time: "2026-03-14T05:00:03.100Z",
      }),
      JSON.stringify({ log: `${native}\n`, stream: "stdout", time: "2026-03-14T05:00:05.100Z" }),
      native,
    ];
    const input = file("mixed.log", lines);
    const out = join(dir, "mixed.jsonl");
    const { io: runIo, printed } = io();
    const report = await runLocal(options(["--input", input, "--events-out", out]), runIo);
    expect(report.rejected).toEqual({});
    expect(report.input).toMatchObject({ format: "auto", lines: 8, events: 6, rejected: 0 });
    expect(formatSummary(report)).toContain("Input (--format auto): 8 lines, 6 events, 2 skipped");
    expect(printed.join("")).not.toContain("rejected reason");
  });

  it("the summary shows the first rejected lines and, when most are rejected, the format that reads them", async () => {
    const input = file("nginx-as-json.log", [
      '203.0.113.7 - - [14/Mar/2026:05:00:00 +0000] "GET / HTTP/1.1" 200 512 "-" "curl/8.5.0"',
      '203.0.113.8 - - [14/Mar/2026:05:00:01 +0000] "GET /a HTTP/1.1" 404 10 "-" "curl/8.5.0"',
      '203.0.113.9 - - [14/Mar/2026:05:00:02 +0000] "GET /b HTTP/1.1" 200 10 "-" "curl/8.5.0"',
    ]);
    const { io: runIo } = io();
    const report = await runLocal(options(["--input", input, "--format", "json", "--quiet"]), runIo);
    const summary = formatSummary(report);
    expect(
      summary.startsWith(
        "More than half the lines were rejected (3 of 3, 100%) reading them as --format json.",
      ),
    ).toBe(true);
    expect(summary).toContain("They read as --format nginx: try that.");
    expect(summary).toContain("line 1: malformed_json:");
    expect(report.input?.first_rejected.map((r) => r.line)).toEqual([1, 2, 3]);
  });
});
