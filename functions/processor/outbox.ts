import type { Notification } from "../../shared/alerts/types.js";

/**
 * The transactional outbox (docs/lambda.md, "Delivery"): notifications the processor decided, saved
 * in the same conditional write as the state that decided them, published after that write won,
 * and removed ("marked sent") by a second write. Pure bookkeeping: no I/O, no clock (times are
 * passed in), so the state layout can store it wherever it likes (`OutboxSnapshot` is plain JSON).
 */
export interface OutboxEntry {
  notification: Notification;
  /** Wall time the decision that produced it was saved. */
  addedAtMs: number;
  /** Failed publish attempts so far (outages), for the logs and the dead letter. */
  attempts: number;
  /**
   * An invocation publishing it, and the wall time its deadline ends: until then no other
   * invocation publishes it, so two concurrent processors never both send it.
   */
  lease?: { owner: string; untilMs: number };
}

export type OutboxSnapshot = OutboxEntry[];

export class Outbox {
  private constructor(private entries: OutboxEntry[]) {}

  static empty(): Outbox {
    return new Outbox([]);
  }

  /**
   * From a snapshot; also reads the format before the outbox (a bare array of notifications).
   * Anything unreadable is left out rather than failing the invocation: the caller counts it.
   */
  static restore(value: unknown, nowMs: number): { outbox: Outbox; unreadable: number } {
    if (!Array.isArray(value)) return { outbox: Outbox.empty(), unreadable: value === undefined ? 0 : 1 };
    const entries: OutboxEntry[] = [];
    let unreadable = 0;
    for (const item of value) {
      if (isNotification(item)) entries.push({ notification: item, addedAtMs: nowMs, attempts: 0 });
      else if (isEntry(item)) entries.push(structuredClone(item));
      else unreadable++;
    }
    return { outbox: new Outbox(entries), unreadable };
  }

  snapshot(): OutboxSnapshot {
    return structuredClone(this.entries);
  }

  clone(): Outbox {
    return new Outbox(structuredClone(this.entries));
  }

  get size(): number {
    return this.entries.length;
  }

  ids(): string[] {
    return this.entries.map((e) => e.notification.id);
  }

  /** Fresh decisions, newest last. A notification already spooled (same id) is not added twice. */
  add(notifications: readonly Notification[], nowMs: number): void {
    const known = new Set(this.ids());
    for (const notification of notifications) {
      if (known.has(notification.id)) continue;
      known.add(notification.id);
      this.entries.push({ notification, addedAtMs: nowMs, attempts: 0 });
    }
  }

  /**
   * Lease, oldest first, every entry nobody else holds (no lease, an expired one, or our own):
   * these are the ones `owner` may publish until `untilMs`. Returns them in publish order.
   */
  lease(owner: string, nowMs: number, untilMs: number): OutboxEntry[] {
    const leased: OutboxEntry[] = [];
    for (const entry of this.entries) {
      if (entry.lease !== undefined && entry.lease.owner !== owner && entry.lease.untilMs > nowMs) continue;
      entry.lease = { owner, untilMs };
      leased.push(entry);
    }
    return leased;
  }

  /** The oldest entries beyond `max`: they go to the dead-letter queue rather than grow the state. */
  overflow(max: number): OutboxEntry[] {
    return this.entries.slice(0, Math.max(0, this.entries.length - max));
  }

  /**
   * Settle one invocation's publishing: remove what was sent (or dead-lettered), count failed
   * attempts, and give back `owner`'s leases on the rest so the next invocation may try them at once.
   * Applies to any later version of the outbox (it only names ids), which is what lets the
   * mark-sent write be redone on top of another invocation's save.
   */
  settle(owner: string, done: ReadonlySet<string>, failed: ReadonlySet<string>): void {
    this.entries = this.entries.filter((e) => !done.has(e.notification.id));
    for (const entry of this.entries) {
      if (failed.has(entry.notification.id)) entry.attempts++;
      if (entry.lease?.owner === owner) delete entry.lease;
    }
  }

  /** Drop the oldest beyond `hardMax` (the dead-letter queue itself is failing); returns them. */
  trim(hardMax: number): OutboxEntry[] {
    const cut = this.entries.length - hardMax;
    return cut > 0 ? this.entries.splice(0, cut) : [];
  }
}

function isNotification(value: unknown): value is Notification {
  const n = value as Partial<Notification> | null;
  return (
    typeof n === "object" &&
    n !== null &&
    typeof n.id === "string" &&
    Array.isArray(n.alerts) &&
    typeof n.atMs === "number"
  );
}

function isEntry(value: unknown): value is OutboxEntry {
  const e = value as Partial<OutboxEntry> | null;
  if (typeof e !== "object" || e === null) return false;
  if (!isNotification(e.notification) || typeof e.addedAtMs !== "number" || typeof e.attempts !== "number")
    return false;
  return (
    e.lease === undefined ||
    (typeof e.lease === "object" &&
      e.lease !== null &&
      typeof e.lease.owner === "string" &&
      typeof e.lease.untilMs === "number")
  );
}
