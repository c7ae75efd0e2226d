import { fnv1a64Bytes } from "../hash.js";
import type { AlertType } from "./types.js";

/** Joins fields so that ("a|b", "c") and ("a", "b|c") cannot collide by concatenation. */
const FIELD_SEPARATOR = "\u001f";

/**
 * Identity of an alert: FNV-1a 64-bit over the identifying fields only, as 16 hex digits.
 * Measured values (observed, severity, samples) never enter it, so an alert that keeps firing with
 * new numbers stays the same alert. Stable across processes and releases: snapshots, idempotency
 * keys and audit incidents all depend on it, so do not change the input format.
 */
export function fingerprint(type: AlertType, service: string, entity: string): string {
  const bytes = new TextEncoder().encode([type, service, entity].join(FIELD_SEPARATOR));
  return fnv1a64Bytes(bytes).toString(16).padStart(16, "0");
}
