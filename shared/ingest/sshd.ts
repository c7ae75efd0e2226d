/**
 * OpenSSH server logs (auth.log, secure, journal output) read with the semantics of fail2ban's sshd
 * filter (config/filter.d/sshd.conf, default `normal` mode, `publickey = nofail`):
 *
 * - which messages are failures, in fail2ban's order (the first rule that matches a line decides);
 * - the host: IPv4, IPv6 (brackets dropped), an IPv4 with an `::ffff:` prefix as the bare IPv4,
 *   or a host name, kept as written (sshd with UseDNS);
 * - multi-line sequences by connection (the syslog prefix with its pid, fail2ban's MLFID): a helper
 *   line (NOFAIL: "Connection from", "Failed publickey", PAM's "authentication failure") gives the
 *   connection its host, so a later failure without one ("account is locked", "Too many
 *   authentication failures") counts on its own line with that host;
 * - "Accepted" ends the connection and counts nothing, unless the connection tried several users:
 *   then it, like every later helper line naming a user, counts as a failure;
 * - `ddos`, `extra` and `aggressive` modes add fail2ban's extra rules for scanners.
 *
 * A failure is an `auth_failure` event; an accepted login an `auth_success` event; every other line
 * of sshd is a skip with the reason, and so is a line of another program in the same file.
 */
import type { LogEvent } from "../log/schema.js";
import { readSyslogTime } from "./syslog.js";
import { isoOf, TimeZone } from "./time.js";
import {
  type AdapterOptions,
  type IngestContext,
  type IngestResult,
  type LineAdapter,
  lineTime,
  quoteLine,
  rejected,
  serviceFromSource,
  skipped,
} from "./types.js";

export const SSHD_MODES = ["normal", "ddos", "extra", "aggressive"] as const;
export type SshdMode = (typeof SSHD_MODES)[number];

export interface SshdOptions extends AdapterOptions {
  mode?: SshdMode;
}

// Building blocks of fail2ban's <HOST>, __suff, __on_port_opt, __authng_user and __alg_match.
const HOST = String.raw`(?:(?:::f{4,6}:)?(?<ip4>(?:\d{1,3}\.){3}\d{1,3})|\[?(?<ip6>(?:[0-9a-fA-F]{1,4}::?|:){1,7}(?:[0-9a-fA-F]{1,4}|(?<=:):))\]?|(?<dns>[\w\-.^_]*\w))`;
const SUFF = String.raw`(?: (?:port \d+|on \S+|\[preauth\])){0,3}\s*`;
const ON_PORT = String.raw`(?: (?:port \d+|on \S+)){0,2}`;
const AUTHNG_USER = String.raw`(?: (?:invalid|authenticating) user (?<user>\S+|.*?))?`;
const ALG = String.raw`(?:(?:\w+ (?!found\b)){0,2}\w+)`;
const NO_FROM = String.raw`(?:(?! from ).)`;

/** What a matched rule says about a line, before the connection's memory is merged in. */
interface RuleMatch {
  /** Not a failure by itself (fail2ban F-NOFAIL); an access gained (F-MLFGAINED) is one too. */
  nofail: boolean;
  /** The connection ends here (F-MLFFORGET). */
  forget: boolean;
  gained: boolean;
  /** The host named on the line; undefined when the rule has no host at all. */
  host: Host | undefined;
  /** The user group: undefined when the rule has none, null when it has one that did not match. */
  user: string | null | undefined;
}

interface Host {
  /** An address (IPv4 or IPv6) or a name. */
  kind: "ip" | "name";
  value: string;
}

interface Rule {
  /** The content must start with one of these (a cheap test before any regular expression). */
  leads: readonly string[];
  patterns: readonly RegExp[];
  hasHost: boolean;
  hasUser: boolean;
}

function rule(leads: readonly string[], ...sources: string[]): Rule {
  return {
    leads,
    patterns: sources.map((source) => new RegExp(source)),
    hasHost: sources.some((source) => source.includes("(?<ip4>")),
    hasUser: sources.some((source) => source.includes("(?<user>")),
  };
}

// fail2ban's `Failed <method> for (invalid user )?<user> from <HOST>...` uses a conditional group
// that JavaScript lacks; its four branches are tried here in the order Python's backtracking takes.
function failedBranches(head: string, invalidOnly: boolean): string[] {
  const tail = `from ${HOST}${ON_PORT}(?: ssh\\d*)?`;
  const branches = [
    `${head}invalid user (?<user>\\S+) ${tail}: `,
    `${head}invalid user (?<user>${NO_FROM}*?) ${tail}${NO_FROM}*$`,
  ];
  if (!invalidOnly) {
    branches.push(`${head}(?<user>\\S+) ${tail}: `, `${head}(?<user>[^:]+) ${tail}${NO_FROM}*$`);
  }
  return branches;
}

const USER_NOT_ALLOWED = (reason: string) =>
  rule(["User "], `^User (?<user>\\S+|.*?) from ${HOST} not allowed because ${reason}${SUFF}$`);

const COMMON_RULES: readonly Rule[] = [
  rule(
    ["Authentication ", "authentication "],
    `^[aA]uthentication (?:failure|error|failed) for (?<user>.*) from ${HOST}( via \\S+)?${SUFF}$`,
  ),
  rule(
    ["User not known"],
    `^User not known to the underlying authentication module for (?<user>.*) from ${HOST}${SUFF}$`,
  ),
  rule(["Failed publickey for invalid user "], ...failedBranches("^Failed publickey for ", true)),
  rule(["Failed "], ...failedBranches("^Failed (?:(?<nofail>publickey)|\\S+) for ", false)),
  rule(["ROOT LOGIN REFUSED"], `^(?<user>ROOT) LOGIN REFUSED FROM ${HOST}`),
  rule(
    ["Illegal user ", "illegal user ", "Invalid user ", "invalid user "],
    `^[iI](?:llegal|nvalid) user (?<user>.*?) from ${HOST}${SUFF}$`,
  ),
  USER_NOT_ALLOWED("not listed in AllowUsers"),
  USER_NOT_ALLOWED("listed in DenyUsers"),
  USER_NOT_ALLOWED("not in any group"),
  rule(["refused connect from "], `^refused connect from \\S+ \\(${HOST}\\)`),
  rule(
    ["Received disconnect from "],
    `^Received (?<forget>disconnect) from ${HOST}${ON_PORT}:\\s*3: .*: Auth fail${SUFF}$`,
  ),
  USER_NOT_ALLOWED("a group is listed in DenyGroups"),
  USER_NOT_ALLOWED("none of user's groups are listed in AllowGroups"),
  rule(
    ["pam_"],
    `^(?<nofail>pam_[a-z]+\\(sshd:auth\\):\\s+authentication failure;)(?:\\s+(?:(?:logname|e?uid|tty)=\\S*)){0,4}\\s+ruser=\\S*\\s+rhost=${HOST}(?:\\s+user=(?<user>\\S*))?${SUFF}$`,
  ),
  rule(
    ["maximum authentication attempts exceeded for "],
    `^maximum authentication attempts exceeded for (?<user>.*) from ${HOST}${ON_PORT}(?: ssh\\d*)?${SUFF}$`,
  ),
  rule(["User "], `^User (?<user>\\S+|.*?) not allowed because account is locked${SUFF}`),
  rule(
    ["Disconnecting"],
    `^(?<forget>Disconnecting)(?: from)?(?: (?:invalid|authenticating)) user (?<user>\\S+) ${HOST}${ON_PORT}:\\s*Change of username or service not allowed:\\s*.*\\[preauth\\]\\s*$`,
  ),
  rule(
    ["Disconnecting: Too many authentication failures"],
    `^Disconnecting: Too many authentication failures(?: for (?<user>\\S+|.*?))?${SUFF}$`,
  ),
  rule(
    ["Received disconnect from "],
    `^(?<nofail>Received (?<forget>disconnect)) from ${HOST}${ON_PORT}:\\s*11:`,
  ),
];

const MODE_OTHER: Record<SshdMode, Rule> = {
  normal: rule(
    ["Connection closed", "Disconnected"],
    `^(?<nofail>(?<forget>Connection closed|Disconnected)) (?:by|from)${AUTHNG_USER} ${HOST}(?:${SUFF}|\\s*)$`,
  ),
  ddos: rule(
    ["Connection closed", "Connection reset", "Disconnected"],
    `^(?<forget>Connection (?:closed|reset)|Disconnected) (?:by|from)${AUTHNG_USER} ${HOST}${ON_PORT}\\s+\\[preauth\\]\\s*$`,
  ),
  extra: rule(
    ["Disconnected"],
    `^(?<forget>Disconnected)(?: from)?(?: (?:invalid|authenticating)) user (?<user>\\S+|.*?) ${HOST}${ON_PORT} \\[preauth\\]\\s*$`,
  ),
  aggressive: rule(
    ["Connection closed", "Connection reset", "Disconnected"],
    `^(?<forget>Connection (?:closed|reset)|Disconnected) (?:by|from)${AUTHNG_USER} ${HOST}${ON_PORT}\\s+\\[preauth\\]\\s*$`,
  ),
};

const ACCEPTED = rule(
  ["Accepted "],
  `^(?<forget>(?<gained>Accepted \\w+)) for (?<user>\\S+) from ${HOST}(?:\\s|$)`,
);

const DDOS_RULES: readonly Rule[] = [
  rule(
    ["Did not receive identification string from "],
    `^Did not receive identification string from ${HOST}`,
  ),
  rule(
    ["kex_exchange_identification: "],
    "^kex_exchange_identification: (?:[Cc]lient sent invalid protocol identifier|[Cc]onnection closed by remote host)",
  ),
  rule(["Bad protocol version identification "], `^Bad protocol version identification '.*' from ${HOST}`),
  rule(
    ["SSH: Server;Ltype:"],
    `^(?<nofail>SSH: Server;Ltype:) (?:Authname|Version|Kex);Remote: ${HOST}-\\d+;[A-Z]\\w+:`,
  ),
  rule(["Read from socket failed: "], "^Read from socket failed: Connection (?<forget>reset) by peer"),
];

const EXTRA_RULES: readonly Rule[] = [
  rule(
    ["Received disconnect from "],
    `^Received (?<forget>disconnect) from ${HOST}${ON_PORT}:\\s*14: No(?: supported)? authentication methods available`,
  ),
  rule(
    ["Unable to negotiate with "],
    `^Unable to negotiate with ${HOST}${ON_PORT}: no matching ${ALG} found.`,
  ),
  rule(["Unable to negotiate a "], `^Unable to negotiate a ${ALG}`),
  rule(["no matching "], `^no matching ${ALG} found:`),
];

const FOOTER = rule(["Connection from "], `^(?<nofail>Connection from) ${HOST}`);

function rulesFor(mode: SshdMode): readonly Rule[] {
  const modeRules =
    mode === "ddos"
      ? DDOS_RULES
      : mode === "extra"
        ? EXTRA_RULES
        : mode === "aggressive"
          ? [...DDOS_RULES, ...EXTRA_RULES]
          : [];
  return [...COMMON_RULES, MODE_OTHER[mode], ACCEPTED, ...modeRules, FOOTER];
}

/**
 * fail2ban's common.conf `__prefix_line` (log type "file"): optional BSD verbose tag, host name,
 * kernel stamp, vserver tag, daemon with pid, Solaris message id; then sshd.conf's optional
 * "error: " / "fatal: " / "PAM: " prefix. Every part is optional, as in fail2ban, so the prefix
 * always matches; what it matched identifies the connection.
 */
const DAEMON = String.raw`[\[\(]?(?<daemon>sshd(?:-session|-auth)?)(?:\(\S+\))?[\]\)]?:?`;
const PREFIX = new RegExp(
  String.raw`^(?<prefix>(?:auth\.\w+\s+)?(?:\[\])?\s*(?:<[^.]+\.[^.]+>\s+)?(?:\S+\s+)?(?:kernel:\s?\[ *\d+\.\d+\]:?\s+)?(?:@vserver_\S+\s+)?(?:(?:\[(?<pid1>\d+)\]?:\s+${DAEMON.replace("daemon", "daemon1")}|${DAEMON}(?:\[(?<pid>\d+)\])?:?)\s+)?(?:\[ID \d+ \S+\]\s+)?)(?:(?:error|fatal): (?:PAM: )?)?(?<content>.+)$`,
);

/**
 * The usual shape, "host sshd[pid]: ", read without the general prefix expression (which would
 * give the same connection id and content); anything else takes the general one.
 */
const COMMON_PREFIX =
  /^([^\s<[]\S*) (sshd(?:-session|-auth)?)\[(\d+)\]:\s+((?:\[ID \d+ \S+\]\s+)?)(?:(?:error|fatal): (?:PAM: )?)?/;

/** RFC 5424 app names of sshd. */
const SSHD_APP = /^[[(]?sshd(?:-session|-auth)?(?:\(\S+\))?[\])]?:?$/;

/** Any syslog tag, to tell another program's line (skipped) from a line that is no syslog at all. */
const OTHER_PROGRAM = /^\S+\s+[\w.@/()-]+(?:\[\d+\])?:\s/;

/** Connections remembered at once; fail2ban's multi-line cache holds 100 and drops the oldest. */
const MAX_CONNECTIONS = 100;
const STATE_VERSION = 1;

interface Connection {
  host: Host | null;
  user: string | null;
  /** Every user the connection tried; more than one turns its helper lines into failures. */
  users: string[];
}

export class SshdAdapter implements LineAdapter {
  readonly format = "sshd" as const;
  private readonly rules: readonly Rule[];
  /** The rules whose leads start with a given character, in fail2ban's order. */
  private readonly rulesByFirst = new Map<string, Rule[]>();
  private readonly timezone: TimeZone;
  private readonly year: number | null;
  private readonly service: string | undefined;
  private connections = new Map<string, Connection>();
  /** Time of the last line that had one: a line without a timestamp takes it, as in fail2ban. */
  private lastTimeMs = Number.NaN;

  constructor(options: SshdOptions = {}) {
    this.rules = rulesFor(options.mode ?? "normal");
    for (const candidate of this.rules) {
      for (const first of new Set(candidate.leads.map((lead) => lead.charAt(0)))) {
        const list = this.rulesByFirst.get(first) ?? [];
        list.push(candidate);
        this.rulesByFirst.set(first, list);
      }
    }
    const zone = options.timezone === undefined ? TimeZone.UTC : TimeZone.parse(options.timezone);
    if (typeof zone === "string") throw new RangeError(zone);
    this.timezone = zone;
    this.year = options.year ?? null;
    this.service = options.service;
  }

  read(line: string, context: IngestContext): IngestResult {
    const trimmed = line.endsWith("\r") ? line.slice(0, -1) : line;
    if (trimmed.trim() === "") return rejected("empty_line", "line is empty or whitespace only");
    if (trimmed.length > 16 * 1024)
      return rejected("line_too_long", `line is ${trimmed.length} characters, the limit is 16384`);
    const time = readSyslogTime(trimmed, context.receivedMs ?? null, {
      timezone: this.timezone,
      year: this.year,
    });
    if (time.problem !== null) return rejected("bad_timestamp", `${time.problem}: ${quoteLine(trimmed)}`);

    let mlfid: string;
    let content: string;
    let isSshd: boolean;
    if (time.rfc5424 !== null) {
      const { host, app, procId } = time.rfc5424;
      isSshd = SSHD_APP.test(app);
      if (!isSshd) return skipped("other_program");
      mlfid = `${host} ${app} ${procId}`;
      content = time.rfc5424.message.replace(/^(?:(?:error|fatal): (?:PAM: )?)?/, "");
    } else {
      const common = COMMON_PREFIX.exec(time.rest);
      if (common !== null && common[0].length < time.rest.length) {
        mlfid = `${common[1]} ${common[2]}[${common[3]}]: ${common[4] ?? ""}`.trim();
        content = time.rest.slice(common[0].length);
        isSshd = true;
      } else {
        const prefix = PREFIX.exec(time.rest);
        if (prefix?.groups === undefined) return this.unknown(trimmed, time.timeMs !== null);
        mlfid = (prefix.groups.prefix ?? "").trim();
        content = prefix.groups.content ?? "";
        isSshd = prefix.groups.daemon !== undefined || prefix.groups.daemon1 !== undefined;
      }
    }

    let timeMs = time.timeMs;
    if (timeMs !== null) this.lastTimeMs = timeMs;
    else timeMs = lineTime(context, this.lastTimeMs);

    const match = this.match(content);
    if (match === null) {
      if (isSshd) return skipped("sshd_other");
      return this.unknown(trimmed, time.timeMs !== null || time.rfc5424 !== null);
    }
    if (timeMs === null) {
      return rejected(
        "no_timestamp",
        `an sshd line without a timestamp and no earlier one: ${quoteLine(trimmed)}`,
      );
    }
    const merged = this.merge(mlfid, match);
    // An accepted login is an event in its own right; it fails only when several users were tried.
    const success = match.gained && merged.nofail;
    if (merged.nofail && !success) return skipped("sshd_helper");
    if (merged.host === null) return skipped(success ? "sshd_other" : "sshd_failure_without_host");
    const service = this.service ?? serviceFromSource(context.source);
    const event: LogEvent = {
      timestamp: isoOf(timeMs),
      timeMs,
      service,
      level: success ? "INFO" : "WARN",
      event_type: success ? "auth_success" : "auth_failure",
      message: content,
      metrics: { cpu_pct: null, memory_pct: null, latency_ms: null },
      status_code: null,
      source_ip: merged.host.kind === "ip" ? merged.host.value : null,
      user: merged.user,
      // The connection (syslog prefix with the pid): the jail cancels its failures on an Accepted.
      request_id: mlfid,
      source_host: merged.host.kind === "name" ? merged.host.value : null,
      origin: "sshd",
    };
    return { status: "event", event };
  }

  snapshot(): unknown {
    return {
      adapter: "sshd",
      version: STATE_VERSION,
      lastTimeMs: Number.isNaN(this.lastTimeMs) ? null : this.lastTimeMs,
      connections: [...this.connections.entries()].map(([id, c]) => ({ id, ...c })),
    };
  }

  restore(state: unknown): void {
    if (typeof state !== "object" || state === null) throw new Error("sshd adapter state: not an object");
    const record = state as Record<string, unknown>;
    if (record.adapter !== "sshd" || record.version !== STATE_VERSION) {
      throw new Error("sshd adapter state: wrong adapter or version");
    }
    const connections = new Map<string, Connection>();
    const items = Array.isArray(record.connections) ? record.connections : [];
    for (const item of items.slice(-MAX_CONNECTIONS)) {
      if (typeof item !== "object" || item === null) continue;
      const c = item as Record<string, unknown>;
      const host = c.host as Host | null;
      if (typeof c.id !== "string") continue;
      connections.set(c.id, {
        host:
          host !== null && typeof host === "object" && typeof host.value === "string"
            ? { kind: host.kind === "name" ? "name" : "ip", value: host.value }
            : null,
        user: typeof c.user === "string" ? c.user : null,
        users: Array.isArray(c.users)
          ? c.users.filter((u): u is string => typeof u === "string").slice(0, 64)
          : [],
      });
    }
    this.connections = connections;
    this.lastTimeMs = typeof record.lastTimeMs === "number" ? record.lastTimeMs : Number.NaN;
  }

  private unknown(line: string, hadTimestamp: boolean): IngestResult {
    if (hadTimestamp || OTHER_PROGRAM.test(line)) return skipped("other_program");
    return rejected(
      "unrecognised_line",
      `not a syslog line of sshd (no timestamp, no program tag): ${quoteLine(line)}`,
    );
  }

  /** The first rule that matches the content, in fail2ban's order. */
  private match(content: string): RuleMatch | null {
    const candidates = this.rulesByFirst.get(content.charAt(0));
    if (candidates === undefined) return null;
    for (const candidate of candidates) {
      let leads = false;
      for (const lead of candidate.leads) {
        if (content.startsWith(lead)) {
          leads = true;
          break;
        }
      }
      if (!leads) continue;
      for (const pattern of candidate.patterns) {
        const found = pattern.exec(content);
        if (found === null) continue;
        const groups = found.groups ?? {};
        let host: Host | undefined;
        if (candidate.hasHost) {
          if (groups.ip4 !== undefined) host = { kind: "ip", value: groups.ip4 };
          else if (groups.ip6 !== undefined) host = { kind: "ip", value: groups.ip6 };
          else if (groups.dns !== undefined) host = { kind: "name", value: groups.dns };
        }
        const gained = groups.gained !== undefined;
        return {
          nofail: gained || groups.nofail !== undefined,
          forget: groups.forget !== undefined,
          gained,
          host,
          user: candidate.hasUser ? (groups.user ?? null) : undefined,
        };
      }
    }
    return null;
  }

  /**
   * fail2ban's multi-line merge (Filter._mergeFailure): the line's values overwrite the
   * connection's, a forgetting line ends the connection, and several users tried on one connection
   * make even helper lines failures.
   */
  private merge(
    mlfid: string,
    match: RuleMatch,
  ): { nofail: boolean; host: Host | null; user: string | null } {
    let nofail = match.nofail;
    const cached = this.connections.get(mlfid);
    let host: Host | null;
    let user: string | null;
    let users: string[] | null = null;
    if (cached !== undefined) {
      if (match.user) {
        if (!cached.users.includes(match.user) && cached.users.length < 64) cached.users.push(match.user);
        users = cached.users;
      }
      if (match.host !== undefined) cached.host = match.host;
      if (match.user !== undefined) cached.user = match.user;
      host = cached.host;
      user = cached.user;
      if (match.forget) this.connections.delete(mlfid);
    } else {
      host = match.host ?? null;
      user = match.user ?? null;
      if (!match.forget) {
        users = match.user ? [match.user] : null;
        if (this.connections.size >= MAX_CONNECTIONS) {
          const oldest = this.connections.keys().next();
          if (!oldest.done) this.connections.delete(oldest.value);
        }
        this.connections.set(mlfid, { host, user, users: users ?? [] });
      }
    }
    if (users !== null && users.length > 1) nofail = false;
    return { nofail, host, user };
  }
}
