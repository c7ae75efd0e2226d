import type { DetectorFinding } from "../alerts/types.js";
import type { SshdJailConfig } from "../config/types.js";
import { StateError } from "../errors.js";
import { toLogLine } from "../log/parse.js";
import type { EventType, LogEvent, LogLine } from "../log/schema.js";
import { AddressList } from "./address-list.js";
import { type Detector, NO_FINDINGS } from "./detector.js";
import { SourceStates } from "./sources.js";
import { readArray, readFiniteNumber, readLogEvent, readOptionalTime, timeOrNull } from "./state.js";

const STATE_VERSION = 1;
const SAMPLES = 5;

interface HostState {
  service: string;
  host: string;
  /** Failure times within find_time, oldest first; at most max_retry are kept. */
  failures: number[];
  /** The sshd connection (request_id) of each failure, in step with `failures`. */
  connections: string[];
  /** While banned: when the ban ends; otherwise -Infinity. */
  bannedUntilMs: number;
  bannedAtMs: number;
  samples: LogEvent[];
}

export interface SshdJailOptions {
  /** Hosts tracked at once; the least recently failing go first. */
  maxHosts?: number;
}

/**
 * fail2ban's sshd jail on the events the sshd adapter reads (origin "sshd"): a host (address or
 * name) with `max_retry` failures within `find_time_s` of log time is banned for `ban_time_s`.
 * The ban is a `brute_force_ip` alert naming the host, which the remediation policy turns into a
 * `block_ip` lasting the ban time; the alert resolves when the ban ends. Hosts on `ignore_ips`
 * are never counted. fail2ban estimates a host's count by its failure rate once the first failure
 * is older than findtime; this keeps the exact times instead (at most max_retry per host).
 *
 * An accepted login (auth_success) cancels the failures of its own connection (request_id), as
 * fail2ban's F-MLFGAINED does. Needs: event_type auth_failure / auth_success, origin "sshd",
 * source_ip or source_host, request_id (the connection); nothing else.
 */
export class SshdJailDetector implements Detector {
  readonly name = "sshd_jail";
  readonly scope = "sshd";
  readonly eventTypes: readonly EventType[] = ["auth_success", "auth_failure"];
  private readonly config: SshdJailConfig;
  private readonly ignore: AddressList;
  private readonly findMs: number;
  private readonly banMs: number;
  private readonly hosts: SourceStates<HostState>;

  constructor(config: SshdJailConfig, options: SshdJailOptions = {}) {
    this.config = config;
    this.ignore = new AddressList(config.ignore_ips);
    this.findMs = config.find_time_s * 1000;
    this.banMs = config.ban_time_s * 1000;
    this.hosts = new SourceStates(options.maxHosts ?? 10_000);
  }

  observe(event: LogEvent): readonly DetectorFinding[] {
    if (event.origin !== "sshd" || !Number.isFinite(event.timeMs)) return NO_FINDINGS;
    if (event.event_type === "auth_success") {
      this.cancelConnection(event);
      return NO_FINDINGS;
    }
    if (event.event_type !== "auth_failure") return NO_FINDINGS;
    const host = event.source_ip ?? event.source_host ?? null;
    if (host === null || host === "" || this.ignore.has(host)) return NO_FINDINGS;
    const nowMs = this.hosts.observe(event.timeMs);
    let out = this.expireBans(nowMs);
    const key = SourceStates.key(event.service, host);
    let state = this.hosts.map.get(key);
    if (state === undefined) {
      // The least recently failing host that is not banned makes room; a banned one only if all are.
      this.hosts.makeRoom((old) => !(old.bannedUntilMs > nowMs), true);
      state = {
        service: event.service,
        host,
        failures: [],
        connections: [],
        bannedUntilMs: Number.NEGATIVE_INFINITY,
        bannedAtMs: 0,
        samples: [],
      };
    }
    this.hosts.touch(key, state);
    // A banned host is already blocked; its failures do not start a second ban meanwhile.
    if (state.bannedUntilMs > nowMs) return out ?? NO_FINDINGS;
    const cutoff = event.timeMs - this.findMs;
    while (state.failures.length > 0 && (state.failures[0] as number) <= cutoff) {
      state.failures.shift();
      state.connections.shift();
    }
    // Kept in time order: a late line goes where it belongs.
    let at = state.failures.length;
    while (at > 0 && (state.failures[at - 1] as number) > event.timeMs) at--;
    state.failures.splice(at, 0, event.timeMs);
    state.connections.splice(at, 0, event.request_id ?? "");
    if (state.failures.length > this.config.max_retry) {
      state.failures.shift();
      state.connections.shift();
    }
    state.samples.push(event);
    if (state.samples.length > SAMPLES) state.samples.shift();
    if (state.failures.length >= this.config.max_retry) {
      const failures = state.failures.length;
      state.bannedAtMs = nowMs;
      state.bannedUntilMs = nowMs + this.banMs;
      const finding = this.finding(state, "firing", nowMs, failures, state.failures[0] ?? nowMs);
      state.failures = [];
      state.connections = [];
      out = [...(out ?? []), finding];
    }
    return out ?? NO_FINDINGS;
  }

  advance(nowMs: number): readonly DetectorFinding[] {
    const at = this.hosts.advance(nowMs);
    return at === null ? NO_FINDINGS : (this.expireBans(at) ?? NO_FINDINGS);
  }

  /** Only a ban's end is a finding time alone can produce; hosts merely counting failures expire silently. */
  idle(): boolean {
    for (const state of this.hosts.map.values()) if (Number.isFinite(state.bannedUntilMs)) return false;
    return true;
  }

  snapshot(): unknown {
    return {
      ...this.hosts.header(this.name, STATE_VERSION),
      hosts: [...this.hosts.map.values()].map((state) => ({
        service: state.service,
        host: state.host,
        failures: state.failures,
        connections: state.connections,
        bannedUntilMs: timeOrNull(state.bannedUntilMs),
        bannedAtMs: state.bannedAtMs,
        samples: state.samples.map((event) => ({ ...toLogLine(event), timeMs: event.timeMs })),
      })),
    };
  }

  restore(state: unknown): void {
    this.hosts.restore(this.name, state, STATE_VERSION, "hosts", "host", (item, service, host) => {
      const failures = readArray(this.name, item, "failures").filter(
        (t): t is number => typeof t === "number",
      );
      const connections = readArray(this.name, item, "connections").map((c) =>
        typeof c === "string" ? c : "",
      );
      if (connections.length !== failures.length)
        throw new StateError(this.name, "failures and connections differ in length");
      return {
        service,
        host,
        failures,
        connections,
        bannedUntilMs: readOptionalTime(this.name, item, "bannedUntilMs") ?? Number.NEGATIVE_INFINITY,
        bannedAtMs: readFiniteNumber(this.name, item, "bannedAtMs"),
        samples: readArray(this.name, item, "samples").map((sample) => readLogEvent(this.name, sample)),
      };
    });
  }

  /**
   * An accepted login ends its connection without a failure: that connection's earlier failures
   * (a mistyped password, then the right one) no longer count toward a ban. The adapter already
   * reports an Accepted after several users as a failure, so this never forgives user guessing.
   */
  private cancelConnection(event: LogEvent): void {
    const host = event.source_ip ?? event.source_host ?? null;
    const connection = event.request_id;
    if (host === null || connection === null || connection === "") return;
    const state = this.hosts.map.get(SourceStates.key(event.service, host));
    if (state === undefined) return;
    for (let i = state.connections.length - 1; i >= 0; i--) {
      if (state.connections[i] === connection) {
        state.connections.splice(i, 1);
        state.failures.splice(i, 1);
      }
    }
  }

  private expireBans(nowMs: number): DetectorFinding[] | null {
    // Bans end in whole seconds of log time; a sweep per event would cost O(hosts) each.
    // Without an sshd source the map stays empty: the sweep then builds no iterator every second.
    if (!this.hosts.sweepDue(nowMs) || this.hosts.map.size === 0) return null;
    let out: DetectorFinding[] | null = null;
    const idleBefore = nowMs - Math.max(this.findMs, this.banMs);
    for (const [key, state] of this.hosts.map) {
      if (Number.isFinite(state.bannedUntilMs) && state.bannedUntilMs <= nowMs) {
        state.bannedUntilMs = Number.NEGATIVE_INFINITY;
        out = out ?? [];
        out.push(this.finding(state, "resolved", nowMs, 0, state.bannedAtMs));
      }
      const last =
        state.failures[state.failures.length - 1] ?? state.samples[state.samples.length - 1]?.timeMs ?? 0;
      if (!Number.isFinite(state.bannedUntilMs) && last < idleBefore) this.hosts.map.delete(key);
    }
    return out;
  }

  private finding(
    state: HostState,
    status: "firing" | "resolved",
    nowMs: number,
    failures: number,
    sinceMs: number,
  ): DetectorFinding {
    const { service, host } = state;
    const banS = this.config.ban_time_s;
    const samples: LogLine[] = state.samples.map(toLogLine);
    return {
      status,
      type: "brute_force_ip",
      service,
      entity: host,
      severity: this.config.severity,
      summary:
        status === "firing"
          ? `${failures} sshd auth failures within ${this.config.find_time_s}s from ${host} on ${service}: banned for ${banS}s`
          : `ban of ${host} on ${service} ended after ${banS}s`,
      observed: failures,
      threshold: this.config.max_retry,
      unit: "failures",
      windowMs: this.findMs,
      atMs: nowMs,
      sinceMs,
      samples,
      details: {
        jail: "sshd",
        max_retry: this.config.max_retry,
        find_time_s: this.config.find_time_s,
        ban_time_s: banS,
        ...(status === "resolved" ? { reason: "ban_expired" } : {}),
      },
    };
  }
}
