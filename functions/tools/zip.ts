import { crc32, deflateRawSync } from "node:zlib";

export interface ZipEntry {
  /** Path inside the archive, forward slashes, no leading slash. */
  name: string;
  data: Buffer;
  /** Modification time written to the archive; fixed by default so that builds are reproducible. */
  modified?: Date;
  /** Unix permission bits (for example 0o644); defaults to 0o644. */
  mode?: number;
}

const LOCAL_HEADER = 0x04034b50;
const CENTRAL_HEADER = 0x02014b50;
const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const METHOD_STORE = 0;
const METHOD_DEFLATE = 8;
/** Bit 11: names are UTF-8. */
const FLAG_UTF8 = 0x0800;
/** "Made by" Unix (3) so that unzip honours the permission bits, spec version 2.0. */
const MADE_BY_UNIX = (3 << 8) | 20;
const VERSION_NEEDED = 20;
/** 1980-01-01, the earliest instant DOS time can hold: a fixed stamp keeps zips byte-identical. */
const DEFAULT_TIME = new Date(1980, 0, 1, 0, 0, 0);
/** Beyond these the classic (non-ZIP64) format cannot describe the archive. */
const MAX_CLASSIC_SIZE = 0xffffffff;
const MAX_CLASSIC_ENTRIES = 0xffff;

/**
 * A minimal ZIP writer (deflate, no ZIP64) for Lambda deployment packages: Terraform here has no
 * archive provider, and the build should not depend on a `zip` binary being installed.
 */
export function createZip(entries: readonly ZipEntry[]): Buffer {
  if (entries.length > MAX_CLASSIC_ENTRIES) throw new RangeError(`zip: too many entries (${entries.length})`);
  const seen = new Set<string>();
  const localParts: Buffer[] = [];
  const centralParts: Buffer[] = [];
  let offset = 0;

  for (const entry of entries) {
    validateName(entry.name);
    if (seen.has(entry.name)) throw new Error(`zip: duplicate entry ${entry.name}`);
    seen.add(entry.name);

    const name = Buffer.from(entry.name, "utf8");
    const deflated = deflateRawSync(entry.data, { level: 9 });
    // Already-compressed data can grow when deflated; storing it is then smaller and still valid.
    const useDeflate = deflated.length < entry.data.length;
    const body = useDeflate ? deflated : entry.data;
    const checksum = crc32(entry.data);
    const { time, date } = dosDateTime(entry.modified ?? DEFAULT_TIME);
    if (entry.data.length > MAX_CLASSIC_SIZE || offset > MAX_CLASSIC_SIZE) {
      throw new RangeError(`zip: ${entry.name} needs ZIP64, which this writer does not support`);
    }

    // "Version needed" to "extra length" (26 bytes) is one record in both headers: the central
    // directory repeats the local header's fields, after its own "version made by".
    const common = Buffer.alloc(26);
    common.writeUInt16LE(VERSION_NEEDED, 0);
    common.writeUInt16LE(FLAG_UTF8, 2);
    common.writeUInt16LE(useDeflate ? METHOD_DEFLATE : METHOD_STORE, 4);
    common.writeUInt16LE(time, 6);
    common.writeUInt16LE(date, 8);
    common.writeUInt32LE(checksum, 10);
    common.writeUInt32LE(body.length, 14);
    common.writeUInt32LE(entry.data.length, 18);
    common.writeUInt16LE(name.length, 22);
    common.writeUInt16LE(0, 24); // extra length

    const local = Buffer.alloc(30);
    local.writeUInt32LE(LOCAL_HEADER, 0);
    common.copy(local, 4);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(CENTRAL_HEADER, 0);
    central.writeUInt16LE(MADE_BY_UNIX, 4);
    common.copy(central, 6);
    central.writeUInt16LE(0, 32); // comment length
    central.writeUInt16LE(0, 34); // disk number
    central.writeUInt16LE(0, 36); // internal attributes
    // Regular file (S_IFREG) plus permission bits in the high half of the external attributes.
    central.writeUInt32LE(((0o100000 | (entry.mode ?? 0o644)) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);

    localParts.push(local, name, body);
    centralParts.push(central, name);
    offset += local.length + name.length + body.length;
  }

  const centralDirectory = Buffer.concat(centralParts);
  if (offset > MAX_CLASSIC_SIZE)
    throw new RangeError("zip: archive needs ZIP64, which this writer does not support");
  const end = Buffer.alloc(22);
  end.writeUInt32LE(END_OF_CENTRAL_DIRECTORY, 0);
  end.writeUInt16LE(0, 4);
  end.writeUInt16LE(0, 6);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralDirectory.length, 12);
  end.writeUInt32LE(offset, 16);
  end.writeUInt16LE(0, 20);
  return Buffer.concat([...localParts, centralDirectory, end]);
}

function validateName(name: string): void {
  if (name === "" || name.startsWith("/") || name.includes("\\") || name.split("/").includes("..")) {
    throw new Error(`zip: invalid entry name ${JSON.stringify(name)}`);
  }
  if (Buffer.byteLength(name, "utf8") > 0xffff) throw new Error("zip: entry name too long");
}

/** DOS date and time (local time, 2-second resolution), clamped to the format's 1980..2107 range. */
function dosDateTime(when: Date): { time: number; date: number } {
  const year = Math.min(Math.max(when.getFullYear(), 1980), 2107);
  return {
    time: (when.getHours() << 11) | (when.getMinutes() << 5) | Math.floor(when.getSeconds() / 2),
    date: ((year - 1980) << 9) | ((when.getMonth() + 1) << 5) | when.getDate(),
  };
}
