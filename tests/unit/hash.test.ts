import { describe, expect, it } from "vitest";
import { FNV32_OFFSET_BASIS, fnv1a32, fnv1a32Bytes, fnv1a64Bytes } from "../../shared/hash.js";

const utf8 = (text: string) => new TextEncoder().encode(text);

// The published FNV-1a test vectors (isthe.com/chongo/src/fnv/test_fnv.c).
const VECTORS_32: [string, number][] = [
  ["", 0x811c9dc5],
  ["a", 0xe40c292c],
  ["foobar", 0xbf9cf968],
];
const VECTORS_64: [string, bigint][] = [
  ["", 0xcbf29ce484222325n],
  ["a", 0xaf63dc4c8601ec8cn],
  ["foobar", 0x85944171f73967e8n],
];

describe("FNV-1a", () => {
  it.each(VECTORS_32)("32-bit of %j matches the published vector", (text, expected) => {
    expect(fnv1a32(text)).toBe(expected);
    expect(fnv1a32Bytes(utf8(text))).toBe(expected);
  });

  it.each(VECTORS_64)("64-bit of %j matches the published vector", (text, expected) => {
    expect(fnv1a64Bytes(utf8(text))).toBe(expected);
  });

  it("hashes bytes from an offset, as the model checksum skips its header", () => {
    expect(fnv1a32Bytes(utf8("xyzfoobar"), 3)).toBe(0xbf9cf968);
  });

  it("hashes UTF-16 code units for strings (kept: seeds in saved state depend on it)", () => {
    // "é" is one code unit (0xe9) but two UTF-8 bytes.
    expect(fnv1a32("é")).toBe(fnv1a32Bytes(Uint8Array.of(0xe9)));
    expect(fnv1a32("é")).not.toBe(fnv1a32Bytes(utf8("é")));
  });

  it("takes a seeded basis and stays unsigned", () => {
    const seeded = fnv1a32("auth-service", (42 ^ FNV32_OFFSET_BASIS) >>> 0);
    expect(seeded).not.toBe(fnv1a32("auth-service"));
    for (const text of ["", "a", "api-gateway", "\uffff\uffff"]) {
      const h = fnv1a32(text);
      expect(Number.isInteger(h) && h >= 0 && h <= 0xffffffff).toBe(true);
    }
  });
});
