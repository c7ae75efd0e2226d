/**
 * FNV-1a (http://www.isthe.com/chongo/tech/comp/fnv/): small, fast, stable across processes and
 * releases, and not cryptographic. Used for seeds, stagger offsets, sort keys, a model checksum and
 * alert fingerprints; every one of those is persisted or replayed, so these outputs must never change.
 */

export const FNV32_OFFSET_BASIS = 0x811c9dc5;
const FNV32_PRIME = 0x01000193;
const FNV64_OFFSET_BASIS = 0xcbf29ce484222325n;
const FNV64_PRIME = 0x100000001b3n;
const MASK_64 = 0xffffffffffffffffn;

/**
 * 32-bit FNV-1a over a string's UTF-16 code units, unsigned. For ASCII text this is the standard
 * byte-wise hash; beyond ASCII it differs from hashing the UTF-8 bytes, and stays so on purpose
 * (seeds derived from it are in saved state). `basis` lets a caller mix in a seed.
 */
export function fnv1a32(text: string, basis: number = FNV32_OFFSET_BASIS): number {
  let hash = basis;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), FNV32_PRIME);
  return hash >>> 0;
}

/** 32-bit FNV-1a over `bytes[from..]`, unsigned. */
export function fnv1a32Bytes(bytes: Uint8Array, from = 0): number {
  let hash = FNV32_OFFSET_BASIS;
  for (let i = from; i < bytes.length; i++) hash = Math.imul(hash ^ (bytes[i] as number), FNV32_PRIME);
  return hash >>> 0;
}

/** 64-bit FNV-1a over bytes (BigInt arithmetic: the product does not fit a double). */
export function fnv1a64Bytes(bytes: Uint8Array): bigint {
  let hash = FNV64_OFFSET_BASIS;
  for (const byte of bytes) hash = ((hash ^ BigInt(byte)) * FNV64_PRIME) & MASK_64;
  return hash;
}
