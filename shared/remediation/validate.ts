import type { Notification } from "../alerts/types.js";

/*
 * Checks on what remediation is asked to act on. Notifications reach the remediation function
 * through SNS, where anyone allowed to publish to the topic can put anything: the policy must not
 * act on an address that is not one, or on a time that cannot be.
 */

/** The largest time a JavaScript Date can hold; anything past it cannot even be printed. */
const MAX_DATE_MS = 8.64e15;

const IPV4_PART = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const IPV6_GROUP = /^[0-9a-fA-F]{1,4}$/;

function isIpv4(text: string): boolean {
  const parts = text.split(".");
  return parts.length === 4 && parts.every((part) => IPV4_PART.test(part));
}

function isIpv6(text: string): boolean {
  const halves = text.split("::");
  if (halves.length > 2) return false;
  const groups = (half: string) => (half === "" ? [] : half.split(":"));
  const head = groups(halves[0] ?? "");
  const tail = halves.length === 2 ? groups(halves[1] ?? "") : [];
  const all = [...head, ...tail];
  // An embedded IPv4 address (::ffff:192.0.2.1) may end the address and counts as two groups.
  let count = all.length;
  const last = all[all.length - 1];
  if (last?.includes(".")) {
    if (!isIpv4(last)) return false;
    all.pop();
    count++;
  }
  if (!all.every((group) => IPV6_GROUP.test(group))) return false;
  return halves.length === 2 ? count <= 7 : count === 8;
}

/** An IPv4 or IPv6 address, optionally with a /prefix (CIDR); nothing else, no spaces. */
export function isIpOrCidr(text: string): boolean {
  if (text.length === 0 || text.length > 50) return false;
  const slash = text.indexOf("/");
  const address = slash === -1 ? text : text.slice(0, slash);
  const prefix = slash === -1 ? null : text.slice(slash + 1);
  const v4 = isIpv4(address);
  if (!v4 && !isIpv6(address)) return false;
  if (prefix === null) return true;
  if (!/^(0|[1-9]\d{0,2})$/.test(prefix)) return false;
  return Number(prefix) <= (v4 ? 32 : 128);
}

export interface TimeBounds {
  /** How far ahead of the reference clock a notification may be (clock skew between hosts). */
  maxFutureSkewMs: number;
  /** How old a notification may be; acting on an incident long over does harm, not good. */
  maxAgeMs: number;
}

/**
 * Why a notification's times are impossible against `referenceMs` (the wall clock where it is
 * acted on), or null. A notification dated years ahead would otherwise be acted on, fill the circuit
 * breaker's window with times that never leave it, and block every real action after it.
 */
export function notificationTimeProblem(
  n: Notification,
  referenceMs: number,
  bounds: TimeBounds,
): string | null {
  const { atMs } = n;
  if (!Number.isFinite(atMs)) return `notification time ${String(atMs)} is not a finite time`;
  const shown = (ms: number) =>
    Math.abs(ms) <= MAX_DATE_MS ? new Date(ms).toISOString() : `${ms} ms (outside the Date range)`;
  if (atMs > referenceMs + bounds.maxFutureSkewMs || atMs >= MAX_DATE_MS) {
    return `notification dated ${shown(atMs)} is in the future (now ${shown(referenceMs)}, allowed skew ${Math.round(bounds.maxFutureSkewMs / 1000)}s)`;
  }
  if (atMs < referenceMs - bounds.maxAgeMs) {
    return `notification dated ${shown(atMs)} is too old to act on (now ${shown(referenceMs)}, at most ${Math.round(bounds.maxAgeMs / 3_600_000)}h)`;
  }
  for (const alert of n.alerts) {
    if (!Number.isFinite(alert.startsAtMs) || alert.startsAtMs > atMs + bounds.maxFutureSkewMs) {
      return `alert ${alert.fingerprint} starts at ${shown(alert.startsAtMs)}, after its notification (${shown(atMs)})`;
    }
  }
  return null;
}
