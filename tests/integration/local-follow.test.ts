/**
 * `npm run local -- --input FILE --follow`: the file grows, is rotated (rename + new file) and
 * truncated while the runner reads it; every line is read exactly once and alerts arrive while the
 * run goes on, not at its end.
 */
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { parseRunArgs } from "../../local/args.js";
import { followLines } from "../../local/follow.js";
import { runLocal } from "../../local/runner.js";

const dir = mkdtempSync(join(tmpdir(), "follow-"));

function failure(pid: number, second: number, ip: string): string {
  return `Mar 14 03:11:${String(second).padStart(2, "0")} web1 sshd[${pid}]: Failed password for root from ${ip} port ${40000 + pid} ssh2`;
}

async function until(what: string, check: () => boolean, timeoutMs = 8000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function lines(path: string): string[] {
  return existsSync(path)
    ? readFileSync(path, "utf8")
        .split("\n")
        .filter((l) => l !== "")
    : [];
}

describe("follow mode", () => {
  it("reads appends, a rotation and a truncation exactly once, with live alerts", async () => {
    const log = join(dir, "auth.log");
    const out = join(dir, "events.jsonl");
    const alerts = join(dir, "alerts.jsonl");
    const config = join(dir, "config.json");
    writeFileSync(config, JSON.stringify({ alerting: { group_wait_s: 0 } }));
    writeFileSync(log, `${failure(1, 0, "192.0.2.1")}\n`);
    const parsed = parseRunArgs([
      "--input",
      log,
      "--format",
      "sshd",
      "--follow",
      "--events-out",
      out,
      "--alerts",
      alerts,
      "--config",
      config,
      "--quiet",
    ]);
    if (parsed.kind !== "run") throw new Error(JSON.stringify(parsed));
    const stop = new AbortController();
    const run = runLocal(parsed.options, {
      stdout: new PassThrough(),
      stderr: new PassThrough(),
      stdin: Readable.from([]),
      signal: stop.signal,
    });
    try {
      // Appends, the last one split across two writes.
      appendFileSync(log, `${failure(2, 1, "192.0.2.1")}\n${failure(3, 2, "192.0.2.1")}\n`);
      appendFileSync(log, failure(4, 3, "192.0.2.1").slice(0, 30));
      await sleep(300);
      appendFileSync(log, `${failure(4, 3, "192.0.2.1").slice(30)}\n`);
      // Rotation: the old file gets one more line after the rename, then a new file appears.
      renameSync(log, `${log}.1`);
      appendFileSync(`${log}.1`, `${failure(5, 4, "192.0.2.1")}\n`);
      await sleep(300);
      writeFileSync(log, `${failure(6, 5, "192.0.2.2")}\n${failure(7, 6, "192.0.2.2")}\n`);
      // The fifth failure of 192.0.2.1 is in: its ban must be notified while the run goes on.
      await until("the live ban notification", () => lines(alerts).some((l) => l.includes("192.0.2.1")));
      // Truncation, then new content shorter than what was read before.
      await sleep(300);
      truncateSync(log, 0);
      await sleep(300);
      appendFileSync(log, `${failure(8, 7, "192.0.2.3")}\n`);
      await until("all eight lines", () => lines(out).length >= 8);
    } finally {
      stop.abort();
    }
    const report = await run;
    const records = lines(out).map((l) => JSON.parse(l));
    expect(records.map((r) => r.line)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(records.map((r) => r.event.message.match(/port (\d+)/)?.[1])).toEqual([
      "40001",
      "40002",
      "40003",
      "40004",
      "40005",
      "40006",
      "40007",
      "40008",
    ]);
    expect(report.alerts).toMatchObject({ brute_force_ip: 1 });
    expect(report.input).toMatchObject({ lines: 8, events: 8, rejected: 0 });
  }, 30_000);

  it("yields a last line without a newline when the run ends", async () => {
    const path = join(dir, "tail.log");
    writeFileSync(path, "one\ntwo\nthree-without-newline");
    const stop = new AbortController();
    const seen: string[] = [];
    setTimeout(() => stop.abort(), 300);
    for await (const line of followLines(path, { signal: stop.signal, pollMs: 20 })) seen.push(line);
    expect(seen).toEqual(["one", "two", "three-without-newline"]);
  });
});
