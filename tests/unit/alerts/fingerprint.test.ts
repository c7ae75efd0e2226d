import { describe, expect, it } from "vitest";
import { fingerprint } from "../../../shared/alerts/fingerprint.js";

describe("fingerprint", () => {
  it("is 16 hex digits and stable across calls", () => {
    const fp = fingerprint("high_cpu", "payment-service", "");
    expect(fp).toMatch(/^[0-9a-f]{16}$/);
    expect(fingerprint("high_cpu", "payment-service", "")).toBe(fp);
  });

  it("pins the FNV-1a 64 value so snapshots and idempotency keys survive releases", () => {
    // Cross-checked with an independent FNV-1a 64 over "brute_force_ip\x1fauth-service\x1f203.0.113.7".
    expect(fingerprint("brute_force_ip", "auth-service", "203.0.113.7")).toMatchInlineSnapshot(
      `"a29cf81961804a0a"`,
    );
  });

  it.each([
    ["type", fingerprint("high_memory", "payment-service", "")],
    ["service", fingerprint("high_cpu", "order-service", "")],
    ["entity", fingerprint("high_cpu", "payment-service", "10.0.0.1")],
    ["field boundary", fingerprint("high_cpu", "payment-service\u001f", "")],
  ])("changes with the %s", (_field, other) => {
    expect(other).not.toBe(fingerprint("high_cpu", "payment-service", ""));
  });
});
