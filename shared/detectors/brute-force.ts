import type { DetectorFinding } from "../alerts/types.js";
import type { BruteForceConfig } from "../config/types.js";
import { StateError } from "../errors.js";
import type { EventType, LogEvent } from "../log/schema.js";
import { CapacityGuard } from "./capacity.js";
import { appendFinding, NO_FINDINGS } from "./detector.js";
import {
  type Dropped,
  isRecord,
  KeyedStates,
  MAX_SAMPLES,
  readArray,
  readBoolean,
  readClockHeader,
  readFiniteNumber,
  readString,
  resolveIfFiring,
  SampleRing,
  WindowedRuleDetector,
} from "./state.js";
import { MIN_STALE_MS } from "./threshold.js";
import { SparseBucketWindow } from "./window.js";

const STATE_VERSION = 1;

/** Distinct users per IP (or IPs per user) remembered; beyond this the counts read "at least". */
export const MAX_TRACKED_PEERS = 64;

/** Users or IPs named in a finding's details. */
const MAX_NAMED_PEERS = 10;

/** Separates service and IP/user in map keys; the parts are also kept in the state, never parsed back. */
const KEY_SEPARATOR = "\u0000";

interface PeerStat {
  lastSeenMs: number;
  /** Failures from/against this peer since it last became active (gaps shorter than find_time). */
  failures: number;
}

interface KeyState {
  /** The map key (service and entity); built once, when the key is first seen or restored. */
  key: string;
  service: string;
  /** The IP or the user this key counts. */
  entity: string;
  failures: SparseBucketWindow;
  /** For an IP key: the users it tried; for a user key: the IPs that tried it. Oldest activity first. */
  peers: Map<string, PeerStat>;
  firing: boolean;
  sinceMs: number;
  lastSeenMs: number;
  samples: SampleRing;
}

type Rule = "ip" | "user";

type Recheck = (
  key: string,
  state: KeyState,
  nowMs: number,
  out: DetectorFinding[] | null,
) => DetectorFinding[] | null;

/**
 * The states of one rule by service, then IP or user: how a failure finds its key without building
 * the map key. A key built for every failure is a fresh concatenated string, which the map must
 * flatten, hash and compare character by character; that was about a quarter of the detector's
 * per-event instructions. The service and the entity are strings the parser already made, and
 * the key kept in the state is hashed once. Holds exactly the keys of the rule's `KeyedStates`:
 * a key enters here when admitted there and leaves through the rule's drop function.
 */
class StatesByEntity {
  private readonly services = new Map<string, Map<string, KeyState>>();

  get(service: string, entity: string): KeyState | undefined {
    return this.services.get(service)?.get(entity);
  }

  add(state: KeyState): void {
    let entities = this.services.get(state.service);
    if (entities === undefined) {
      entities = new Map();
      this.services.set(state.service, entities);
    }
    entities.set(state.entity, state);
  }

  delete(state: KeyState): void {
    const entities = this.services.get(state.service);
    if (entities === undefined) return;
    entities.delete(state.entity);
    if (entities.size === 0) this.services.delete(state.service);
  }

  /** Replace every state with `states` (a key listed twice keeps its later state, as KeyedStates.load). */
  load(states: Iterable<readonly [string, KeyState]>): void {
    this.services.clear();
    for (const [, state] of states) this.add(state);
  }
}

export interface BruteForceDetectorOptions {
  /** At most this many IPs and this many users tracked; the least recently seen go first. */
  maxKeys?: number;
  /** The sshd jail bans hosts of sshd logs; the per-IP rule then leaves those events to it. */
  sshdJail?: boolean;
}

/**
 * fail2ban-style brute-force detection over `auth_failure` events, per service.
 *
 * Per source IP: at least `ip_max_failures` failures within `find_time_s` fires `brute_force_ip`
 * (entity = the IP). Per user: at least `user_max_failures` failures within `find_time_s` from at
 * least `user_min_ips` distinct IPs fires `brute_force_user` (entity = the user), which catches
 * credential stuffing spread over many IPs. Both resolve once the window no longer holds the
 * condition: a key is checked on its own failures, firing keys also on `advance` and at most once
 * a second of event time as other failures arrive.
 */
export class BruteForceDetector extends WindowedRuleDetector {
  readonly name = "brute_force";
  readonly eventTypes: readonly EventType[] = ["auth_failure"];
  private readonly config: BruteForceConfig;
  private readonly findMs: number;
  private readonly idleMs: number;
  private readonly maxKeys: number;
  private readonly sshdJail: boolean;
  /** Per service and IP, per service and user; the active ones are firing. */
  private readonly ips: KeyedStates<KeyState>;
  private readonly users: KeyedStates<KeyState>;
  private readonly ipsByEntity = new StatesByEntity();
  private readonly usersByEntity = new StatesByEntity();

  constructor(config: BruteForceConfig, options: BruteForceDetectorOptions = {}) {
    super();
    if (!(config.find_time_s > 0) || !(config.ip_max_failures >= 1) || !(config.user_max_failures >= 1)) {
      throw new RangeError(
        "brute_force: find_time_s, ip_max_failures and user_max_failures must be positive",
      );
    }
    this.config = config;
    this.findMs = config.find_time_s * 1000;
    // A key stays until it has been quiet for two windows, so a slow attacker is still remembered.
    this.idleMs = 2 * this.findMs;
    this.maxKeys = options.maxKeys ?? config.max_keys ?? 10_000;
    const quietMs = Math.max(MIN_STALE_MS, this.idleMs);
    this.sshdJail = options.sshdJail ?? false;
    this.ips = new KeyedStates(
      this.maxKeys,
      new CapacityGuard("brute_force_ip", "IPs", this.maxKeys, quietMs),
    );
    this.users = new KeyedStates(
      this.maxKeys,
      new CapacityGuard("brute_force_user", "users", this.maxKeys, quietMs),
    );
  }

  observe(event: LogEvent): readonly DetectorFinding[] {
    if (event.event_type !== "auth_failure" || !Number.isFinite(event.timeMs)) return NO_FINDINGS;
    const nowMs = this.clock.observe(event.timeMs);
    const ip = event.source_ip;
    const user = event.user;
    let out: DetectorFinding[] | null = null;
    if (ip !== null && ip !== "" && !(this.sshdJail && event.origin === "sshd")) {
      out = this.record("ip", event.service, ip, user, event, nowMs, out);
    }
    if (user !== null && user !== "") {
      out = this.record("user", event.service, user, ip, event, nowMs, out);
    }
    // Record first, then re-check the others: checking first could resolve a key that this very
    // failure keeps above the limit, and then fire it again.
    return this.maintain(nowMs, out) ?? NO_FINDINGS;
  }

  idle(): boolean {
    return this.ips.idle() && this.users.idle();
  }

  snapshot(): unknown {
    return {
      ...this.clock.header(this.name, STATE_VERSION),
      ips: this.ips.toState(keyToState),
      users: this.users.toState(keyToState),
      ipCapacity: this.ips.capacity.toState(),
      userCapacity: this.users.capacity.toState(),
    };
  }

  restore(state: unknown): void {
    const { record, clock } = readClockHeader(this.name, state, STATE_VERSION);
    const ips = this.keysFromState(readArray(this.name, record, "ips"));
    const users = this.keysFromState(readArray(this.name, record, "users"));
    this.ips.capacity.loadState(record.ipCapacity);
    this.users.capacity.loadState(record.userCapacity);
    this.ips.load(ips, (key) => key.firing);
    this.users.load(users, (key) => key.firing);
    this.ipsByEntity.load(ips);
    this.usersByEntity.load(users);
    this.clock.load(clock);
  }

  private keysOf(rule: Rule): KeyedStates<KeyState> {
    return rule === "ip" ? this.ips : this.users;
  }

  private byEntityOf(rule: Rule): StatesByEntity {
    return rule === "ip" ? this.ipsByEntity : this.usersByEntity;
  }

  private record(
    rule: Rule,
    service: string,
    entity: string,
    peer: string | null,
    event: LogEvent,
    nowMs: number,
    out: DetectorFinding[] | null,
  ): DetectorFinding[] | null {
    const keys = this.keysOf(rule);
    const byEntity = this.byEntityOf(rule);
    let state = byEntity.get(service, entity);
    let found = out;
    if (state !== undefined) {
      keys.touchIfPresent(state.key, event.timeMs);
    } else {
      const key = service + KEY_SEPARATOR + entity;
      // Names holding the separator can build another pair's key ("a\0b" and "c", "a" and "b\0c"):
      // such a pair shares that key's state, as it always has, without an entry of its own here.
      state = keys.touchIfPresent(key, event.timeMs);
      if (state === undefined) {
        const fresh: KeyState = {
          key,
          service,
          entity,
          failures: new SparseBucketWindow(this.findMs),
          peers: new Map(),
          firing: false,
          sinceMs: event.timeMs,
          lastSeenMs: event.timeMs,
          samples: new SampleRing(),
        };
        // Only a key with no failure left in its window makes room: a spray of new IPs must not
        // grow memory until the next sweep, nor evict a live attacker.
        const added = keys.admit(
          key,
          fresh,
          event.timeMs,
          nowMs,
          nowMs - this.findMs,
          rule === "ip" ? this.dropIp : this.dropUser,
          found,
        );
        found = keys.admitted;
        if (!added) return found;
        byEntity.add(fresh);
        state = fresh;
      }
    }
    state.failures.slideTo(nowMs);
    // A failure older than the window cannot change a verdict.
    if (!state.failures.add(event.timeMs, 1, 1)) return found;
    // The ring shows the last MAX_SAMPLES failures when the key fires, so failures that leave the
    // count too far below the limit to be among them are not kept: most keys (one mistyped
    // password) then hold no event at all, which spares the GC copying them while they idle out.
    if (state.firing || state.failures.totalA > this.limit(rule) - MAX_SAMPLES) state.samples.push(event);
    if (peer !== null && peer !== "") this.notePeer(state, peer, event.timeMs);
    return this.evaluate(rule, state.key, state, nowMs, found);
  }

  private notePeer(state: KeyState, peer: string, timeMs: number): void {
    let stat = state.peers.get(peer);
    if (stat === undefined) {
      stat = { lastSeenMs: timeMs, failures: 0 };
    } else {
      state.peers.delete(peer);
      if (timeMs > stat.lastSeenMs) stat.lastSeenMs = timeMs;
    }
    stat.failures++;
    state.peers.set(peer, stat);
    if (state.peers.size > MAX_TRACKED_PEERS) {
      const oldest = state.peers.keys().next();
      if (!oldest.done) state.peers.delete(oldest.value);
    }
  }

  /** Forget peers not seen within the window; they are ordered by activity, so stop at the first fresh one. */
  private prunePeers(state: KeyState, nowMs: number): void {
    const cutoff = nowMs - this.findMs;
    for (const [peer, stat] of state.peers) {
      if (stat.lastSeenMs > cutoff) break;
      state.peers.delete(peer);
    }
  }

  private limit(rule: Rule): number {
    return rule === "ip" ? this.config.ip_max_failures : this.config.user_max_failures;
  }

  private holds(rule: Rule, state: KeyState, nowMs: number): boolean {
    this.prunePeers(state, nowMs);
    const failures = state.failures.totalA;
    if (failures < this.limit(rule)) return false;
    return rule === "ip" || state.peers.size >= this.config.user_min_ips;
  }

  private evaluate(
    rule: Rule,
    key: string,
    state: KeyState,
    nowMs: number,
    out: DetectorFinding[] | null,
  ): DetectorFinding[] | null {
    // Re-checked keys slide here; for a failure just recorded the window already stands at nowMs.
    state.failures.slideTo(nowMs);
    const holds = this.holds(rule, state, nowMs);
    if (holds === state.firing) return out;
    const firing = this.keysOf(rule).active;
    state.firing = holds;
    if (holds) {
      state.sinceMs = state.failures.oldestStartWithA() ?? nowMs;
      firing.add(key);
    } else {
      firing.delete(key);
    }
    return appendFinding(out, this.finding(rule, state, nowMs, holds ? "firing" : "resolved", "window"));
  }

  protected upkeep(nowMs: number, out: DetectorFinding[] | null): DetectorFinding[] | null {
    let found = this.maintainRule(this.ips, this.recheckIp, this.dropIp, nowMs, out);
    found = this.maintainRule(this.users, this.recheckUser, this.dropUser, nowMs, found);
    found = this.ips.checkCapacity(nowMs, found);
    return this.users.checkCapacity(nowMs, found);
  }

  /** Re-check the rule's firing keys and evict its idle ones. */
  private maintainRule(
    keys: KeyedStates<KeyState>,
    recheck: Recheck,
    dropped: Dropped<KeyState>,
    nowMs: number,
    out: DetectorFinding[] | null,
  ): DetectorFinding[] | null {
    const found = keys.recheck(nowMs, recheck, out);
    return keys.evictIdle(nowMs, nowMs - this.idleMs, dropped, found);
  }

  // One field per rule and function, never an object indexed by the rule: a property looked up by
  // a name that varies ("ip", "user") is a megamorphic load, and the upkeep runs every second.

  /** Re-check a firing key as its window slides. */
  private readonly recheckIp: Recheck = (key, state, nowMs, out) =>
    this.evaluate("ip", key, state, nowMs, out);
  private readonly recheckUser: Recheck = (key, state, nowMs, out) =>
    this.evaluate("user", key, state, nowMs, out);

  /** A key leaving the map must not leave its alert open. */
  private readonly dropIp: Dropped<KeyState> = (_key, state, reason, nowMs, out) => {
    this.ipsByEntity.delete(state);
    return resolveIfFiring(state, out, (s) => this.finding("ip", s, nowMs, "resolved", reason));
  };
  private readonly dropUser: Dropped<KeyState> = (_key, state, reason, nowMs, out) => {
    this.usersByEntity.delete(state);
    return resolveIfFiring(state, out, (s) => this.finding("user", s, nowMs, "resolved", reason));
  };

  private finding(
    rule: Rule,
    state: KeyState,
    nowMs: number,
    status: "firing" | "resolved",
    reason: string,
  ): DetectorFinding {
    const { service, entity } = state;
    const failures = state.failures.totalA;
    const peers = [...state.peers.entries()].reverse().slice(0, MAX_NAMED_PEERS);
    const distinct = state.peers.size;
    const atLeast = distinct >= MAX_TRACKED_PEERS ? "at least " : "";
    const findS = this.config.find_time_s;
    const peerWord = rule === "ip" ? "users" : "IPs";
    const threshold = this.limit(rule);
    const details: Record<string, number | string> = {
      failures,
      find_time_s: findS,
      [rule === "ip" ? "distinct_users" : "distinct_ips"]: distinct,
      [rule === "ip" ? "users" : "ips"]: peers.map(([name]) => name).join(","),
      [rule === "ip" ? "failures_by_user" : "failures_by_ip"]: peers
        .map(([name, stat]) => `${name}:${stat.failures}`)
        .join(","),
    };
    if (rule === "user") details.min_ips = this.config.user_min_ips;
    if (status === "resolved") details.reason = reason;
    const subject = rule === "ip" ? `IP ${entity}` : `user ${entity}`;
    const summary =
      status === "firing"
        ? `${failures} auth failures in ${findS}s for ${subject} on ${service} (${atLeast}${distinct} ${peerWord})`
        : `${subject} on ${service} down to ${failures} auth failures in ${findS}s`;
    return {
      status,
      type: rule === "ip" ? "brute_force_ip" : "brute_force_user",
      service,
      entity,
      severity: this.config.severity,
      summary,
      observed: failures,
      threshold,
      unit: "failures",
      windowMs: this.findMs,
      atMs: nowMs,
      sinceMs: state.sinceMs,
      samples: state.samples.lines(),
      details,
    };
  }

  /** The keys of a snapshot's list, in its order, checked. */
  private keysFromState(items: unknown[]): Array<readonly [string, KeyState]> {
    return items.map((item) => {
      if (!isRecord(item)) throw new StateError(this.name, "key entry is not an object");
      const service = readString(this.name, item, "service");
      const entity = readString(this.name, item, "entity");
      const key = service + KEY_SEPARATOR + entity;
      const failures = new SparseBucketWindow(this.findMs);
      failures.loadState(this.name, item.failures);
      const peers = new Map<string, PeerStat>();
      for (const peer of readArray(this.name, item, "peers")) {
        if (!isRecord(peer)) throw new StateError(this.name, "peer entry is not an object");
        peers.set(readString(this.name, peer, "name"), {
          lastSeenMs: readFiniteNumber(this.name, peer, "lastSeenMs"),
          failures: readFiniteNumber(this.name, peer, "failures"),
        });
      }
      const state: KeyState = {
        key,
        service,
        entity,
        failures,
        peers,
        firing: readBoolean(this.name, item, "firing"),
        sinceMs: readFiniteNumber(this.name, item, "sinceMs"),
        lastSeenMs: readFiniteNumber(this.name, item, "lastSeenMs"),
        samples: SampleRing.fromState(this.name, item.samples),
      };
      return [key, state] as const;
    });
  }
}

function keyToState(_key: string, state: KeyState): unknown {
  return {
    service: state.service,
    entity: state.entity,
    failures: state.failures.toState(),
    peers: [...state.peers.entries()].map(([name, stat]) => ({
      name,
      lastSeenMs: stat.lastSeenMs,
      failures: stat.failures,
    })),
    firing: state.firing,
    sinceMs: state.sinceMs,
    lastSeenMs: state.lastSeenMs,
    samples: state.samples.toState(),
  };
}
