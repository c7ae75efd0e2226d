/**
 * An ignore list as fail2ban's `ignoreip`: single addresses, CIDR ranges (IPv4 and IPv6) and host
 * names (matched exactly, case-insensitively). Addresses are compared as numbers, so "::ffff:1.2.3.4"
 * and "1.2.3.4" or a compressed and an expanded IPv6 are the same address.
 */

interface Range {
  version: 4 | 6;
  /** The network address as a bigint, already masked. */
  network: bigint;
  prefix: number;
}

/** The address as a number, or null when the text is not an IPv4 or IPv6 address. */
export function parseAddress(text: string): { version: 4 | 6; value: bigint } | null {
  let candidate = text.trim();
  if (candidate.startsWith("[") && candidate.endsWith("]")) candidate = candidate.slice(1, -1);
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(candidate);
  if (mapped?.[1] !== undefined) candidate = mapped[1];
  const v4 = parseIpv4(candidate);
  if (v4 !== null) return { version: 4, value: v4 };
  const v6 = parseIpv6(candidate);
  return v6 === null ? null : { version: 6, value: v6 };
}

function parseIpv4(text: string): bigint | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

function parseIpv6(text: string): bigint | null {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || text.length > 45) return null;
  let head = text;
  let tail = "";
  const double = text.indexOf("::");
  if (double >= 0) {
    if (text.indexOf("::", double + 1) >= 0) return null;
    head = text.slice(0, double);
    tail = text.slice(double + 2);
  }
  const groups = (part: string): number[] | null => {
    if (part === "") return [];
    const out: number[] = [];
    const pieces = part.split(":");
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i] as string;
      if (i === pieces.length - 1 && piece.includes(".")) {
        const v4 = parseIpv4(piece);
        if (v4 === null) return null;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) return null;
        out.push(Number.parseInt(piece, 16));
      }
    }
    return out;
  };
  const first = groups(head);
  const last = groups(tail);
  if (first === null || last === null) return null;
  const missing = 8 - first.length - last.length;
  if (double < 0 ? missing !== 0 : missing < 1) return null;
  const all = [...first, ...new Array<number>(double < 0 ? 0 : missing).fill(0), ...last];
  let value = 0n;
  for (const group of all) value = (value << 16n) | BigInt(group);
  return value;
}

export class AddressList {
  private readonly ranges: Range[] = [];
  private readonly names = new Set<string>();

  /** Entries that are neither an address, a CIDR range nor a plausible host name. */
  readonly invalid: string[] = [];

  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const [addressText = "", prefixText] = entry.trim().split("/");
      const address = parseAddress(addressText);
      if (address !== null) {
        const bits = address.version === 4 ? 32 : 128;
        const prefix = prefixText === undefined ? bits : Number(prefixText);
        if (
          !Number.isInteger(prefix) ||
          prefix < 0 ||
          prefix > bits ||
          (prefixText !== undefined && !/^\d+$/.test(prefixText))
        ) {
          this.invalid.push(entry);
          continue;
        }
        this.ranges.push({ version: address.version, prefix, network: mask(address.value, prefix, bits) });
      } else if (prefixText === undefined && /^[\w.-]+$/.test(addressText) && /[a-z]/i.test(addressText)) {
        this.names.add(addressText.toLowerCase());
      } else {
        this.invalid.push(entry);
      }
    }
  }

  get size(): number {
    return this.ranges.length + this.names.size;
  }

  /** Whether an address or host name is on the list. */
  has(host: string): boolean {
    if (this.size === 0) return false;
    const address = parseAddress(host);
    if (address === null) return this.names.has(host.toLowerCase());
    const bits = address.version === 4 ? 32 : 128;
    for (const range of this.ranges) {
      if (range.version === address.version && mask(address.value, range.prefix, bits) === range.network)
        return true;
    }
    return false;
  }
}

function mask(value: bigint, prefix: number, bits: number): bigint {
  if (prefix === 0) return 0n;
  const hostBits = BigInt(bits - prefix);
  return (value >> hostBits) << hostBits;
}
