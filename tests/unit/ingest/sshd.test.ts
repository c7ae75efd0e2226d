import { describe, expect, it } from "vitest";
import { SshdAdapter, type SshdMode } from "../../../shared/ingest/sshd.js";
import type { IngestContext, IngestResult } from "../../../shared/ingest/types.js";

const CONTEXT: IngestContext = { source: "/var/log/auth.log", receivedMs: Date.UTC(2026, 2, 20, 12, 0, 0) };

/** One verdict per line: "F host" failure, "S host" accepted login, "-" anything else. */
function verdicts(lines: readonly string[], mode: SshdMode = "normal"): string[] {
  const adapter = new SshdAdapter({ mode });
  return lines.map((line) => verdict(adapter.read(line, CONTEXT)));
}

function verdict(result: IngestResult): string {
  if (result.status !== "event") return "-";
  const host = result.event.source_ip ?? result.event.source_host;
  return `${result.event.event_type === "auth_failure" ? "F" : "S"} ${host}`;
}

/** Lines and the verdict fail2ban's sshd filter (normal mode) gives each, one connection at a time. */
const SINGLE_LINES: ReadonlyArray<readonly [string, string]> = [
  // Failed <method> for ...
  [
    "Mar 14 03:11:02 web1 sshd[20112]: Failed password for root from 203.0.113.9 port 51122 ssh2",
    "F 203.0.113.9",
  ],
  [
    "Mar 14 03:11:05 web1 sshd[20113]: Failed password for invalid user admin from 198.51.100.23 port 40412 ssh2",
    "F 198.51.100.23",
  ],
  [
    "Mar 14 03:11:07 web1 sshd[20114]: Failed none for invalid user guest from 192.0.2.77 port 33100 ssh2",
    "F 192.0.2.77",
  ],
  [
    "Mar 14 03:11:09 web1 sshd[20115]: Failed keyboard-interactive/pam for deploy from 2001:db8::17 port 60222 ssh2",
    "F 2001:db8::17",
  ],
  [
    "Mar 14 03:11:10 web1 sshd[20116]: Failed password for ubuntu from ::ffff:203.0.113.44 port 2231 ssh2",
    "F 203.0.113.44",
  ],
  [
    "Mar 14 03:11:11 web1 sshd[20117]: Failed password for root from scanner.example.net port 2231 ssh2",
    "F scanner.example.net",
  ],
  [
    "Mar 14 03:11:12 web1 sshd[20118]: Failed publickey for invalid user oracle from 192.0.2.150 port 51002 ssh2: RSA SHA256:Vx0j1yGvZ7sWkQfK5o3sB2bTqz0J0m0cQpF5c1nH9rY",
    "F 192.0.2.150",
  ],
  [
    "Mar 14 03:11:13 web1 sshd[20119]: Failed publickey for git from 192.0.2.151 port 51003 ssh2: ED25519 SHA256:abcdEFGHijklMNOPqrstUVWXyz0123456789abcdEFG",
    "-",
  ],
  // A user name that tries to smuggle a second " from <host>" is read up to the real host.
  [
    "Mar 14 03:11:14 web1 sshd[20120]: Failed password for invalid user x from 6.6.6.6 from 198.51.100.99 port 1234 ssh2",
    "F 198.51.100.99",
  ],
  // PAM and other authentication failures
  [
    "Mar 14 03:12:00 web1 sshd[20121]: error: PAM: Authentication failure for illegal user kim from 203.0.113.50",
    "F 203.0.113.50",
  ],
  [
    "Mar 14 03:12:01 web1 sshd[20122]: error: PAM: Authentication failure for root from 203.0.113.51 via 10.0.0.1",
    "F 203.0.113.51",
  ],
  [
    "Mar 14 03:12:02 web1 sshd[20123]: error: PAM: User not known to the underlying authentication module for illegal user zz from 203.0.113.52",
    "F 203.0.113.52",
  ],
  ["Mar 14 03:12:03 web1 sshd[20124]: ROOT LOGIN REFUSED FROM 203.0.113.53", "F 203.0.113.53"],
  ["Mar 14 03:12:04 web1 sshd[20125]: Invalid user test from 203.0.113.54 port 42240", "F 203.0.113.54"],
  ["Mar 14 03:12:05 web1 sshd[20126]: Illegal user test from 203.0.113.55", "F 203.0.113.55"],
  [
    "Mar 14 03:12:06 web1 sshd[20127]: User bob from 203.0.113.56 not allowed because not listed in AllowUsers",
    "F 203.0.113.56",
  ],
  [
    "Mar 14 03:12:07 web1 sshd[20128]: User bob from 203.0.113.57 not allowed because listed in DenyUsers",
    "F 203.0.113.57",
  ],
  [
    "Mar 14 03:12:08 web1 sshd[20129]: User bob from 203.0.113.58 not allowed because not in any group",
    "F 203.0.113.58",
  ],
  [
    "Mar 14 03:12:09 web1 sshd[20130]: User bob from 203.0.113.59 not allowed because a group is listed in DenyGroups",
    "F 203.0.113.59",
  ],
  [
    "Mar 14 03:12:10 web1 sshd[20131]: User bob from 203.0.113.60 not allowed because none of user's groups are listed in AllowGroups",
    "F 203.0.113.60",
  ],
  [
    "Mar 14 03:12:11 web1 sshd[20132]: refused connect from host.example.org (203.0.113.61)",
    "F 203.0.113.61",
  ],
  // Solaris message id, BSD verbose tag, no host name, two spaces, a bracketed IPv6.
  [
    "Mar 14 03:12:11 sol1 sshd[901]: [ID 800047 auth.info] Failed password for bob from 203.0.113.70 port 22 ssh2",
    "F 203.0.113.70",
  ],
  ["Mar 14 03:12:11 <auth.info> bsd1 sshd[902]: Invalid user zz from 203.0.113.71", "F 203.0.113.71"],
  ["Mar 14 03:12:11 sshd[903]: Failed password for root from 203.0.113.72 port 22 ssh2", "F 203.0.113.72"],
  [
    "Mar 14 03:12:11 web1 sshd[904]:  Failed password for root from 203.0.113.73 port 22 ssh2",
    "F 203.0.113.73",
  ],
  [
    "Mar 14 03:12:11 web1 sshd[905]: Failed password for root from [2001:db8::74] port 22 ssh2",
    "F 2001:db8::74",
  ],
  [
    "Mar 14 03:12:12 web1 sshd[20133]: Received disconnect from 203.0.113.62 port 3322:3: com.jcraft.jsch.JSchException: Auth fail [preauth]",
    "F 203.0.113.62",
  ],
  [
    "Mar 14 03:12:13 web1 sshd[20134]: error: maximum authentication attempts exceeded for root from 203.0.113.63 port 48888 ssh2 [preauth]",
    "F 203.0.113.63",
  ],
  [
    "Mar 14 03:12:14 web1 sshd[20135]: Disconnecting invalid user admin 203.0.113.64 port 51111: Change of username or service not allowed: (admin,ssh-connection) -> (root,ssh-connection) [preauth]",
    "F 203.0.113.64",
  ],
  // Not failures on their own
  [
    "Mar 14 03:13:00 web1 sshd[20140]: Accepted password for alice from 192.0.2.10 port 50000 ssh2",
    "S 192.0.2.10",
  ],
  ["Mar 14 03:13:01 web1 sshd[20141]: Connection closed by 192.0.2.11 port 50001 [preauth]", "-"],
  [
    "Mar 14 03:13:02 web1 sshd[20142]: Received disconnect from 192.0.2.12 port 50002:11: Bye Bye [preauth]",
    "-",
  ],
  [
    'Mar 14 03:13:03 web1 sshd[20143]: Connection from 192.0.2.13 port 50003 on 10.0.0.5 port 22 rdomain ""',
    "-",
  ],
  [
    "Mar 14 03:13:04 web1 sshd[20144]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.14  user=root",
    "-",
  ],
  [
    "Mar 14 03:13:05 web1 sshd[20145]: pam_unix(sshd:session): session opened for user alice(uid=1000) by (uid=0)",
    "-",
  ],
  ["Mar 14 03:13:06 web1 sshd[20146]: Server listening on 0.0.0.0 port 22.", "-"],
  ["Mar 14 03:13:07 web1 sshd[20147]: Did not receive identification string from 192.0.2.15 port 50007", "-"],
  ["Mar 14 03:13:08 web1 sshd[20148]: Connection reset by 192.0.2.16 port 50008 [preauth]", "-"],
  [
    "Mar 14 03:13:09 web1 sshd[20149]: Unable to negotiate with 192.0.2.17 port 50009: no matching key exchange method found. Their offer: diffie-hellman-group1-sha1 [preauth]",
    "-",
  ],
  [
    "Mar 14 03:13:10 web1 CRON[20150]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)",
    "-",
  ],
  [
    "Mar 14 03:13:11 web1 sudo: pam_unix(sudo:auth): authentication failure; logname=bob uid=1000 euid=0 tty=/dev/pts/0 ruser=bob rhost=  user=bob",
    "-",
  ],
];

describe("sshd adapter: fail2ban failregex families, one line each", () => {
  it.each(SINGLE_LINES)("%s", (line, expected) => {
    expect(verdicts([line])).toEqual([expected]);
  });
});

describe("sshd adapter: multi-line connections by pid", () => {
  it("a failure without a host takes the host a helper line gave its connection", () => {
    expect(
      verdicts([
        "Mar 14 04:00:00 web1 sshd[3001]: Connection from 198.51.100.5 port 40000 on 10.0.0.5 port 22",
        "Mar 14 04:00:01 web1 sshd[3001]: User root not allowed because account is locked",
        "Mar 14 04:00:02 web1 sshd[3001]: Connection closed by 198.51.100.5 port 40000 [preauth]",
      ]),
    ).toEqual(["-", "F 198.51.100.5", "-"]);
  });

  it("without a known host the failure waits and counts nothing", () => {
    expect(
      verdicts([
        "Mar 14 04:01:00 web1 sshd[3002]: User root not allowed because account is locked",
        "Mar 14 04:01:01 web1 sshd[3002]: Connection closed by 198.51.100.6 port 40001 [preauth]",
      ]),
    ).toEqual(["-", "-"]);
  });

  it("Too many authentication failures after failed public keys counts once, with the host", () => {
    expect(
      verdicts([
        "Mar 14 04:02:00 web1 sshd[3003]: Failed publickey for git from 198.51.100.7 port 40002 ssh2: RSA SHA256:aaaa",
        "Mar 14 04:02:00 web1 sshd[3003]: Failed publickey for git from 198.51.100.7 port 40002 ssh2: ECDSA SHA256:bbbb",
        "Mar 14 04:02:01 web1 sshd[3003]: error: Disconnecting: Too many authentication failures for git [preauth]",
      ]),
    ).toEqual(["-", "-", "F 198.51.100.7"]);
  });

  it("an accepted key after failed keys cancels them: no failure", () => {
    expect(
      verdicts([
        "Mar 14 04:03:00 web1 sshd[3004]: Failed publickey for git from 198.51.100.8 port 40003 ssh2: RSA SHA256:aaaa",
        "Mar 14 04:03:00 web1 sshd[3004]: Accepted publickey for git from 198.51.100.8 port 40003 ssh2: ED25519 SHA256:cccc",
        "Mar 14 04:03:05 web1 sshd[3004]: pam_unix(sshd:session): session opened for user git(uid=998) by (uid=0)",
      ]),
    ).toEqual(["-", "S 198.51.100.8", "-"]);
  });

  it("several users tried on one connection: the second and the Accepted count as failures", () => {
    expect(
      verdicts([
        "Mar 14 04:04:00 web1 sshd[3005]: Failed publickey for alice from 198.51.100.9 port 40004 ssh2: RSA SHA256:aaaa",
        "Mar 14 04:04:01 web1 sshd[3005]: Failed publickey for bob from 198.51.100.9 port 40004 ssh2: RSA SHA256:bbbb",
        "Mar 14 04:04:02 web1 sshd[3005]: Accepted publickey for bob from 198.51.100.9 port 40004 ssh2: RSA SHA256:bbbb",
      ]),
    ).toEqual(["-", "F 198.51.100.9", "F 198.51.100.9"]);
  });

  it("connections are kept apart by pid", () => {
    expect(
      verdicts([
        "Mar 14 04:05:00 web1 sshd[3006]: Connection from 198.51.100.10 port 1 on 10.0.0.5 port 22",
        "Mar 14 04:05:00 web1 sshd[3007]: Connection from 198.51.100.11 port 2 on 10.0.0.5 port 22",
        "Mar 14 04:05:01 web1 sshd[3007]: Disconnecting: Too many authentication failures [preauth]",
        "Mar 14 04:05:01 web1 sshd[3006]: User admin not allowed because account is locked",
      ]),
    ).toEqual(["-", "-", "F 198.51.100.11", "F 198.51.100.10"]);
  });

  it("the session pid of OpenSSH 9.8 (sshd-session) is read the same way", () => {
    expect(
      verdicts([
        "Mar 14 04:06:00 web1 sshd-session[3008]: Failed password for root from 198.51.100.12 port 22 ssh2",
      ]),
    ).toEqual(["F 198.51.100.12"]);
  });
});

describe("sshd adapter: modes", () => {
  const scanner = [
    "Mar 14 05:00:00 web1 sshd[4001]: Did not receive identification string from 192.0.2.200 port 61000",
    "Mar 14 05:00:01 web1 sshd[4002]: Connection closed by authenticating user root 192.0.2.201 port 61001 [preauth]",
    "Mar 14 05:00:02 web1 sshd[4003]: Unable to negotiate with 192.0.2.202 port 61002: no matching host key type found. Their offer: ssh-rsa [preauth]",
    "Mar 14 05:00:03 web1 sshd[4004]: Received disconnect from 192.0.2.203 port 61003:14: No supported authentication methods available [preauth]",
  ];
  it("normal mode counts none of the scanner lines", () => {
    expect(verdicts(scanner, "normal")).toEqual(["-", "-", "-", "-"]);
  });
  it("ddos counts identification and pre-auth disconnects", () => {
    expect(verdicts(scanner, "ddos")).toEqual(["F 192.0.2.200", "F 192.0.2.201", "-", "-"]);
  });
  it("extra counts negotiation failures", () => {
    expect(verdicts(scanner, "extra")).toEqual(["-", "-", "F 192.0.2.202", "F 192.0.2.203"]);
  });
  it("aggressive counts all four", () => {
    expect(verdicts(scanner, "aggressive")).toEqual([
      "F 192.0.2.200",
      "F 192.0.2.201",
      "F 192.0.2.202",
      "F 192.0.2.203",
    ]);
  });
});

describe("sshd adapter: timestamps and line shapes", () => {
  it("infers the year of a classic syslog date from the received time, across New Year", () => {
    const adapter = new SshdAdapter();
    const jan = { source: "auth.log", receivedMs: Date.UTC(2027, 0, 2) };
    const dec = adapter.read(
      "Dec 31 23:59:58 h sshd[1]: Failed password for root from 192.0.2.1 port 1 ssh2",
      jan,
    );
    const newYear = adapter.read(
      "Jan  1 00:00:01 h sshd[2]: Failed password for root from 192.0.2.1 port 1 ssh2",
      jan,
    );
    expect(dec.status === "event" && dec.event.timestamp).toBe("2026-12-31T23:59:58.000Z");
    expect(newYear.status === "event" && newYear.event.timestamp).toBe("2027-01-01T00:00:01.000Z");
  });

  it("applies --year and --timezone to zone-less times", () => {
    const adapter = new SshdAdapter({ year: 2025, timezone: "Europe/Paris" });
    const summer = adapter.read(
      "Jul  4 12:00:00 h sshd[1]: Failed password for root from 192.0.2.1 port 1 ssh2",
      CONTEXT,
    );
    const winter = adapter.read(
      "Jan  4 12:00:00 h sshd[1]: Failed password for root from 192.0.2.1 port 1 ssh2",
      CONTEXT,
    );
    expect(summer.status === "event" && summer.event.timestamp).toBe("2025-07-04T10:00:00.000Z");
    expect(winter.status === "event" && winter.event.timestamp).toBe("2025-01-04T11:00:00.000Z");
  });

  it("reads ISO 8601, RFC 5424 and journal lines", () => {
    const lines = [
      "2026-03-14T06:00:00.123456+01:00 web1 sshd[5001]: Failed password for root from 192.0.2.31 port 1 ssh2",
      "<38>1 2026-03-14T05:00:01.000Z web1 sshd 5002 - - Failed password for invalid user pi from 192.0.2.32 port 2 ssh2",
      "sshd[5003]: Failed password for root from 192.0.2.33 port 3 ssh2",
      "web1 sshd[5004]: Invalid user oracle from 192.0.2.34 port 4",
    ];
    const adapter = new SshdAdapter();
    const results = lines.map((line) => adapter.read(line, CONTEXT));
    expect(results.map(verdict)).toEqual(["F 192.0.2.31", "F 192.0.2.32", "F 192.0.2.33", "F 192.0.2.34"]);
    expect(results.map((r) => (r.status === "event" ? r.event.timestamp : r.status))).toEqual([
      "2026-03-14T05:00:00.123Z",
      "2026-03-14T05:00:01.000Z",
      // Journal lines without a timestamp take the last one seen, as fail2ban does.
      "2026-03-14T05:00:01.000Z",
      "2026-03-14T05:00:01.000Z",
    ]);
  });

  it("carries user, service and missing (not zero) metrics", () => {
    const result = new SshdAdapter().read(
      "Mar 14 03:11:05 web1 sshd[1]: Failed password for invalid user admin from 198.51.100.23 port 40412 ssh2",
      CONTEXT,
    );
    expect(result).toMatchObject({
      status: "event",
      event: {
        service: "auth",
        user: "admin",
        event_type: "auth_failure",
        metrics: { cpu_pct: null, memory_pct: null, latency_ms: null },
        status_code: null,
      },
    });
  });

  it("refuses impossible dates and lines that are not syslog", () => {
    const adapter = new SshdAdapter();
    expect(
      adapter.read("Feb 30 10:00:00 h sshd[1]: Failed password for x from 192.0.2.1 port 1 ssh2", CONTEXT),
    ).toMatchObject({
      status: "rejected",
      reason: "bad_timestamp",
    });
    expect(adapter.read('{"level":"info","msg":"hello"}', CONTEXT)).toMatchObject({
      status: "rejected",
      reason: "unrecognised_line",
    });
  });

  it("keeps connections across snapshot and restore", () => {
    const first = new SshdAdapter();
    first.read(
      "Mar 14 04:00:00 web1 sshd[3001]: Connection from 198.51.100.5 port 40000 on 10.0.0.5 port 22",
      CONTEXT,
    );
    const second = new SshdAdapter();
    second.restore(JSON.parse(JSON.stringify(first.snapshot())));
    expect(
      verdict(
        second.read(
          "Mar 14 04:00:01 web1 sshd[3001]: User root not allowed because account is locked",
          CONTEXT,
        ),
      ),
    ).toBe("F 198.51.100.5");
  });
});
