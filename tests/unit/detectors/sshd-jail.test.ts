import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG } from "../../../shared/config/defaults.js";
import { AddressList } from "../../../shared/detectors/address-list.js";
import { SshdJailDetector } from "../../../shared/detectors/sshd-jail.js";
import type { LogEvent } from "../../../shared/log/schema.js";

const T0 = Date.UTC(2026, 2, 14, 3, 0, 0);

function failure(host: string, atS: number, origin = "sshd", connection = `web1 sshd[${atS}]:`): LogEvent {
  const timeMs = T0 + atS * 1000;
  const isName = /[a-z]/i.test(host) && !host.includes(":");
  return {
    timestamp: new Date(timeMs).toISOString(),
    timeMs,
    service: "auth",
    level: "WARN",
    event_type: "auth_failure",
    message: `Failed password for root from ${host} port 22 ssh2`,
    metrics: { cpu_pct: null, memory_pct: null, latency_ms: null },
    status_code: null,
    source_ip: isName ? null : host,
    user: "root",
    request_id: connection,
    source_host: isName ? host : null,
    origin,
  };
}

function run(events: LogEvent[], endS?: number, ignore: string[] = []) {
  const jail = new SshdJailDetector({ ...DEFAULT_CONFIG.detectors.sshd_jail, ignore_ips: ignore });
  const findings = events.flatMap((e) => [...jail.observe(e)]);
  if (endS !== undefined) findings.push(...jail.advance(T0 + endS * 1000));
  return findings.map((f) => `${f.status} ${f.entity} @${(f.atMs - T0) / 1000}`);
}

describe("sshd jail (fail2ban defaults: maxretry 5, findtime 600 s, bantime 600 s)", () => {
  it("bans a host on its fifth failure within ten minutes and lifts the ban after the ban time", () => {
    const events = [0, 100, 200, 300, 400].map((s) => failure("203.0.113.9", s));
    expect(run(events, 1001)).toEqual(["firing 203.0.113.9 @400", "resolved 203.0.113.9 @1001"]);
  });

  it("four failures, or five spread over more than ten minutes, ban nothing", () => {
    expect(
      run(
        [0, 10, 20, 30].map((s) => failure("203.0.113.9", s)),
        700,
      ),
    ).toEqual([]);
    expect(
      run(
        [0, 150, 300, 450, 601].map((s) => failure("203.0.113.9", s)),
        1300,
      ),
    ).toEqual([]);
  });

  it("counts per host, host names included", () => {
    const events = [0, 1, 2, 3].flatMap((s) => [
      failure("198.51.100.1", s),
      failure("scanner.example.net", s),
    ]);
    events.push(failure("scanner.example.net", 4));
    expect(run(events)).toEqual(["firing scanner.example.net @4"]);
  });

  it("never counts hosts on the ignore list (addresses, CIDR ranges, names)", () => {
    const hosts = ["10.1.2.3", "2001:db8::5", "bastion.internal", "192.0.2.8"];
    const events = hosts.flatMap((h) => [0, 1, 2, 3, 4].map((s) => failure(h, s)));
    expect(run(events, undefined, ["10.0.0.0/8", "2001:db8::/32", "bastion.internal"])).toEqual([
      "firing 192.0.2.8 @4",
    ]);
  });

  it("ignores failures that did not come from sshd logs (those go to the generic brute-force rule)", () => {
    expect(run([0, 1, 2, 3, 4].map((s) => failure("192.0.2.8", s, "json")))).toEqual([]);
  });

  it("an accepted login cancels its own connection's failures, not other connections'", () => {
    const jail = new SshdJailDetector(DEFAULT_CONFIG.detectors.sshd_jail);
    const conn = "web1 sshd[77]:";
    for (const s of [0, 1, 2]) jail.observe(failure("192.0.2.8", s, "sshd", conn));
    jail.observe({ ...failure("192.0.2.8", 3, "sshd", conn), event_type: "auth_success", level: "INFO" });
    // Two more failures on other connections: 2, not 5, in the window.
    const found = [4, 5].flatMap((s) => [...jail.observe(failure("192.0.2.8", s))]);
    expect(found).toEqual([]);
    const more = [6, 7, 8].flatMap((s) => [...jail.observe(failure("192.0.2.8", s))]);
    expect(more.map((f) => f.status)).toEqual(["firing"]);
  });

  it("says the ban time in the finding, so block_ip lasts exactly as long", () => {
    const jail = new SshdJailDetector({ ...DEFAULT_CONFIG.detectors.sshd_jail, ban_time_s: 3600 });
    const found = [0, 1, 2, 3, 4].flatMap((s) => [...jail.observe(failure("192.0.2.8", s))]);
    expect(found[0]?.details).toMatchObject({ ban_time_s: 3600, max_retry: 5, find_time_s: 600 });
  });

  it("keeps counts and bans across snapshot and restore", () => {
    const first = new SshdJailDetector(DEFAULT_CONFIG.detectors.sshd_jail);
    for (const s of [0, 1, 2, 3]) first.observe(failure("192.0.2.8", s));
    const second = new SshdJailDetector(DEFAULT_CONFIG.detectors.sshd_jail);
    second.restore(JSON.parse(JSON.stringify(first.snapshot())));
    expect(second.observe(failure("192.0.2.8", 5)).map((f) => f.status)).toEqual(["firing"]);
  });
});

describe("address list", () => {
  it("matches addresses, ranges, mapped IPv4 and names; reports invalid entries", () => {
    const list = new AddressList([
      "127.0.0.1/8",
      "::1",
      "192.0.2.0/24",
      "2001:db8:abcd::/48",
      "gw.lan",
      "300.1.1.1",
      "1.2.3.4/40",
    ]);
    expect(list.invalid).toEqual(["300.1.1.1", "1.2.3.4/40"]);
    expect(list.has("127.3.4.5")).toBe(true);
    expect(list.has("0:0:0:0:0:0:0:1")).toBe(true);
    expect(list.has("::ffff:192.0.2.77")).toBe(true);
    expect(list.has("2001:db8:abcd:12::1")).toBe(true);
    expect(list.has("2001:db8:abce::1")).toBe(false);
    expect(list.has("GW.lan")).toBe(true);
    expect(list.has("198.51.100.1")).toBe(false);
  });
});
