import type { AlertingConfig } from "../config/types.js";
import { StateError } from "../errors.js";
import { alertTitle, enrichFinding, maxSeverity, severityRank } from "./enrich.js";
import { fingerprint } from "./fingerprint.js";
import {
  type GroupDecision,
  type GroupView,
  groupDecision,
  groupKeyOf,
  type HoldReason,
} from "./grouping.js";
import {
  compileInhibitRules,
  DEFAULT_INHIBIT_RULES,
  heldForInhibition,
  type Inhibition,
  type InhibitRule,
  inhibitionOf,
} from "./inhibit.js";
import {
  type Silence,
  type SilenceMatchers,
  silenceMatches,
  silencesFromConfig,
  validateMatchers,
} from "./silence.js";
import { ALERT_TYPES, type Alert, type DetectorFinding, type Notification, type Severity } from "./types.js";

export interface AlertManagerOptions {
  /** Resolved alerts are kept this long after they end (for lookups and snapshots), then forgotten. */
  resolvedRetentionMs?: number;
  /** Hard cap on remembered resolved alerts; the oldest go first. Firing alerts are never dropped. */
  maxResolvedAlerts?: number;
}

/** Why a finding was not applied. Counted by reason; the rest of the batch goes on. */
export type FindingRejectReason =
  | "unknown_type"
  | "bad_status"
  | "bad_identity"
  | "bad_time"
  | "resolve_unknown";

/** What the manager decided about one group at one flush: the audit trail's "why (not) sent". */
export interface GroupDecisionRecord {
  groupKey: string;
  atMs: number;
  send: boolean;
  reason: GroupDecision["reason"];
  /** Firing alerts of the group that a silence muted, with the silence's reason. */
  silenced: { fingerprint: string; silenceId: string; reason: string }[];
  /** Firing alerts of the group an inhibit rule muted: which rule, and the alert that inhibits. */
  inhibited: { fingerprint: string; rule: number; by: string }[];
}

export interface NewSilence {
  matchers: SilenceMatchers;
  expiresAtMs: number;
  reason: string;
  id?: string;
}

interface GroupState {
  key: string;
  openedAtMs: number;
  lastNotifiedAtMs: number | null;
  /** Fingerprints the last notification showed as firing. */
  notifiedFiring: string[];
  /** Fingerprints currently in the group: firing, or resolved and not yet told. */
  members: string[];
}

interface AlertManagerSnapshot {
  version: 1;
  alerts: Alert[];
  groups: GroupState[];
  silences: Silence[];
  nextSilenceId: number;
}

const DEFAULT_RESOLVED_RETENTION_MS = 60 * 60 * 1000;
const DEFAULT_MAX_RESOLVED = 10_000;
/** Forgetting old resolved alerts scans them all; once per this much event time is plenty. */
const PRUNE_EVERY_MS = 10_000;

/** Past this many alerts told, a group's view looks them up in a Set rather than scanning the list. */
const MAX_TOLD_SCAN = 8;

/**
 * The alert lifecycle: deduplicates findings into alerts keyed by fingerprint, groups them by
 * service and family, and decides from event time alone when a group is notified. Nothing here
 * reads a clock; `flush(nowMs)` is called with the newest event time.
 */
export class AlertManager {
  private readonly alerts = new Map<string, Alert>();
  private readonly groups = new Map<string, GroupState>();
  /**
   * The group keys in the order flush decides them, kept while the set of groups stays the same:
   * flush runs every second while any group is open, and groups open and close far less often.
   */
  private sortedGroupKeys: string[] | null = null;
  private silences: Silence[];
  private nextSilenceId = 1;
  private decisions: GroupDecisionRecord[] = [];
  /** The time of the last flush; `decisions` are re-dated to it when read (see `lastDecisions`). */
  private decisionsAtMs = Number.NEGATIVE_INFINITY;
  /**
   * While a flush falls in [decidedAtMs, decisionsHoldUntilMs), the decisions of the last full
   * flush stand as they are: it sent nothing and changed no group, and no finding, silence or
   * timer can have changed a group's view since. Flush runs every second while any group is open,
   * and an open group mostly waits out its repeat_interval, so such a flush only re-dates the
   * decisions. -Infinity when something may have changed (see `redecide`).
   */
  private decidedAtMs = Number.NEGATIVE_INFINITY;
  private decisionsHoldUntilMs = Number.NEGATIVE_INFINITY;
  /** Whether any group at the last full flush had alerts a silence or an inhibit rule muted. */
  private mutedAtLastDecision = false;
  private readonly rejected: Partial<Record<FindingRejectReason, number>> = {};
  private readonly resolvedRetentionMs: number;
  private readonly maxResolvedAlerts: number;
  private nextPruneAtMs = Number.NEGATIVE_INFINITY;
  /**
   * No resolved alert ended before this (a lower bound; -Infinity when unknown): while it is within
   * the retention and the alerts fit the cap, forgetting old resolved alerts has nothing to do, and
   * its scan of every alert (with a Set of every group member) is skipped.
   */
  private resolvedSinceMs = Number.NEGATIVE_INFINITY;
  private readonly inhibitRules: InhibitRule[];
  /**
   * Inhibited alert episodes: by fingerprint, the start of the episode and its inhibition (a new
   * episode of the same alert replaces the entry). Keyed by the fingerprint, the string the alert
   * already holds, since this is looked up for every firing alert at every flush. And the count
   * per alert type.
   */
  private readonly inhibitedEpisodes = new Map<string, { startsAtMs: number; inhibition: Inhibition }>();
  private readonly inhibitedByType: Partial<Record<Alert["type"], number>> = {};

  constructor(
    private readonly config: AlertingConfig,
    options: AlertManagerOptions = {},
  ) {
    this.silences = silencesFromConfig(config.silences);
    this.inhibitRules = compileInhibitRules(config.inhibit_rules ?? DEFAULT_INHIBIT_RULES);
    this.resolvedRetentionMs = options.resolvedRetentionMs ?? DEFAULT_RESOLVED_RETENTION_MS;
    this.maxResolvedAlerts = options.maxResolvedAlerts ?? DEFAULT_MAX_RESOLVED;
  }

  /**
   * Apply one detector state change. A firing finding opens an alert, or refreshes the numbers of
   * one already firing without a new notification; a resolved finding ends it. Bad findings are
   * counted in `rejectedFindings()` and otherwise ignored.
   */
  ingest(finding: DetectorFinding): void {
    const problem = checkFinding(finding);
    if (problem !== null) {
      this.reject(problem);
      return;
    }
    this.redecide();
    const fp = fingerprint(finding.type, finding.service, finding.entity);
    const existing = this.alerts.get(fp);

    if (finding.status === "resolved") {
      if (existing === undefined || existing.status !== "firing") {
        this.reject("resolve_unknown");
        return;
      }
      existing.status = "resolved";
      existing.endsAtMs = Math.max(finding.atMs, existing.startsAtMs);
      if (existing.endsAtMs < this.resolvedSinceMs) this.resolvedSinceMs = existing.endsAtMs;
      existing.annotations = enrichFinding(finding);
      return;
    }

    if (existing !== undefined && existing.status === "firing") {
      existing.severity = finding.severity;
      existing.annotations = enrichFinding(finding);
      return;
    }

    // A new firing episode (first ever, or after the previous one resolved).
    const alert: Alert = {
      fingerprint: fp,
      type: finding.type,
      service: finding.service,
      entity: finding.entity,
      status: "firing",
      severity: finding.severity,
      startsAtMs: finding.atMs,
      endsAtMs: null,
      annotations: enrichFinding(finding),
    };
    this.alerts.set(fp, alert);
    const key = groupKeyOf(finding.type, finding.service);
    let group = this.groups.get(key);
    if (group === undefined) {
      group = { key, openedAtMs: finding.atMs, lastNotifiedAtMs: null, notifiedFiring: [], members: [] };
      this.groups.set(key, group);
      this.sortedGroupKeys = null;
    }
    if (!group.members.includes(fp)) group.members.push(fp);
  }

  /** Decide every group at event time `nowMs`; returns the notifications to send, in group-key order. */
  flush(nowMs: number): Notification[] {
    if (this.silences.length > 0) {
      // A silence that expires stops muting: every group is decided again.
      const inForce = this.silences.filter((s) => nowMs < s.expiresAtMs);
      if (inForce.length < this.silences.length) {
        this.silences = inForce;
        this.redecide();
      }
    }
    const out: Notification[] = [];
    if (nowMs >= this.decidedAtMs && nowMs < this.decisionsHoldUntilMs) {
      this.decisionsAtMs = nowMs;
    } else {
      this.decideGroups(nowMs, out);
    }
    if (nowMs >= this.nextPruneAtMs) {
      this.forgetOldResolved(nowMs);
      this.nextPruneAtMs = nowMs + PRUNE_EVERY_MS;
    }
    return out;
  }

  /** Why each group was or was not notified at the last flush. */
  lastDecisions(): GroupDecisionRecord[] {
    const first = this.decisions[0];
    if (first !== undefined && first.atMs !== this.decisionsAtMs) {
      // Flushes since the last full one repeated its decisions: the same records, at the new time.
      const atMs = this.decisionsAtMs;
      this.decisions = this.decisions.map((d) => ({
        ...d,
        atMs,
        silenced: d.silenced.map((m) => ({ ...m })),
        inhibited: d.inhibited.map((m) => ({ ...m })),
      }));
    }
    return this.decisions;
  }

  /**
   * Whether a group at the last flush had firing alerts a silence or an inhibit rule muted: when
   * none did, `lastDecisions` has nothing for the muted-alert history and need not be read.
   */
  mutedAtLastFlush(): boolean {
    return this.mutedAtLastDecision;
  }

  /**
   * Alerts an inhibit rule kept from notifying at least once, by type (each firing episode counted
   * once). They are still alerts: firing, resolvable, listed in the decisions and the report.
   */
  inhibitedAlerts(): Partial<Record<Alert["type"], number>> {
    return { ...this.inhibitedByType };
  }

  /** Findings refused since construction, by reason. */
  rejectedFindings(): Partial<Record<FindingRejectReason, number>> {
    return { ...this.rejected };
  }

  /** Add a silence at runtime; returns its id. Throws on empty or unknown matchers. */
  addSilence(silence: NewSilence): string {
    validateMatchers(silence.matchers, (problem) => new Error(`invalid silence: ${problem}`));
    if (!Number.isFinite(silence.expiresAtMs))
      throw new Error("invalid silence: expiresAtMs must be a finite time");
    const id = silence.id ?? `runtime-${this.nextSilenceId++}`;
    this.redecide();
    this.silences = this.silences.filter((s) => s.id !== id);
    this.silences.push({
      id,
      matchers: { ...silence.matchers },
      expiresAtMs: silence.expiresAtMs,
      reason: silence.reason,
    });
    return id;
  }

  /** Silences still in force at `nowMs`. */
  activeSilences(nowMs: number): Silence[] {
    return this.silences
      .filter((s) => nowMs < s.expiresAtMs)
      .map((s) => ({ ...s, matchers: { ...s.matchers } }));
  }

  /** True when no group is waiting, firing or owed a resolve: a flush can send nothing until a new finding. */
  idle(): boolean {
    return this.groups.size === 0;
  }

  isFiring(fp: string): boolean {
    return this.alerts.get(fp)?.status === "firing";
  }

  /** Firing alerts, oldest first. */
  firing(): Alert[] {
    return [...this.alerts.values()]
      .filter((a) => a.status === "firing")
      .sort((a, b) => a.startsAtMs - b.startsAtMs || a.fingerprint.localeCompare(b.fingerprint));
  }

  /** The alert with this fingerprint, firing or recently resolved. */
  get(fp: string): Alert | undefined {
    return this.alerts.get(fp);
  }

  snapshot(): unknown {
    const snapshot: AlertManagerSnapshot = {
      version: 1,
      alerts: [...this.alerts.values()],
      groups: [...this.groups.values()],
      silences: this.silences,
      nextSilenceId: this.nextSilenceId,
    };
    return structuredClone(snapshot);
  }

  /** Replace state with a `snapshot()`; throws StateError on anything else. */
  restore(state: unknown): void {
    const snapshot = parseSnapshot(state);
    this.alerts.clear();
    for (const alert of snapshot.alerts) this.alerts.set(alert.fingerprint, alert);
    this.groups.clear();
    for (const group of snapshot.groups) this.groups.set(group.key, group);
    this.sortedGroupKeys = null;
    this.resolvedSinceMs = Number.NEGATIVE_INFINITY;
    this.silences = snapshot.silences;
    this.nextSilenceId = snapshot.nextSilenceId;
    this.decisions = [];
    this.mutedAtLastDecision = false;
    this.redecide();
  }

  /** Something a decision reads changed: the next flush decides every group afresh. */
  private redecide(): void {
    this.decisionsHoldUntilMs = Number.NEGATIVE_INFINITY;
  }

  /** Decide every group at `nowMs`, sending into `out`; notes how long these decisions stand. */
  private decideGroups(nowMs: number, out: Notification[]): void {
    const decisions: GroupDecisionRecord[] = [];
    // Lowered by each group held below; `redecide` (a send, a changed group) makes it -Infinity.
    this.decisionsHoldUntilMs = Number.POSITIVE_INFINITY;
    let muted = false;
    if (this.sortedGroupKeys === null) this.sortedGroupKeys = [...this.groups.keys()].sort();
    const keys = this.sortedGroupKeys;
    for (const key of keys) {
      const group = this.groups.get(key)!;
      const { view, visible, resolvedTold, silenced, inhibited } = this.viewOf(group, nowMs);
      const decision = groupDecision(view, nowMs, this.config);
      decisions.push({
        groupKey: key,
        atMs: nowMs,
        send: decision.send,
        reason: decision.reason,
        silenced,
        inhibited,
      });
      if (silenced.length > 0 || inhibited.length > 0) muted = true;
      if (decision.send) {
        out.push(this.buildNotification(group, decision.reason, visible, resolvedTold, nowMs));
        group.lastNotifiedAtMs = nowMs;
        group.notifiedFiring = visible.map((a) => a.fingerprint);
        group.members = group.members.filter((fp) => this.alerts.get(fp)?.status === "firing");
        this.redecide();
      } else if (view.resolvedUnnotified > 0) {
        // Resolved before anyone was told: nothing to say about them later either.
        const told = new Set(group.notifiedFiring);
        group.members = group.members.filter(
          (fp) => this.alerts.get(fp)?.status === "firing" || told.has(fp),
        );
        this.redecide();
      } else {
        this.decisionsHoldUntilMs = Math.min(this.decisionsHoldUntilMs, this.heldUntil(group, nowMs));
      }
      if (group.members.length === 0) {
        this.groups.delete(key);
        this.sortedGroupKeys = null;
        this.redecide();
      } else if (decision.send && decision.reason === "resolved") {
        // Only silenced alerts remain: when the silence lifts they are news again, not an update.
        group.lastNotifiedAtMs = null;
        group.openedAtMs = nowMs;
        group.notifiedFiring = [];
      }
    }
    this.decisions = decisions;
    this.decisionsAtMs = nowMs;
    this.decidedAtMs = nowMs;
    this.mutedAtLastDecision = muted;
  }

  /**
   * Until when the decision of `group`, held at `nowMs`, stands while no finding or silence
   * changes: the first of its timers (group_wait, group_interval, repeat_interval) and its firing
   * alerts' inhibition holds still to end. Each is a `nowMs < end` test in the decision; one that
   * ended before `nowMs` stays ended, one ending exactly at `nowMs` still counts, to be safe.
   */
  private heldUntil(group: GroupState, nowMs: number): number {
    const cfg = this.config;
    let until = endFrom(nowMs, Number.POSITIVE_INFINITY, group.openedAtMs + cfg.group_wait_s * 1000);
    const notifiedMs = group.lastNotifiedAtMs;
    if (notifiedMs !== null) {
      until = endFrom(nowMs, until, notifiedMs + cfg.group_interval_s * 1000);
      until = endFrom(nowMs, until, notifiedMs + cfg.repeat_interval_s * 1000);
    }
    for (const rule of this.inhibitRules) {
      if (rule.holdMs <= 0) continue;
      for (const fp of group.members) {
        const alert = this.alerts.get(fp);
        if (alert !== undefined && alert.status === "firing") {
          until = endFrom(nowMs, until, alert.startsAtMs + rule.holdMs);
        }
      }
    }
    return until;
  }

  private viewOf(group: GroupState, nowMs: number) {
    const visible: Alert[] = [];
    const resolvedTold: Alert[] = [];
    const silenced: GroupDecisionRecord["silenced"] = [];
    const inhibited: GroupDecisionRecord["inhibited"] = [];
    // Runs for every open group every second: no Set and no closure for the few alerts a group
    // usually told about (a scan of a short list is cheaper than building a Set).
    const toldList = group.notifiedFiring;
    const toldSet = toldList.length > MAX_TOLD_SCAN ? new Set(toldList) : null;
    let resolvedUnnotified = 0;
    let newSinceNotified = 0;
    for (const fp of group.members) {
      const alert = this.alerts.get(fp);
      if (alert === undefined) continue;
      const told = toldSet === null ? toldList.includes(fp) : toldSet.has(fp);
      if (alert.status === "firing") {
        const silence =
          this.silences.length === 0 ? undefined : this.silences.find((s) => silenceMatches(s, alert, nowMs));
        const inhibition =
          silence === undefined && this.inhibitRules.length > 0 ? this.inhibitionOf(alert) : null;
        if (silence !== undefined) {
          silenced.push({ fingerprint: fp, silenceId: silence.id, reason: silence.reason });
        } else if (inhibition !== null) {
          inhibited.push({ fingerprint: fp, rule: inhibition.rule, by: inhibition.by });
        } else if (!told && heldForInhibition(this.inhibitRules, alert, nowMs)) {
          // Not yet: a source may still fire. Nothing is sent for it until the hold ends.
        } else {
          visible.push(alert);
          if (!told) newSinceNotified++;
        }
      } else if (told) {
        resolvedTold.push(alert);
      } else {
        resolvedUnnotified++;
      }
    }
    const view: GroupView = {
      openedAtMs: group.openedAtMs,
      lastNotifiedAtMs: group.lastNotifiedAtMs,
      visibleFiring: visible.length,
      // Muted either way: the group decision treats an inhibited alert as a silenced one.
      silencedFiring: silenced.length + inhibited.length,
      newSinceNotified,
      resolvedSinceNotified: resolvedTold.length,
      resolvedUnnotified,
    };
    return { view, visible, resolvedTold, silenced, inhibited };
  }

  /**
   * The inhibition of a firing alert. Once inhibited, an episode stays inhibited until it resolves,
   * even after its source resolves: the ML alert that outlives a CPU spike by a window is the same
   * incident, and paging it then would be the second page the rule exists to prevent.
   */
  private inhibitionOf(alert: Alert): Inhibition | null {
    const known = this.inhibitedEpisodes.get(alert.fingerprint);
    if (known !== undefined && known.startsAtMs === alert.startsAtMs) return known.inhibition;
    const inhibition = inhibitionOf(this.inhibitRules, alert, this.alerts.values());
    if (inhibition === null) return null;
    // Bounded: one entry per alert; cleared if it ever grows large (episodes end).
    if (this.inhibitedEpisodes.size >= 10_000) {
      this.inhibitedEpisodes.clear();
      // The next flush finds its inhibitions afresh (and counts them again), as it always did.
      this.redecide();
    }
    this.inhibitedEpisodes.set(alert.fingerprint, { startsAtMs: alert.startsAtMs, inhibition });
    this.inhibitedByType[alert.type] = (this.inhibitedByType[alert.type] ?? 0) + 1;
    return inhibition;
  }

  private buildNotification(
    group: GroupState,
    reason: Notification["reason"],
    visible: Alert[],
    resolved: Alert[],
    nowMs: number,
  ): Notification {
    const status = visible.length > 0 ? "firing" : "resolved";
    const alerts = [...sortAlerts(visible), ...sortAlerts(resolved)].map((a) => clonePlain(a));
    const headline = status === "firing" ? visible : resolved;
    let severity: Severity = "info";
    for (const alert of headline) severity = maxSeverity(severity, alert.severity);
    return {
      id: `${group.key}@${nowMs}`,
      groupKey: group.key,
      reason,
      status,
      severity,
      title: notificationTitle(status, sortAlerts(headline)),
      alerts,
      atMs: nowMs,
    };
  }

  private forgetOldResolved(nowMs: number): void {
    const nothingExpired = this.resolvedSinceMs + this.resolvedRetentionMs > nowMs;
    if (nothingExpired && this.alerts.size <= this.maxResolvedAlerts) return;
    const inGroups = new Set<string>();
    for (const group of this.groups.values()) for (const fp of group.members) inGroups.add(fp);
    const resolved: Alert[] = [];
    let resolvedSinceMs = Number.POSITIVE_INFINITY;
    for (const alert of this.alerts.values()) {
      if (alert.status !== "resolved") continue;
      const endedMs = alert.endsAtMs ?? alert.startsAtMs;
      if (!inGroups.has(alert.fingerprint)) {
        if (endedMs + this.resolvedRetentionMs <= nowMs) {
          this.alerts.delete(alert.fingerprint);
          continue;
        }
        resolved.push(alert);
      }
      // What stays bounds the next scan (those the cap removes below only lower the bound).
      if (endedMs < resolvedSinceMs) resolvedSinceMs = endedMs;
    }
    this.resolvedSinceMs = resolvedSinceMs;
    if (resolved.length > this.maxResolvedAlerts) {
      resolved.sort((a, b) => (a.endsAtMs ?? 0) - (b.endsAtMs ?? 0));
      for (const alert of resolved.slice(0, resolved.length - this.maxResolvedAlerts)) {
        this.alerts.delete(alert.fingerprint);
      }
    }
  }

  private reject(reason: FindingRejectReason): void {
    this.rejected[reason] = (this.rejected[reason] ?? 0) + 1;
  }
}

/** Hold reasons re-exported for callers that only import the manager. */
export type { HoldReason };

/** `untilMs`, or `endMs` when that is earlier and not before `nowMs` (see `heldUntil`). */
function endFrom(nowMs: number, untilMs: number, endMs: number): number {
  return endMs >= nowMs && endMs < untilMs ? endMs : untilMs;
}

function sortAlerts(alerts: Alert[]): Alert[] {
  return [...alerts].sort(
    (a, b) =>
      severityRank(b.severity) - severityRank(a.severity) ||
      a.startsAtMs - b.startsAtMs ||
      a.fingerprint.localeCompare(b.fingerprint),
  );
}

const TITLE_MAX_ALERTS = 3;

function notificationTitle(status: "firing" | "resolved", alerts: Alert[]): string {
  const names = alerts.slice(0, TITLE_MAX_ALERTS).map((a) => alertTitle(a.type, a.service, a.entity));
  const more = alerts.length > TITLE_MAX_ALERTS ? ` +${alerts.length - TITLE_MAX_ALERTS} more` : "";
  const tag = status === "firing" ? `[FIRING:${alerts.length}]` : `[RESOLVED:${alerts.length}]`;
  return `${tag} ${names.join("; ")}${more}`;
}

function checkFinding(finding: DetectorFinding): FindingRejectReason | null {
  if (typeof finding !== "object" || finding === null) return "bad_status";
  if (!(ALERT_TYPES as readonly string[]).includes(finding.type)) return "unknown_type";
  if (finding.status !== "firing" && finding.status !== "resolved") return "bad_status";
  if (typeof finding.service !== "string" || finding.service === "" || typeof finding.entity !== "string") {
    return "bad_identity";
  }
  if (!Number.isFinite(finding.atMs)) return "bad_time";
  return null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseSnapshot(state: unknown): AlertManagerSnapshot {
  if (!isRecord(state)) throw new StateError("alert manager", "not an object");
  if (state.version !== 1) throw new StateError("alert manager", `unknown version ${String(state.version)}`);
  const { alerts, groups, silences, nextSilenceId } = state;
  if (!Array.isArray(alerts) || !Array.isArray(groups) || !Array.isArray(silences)) {
    throw new StateError("alert manager", "alerts, groups and silences must be arrays");
  }
  for (const alert of alerts) {
    if (!isRecord(alert) || typeof alert.fingerprint !== "string" || !isRecord(alert.annotations)) {
      throw new StateError("alert manager", "an alert lacks its fingerprint or annotations");
    }
    if (alert.status !== "firing" && alert.status !== "resolved")
      throw new StateError("alert manager", "bad alert status");
  }
  for (const group of groups) {
    if (
      !isRecord(group) ||
      typeof group.key !== "string" ||
      typeof group.openedAtMs !== "number" ||
      !Array.isArray(group.members) ||
      !Array.isArray(group.notifiedFiring)
    ) {
      throw new StateError("alert manager", "a group is malformed");
    }
  }
  for (const silence of silences) {
    if (!isRecord(silence) || typeof silence.expiresAtMs !== "number" || !isRecord(silence.matchers)) {
      throw new StateError("alert manager", "a silence is malformed");
    }
  }
  return structuredClone({
    version: 1,
    alerts: alerts as Alert[],
    groups: groups as GroupState[],
    silences: silences as Silence[],
    nextSilenceId: typeof nextSilenceId === "number" ? nextSilenceId : 1,
  });
}

/**
 * A deep copy of plain data (objects, arrays, primitives), as structuredClone gives for it, at a
 * fraction of the cost: a notification copies every alert with its sample lines, and
 * structuredClone's serialise-and-rebuild showed in the processor's profile. Anything else (a Map,
 * a class instance) goes to structuredClone.
 */
function clonePlain<T>(value: T): T {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return value.map((item: unknown) => clonePlain(item)) as T;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return structuredClone(value);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    // Assigning an own "__proto__" key would set the prototype instead.
    if (key === "__proto__") return structuredClone(value);
    out[key] = clonePlain((value as Record<string, unknown>)[key]);
  }
  return out as T;
}
