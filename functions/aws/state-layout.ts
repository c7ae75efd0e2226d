import { createHash, randomBytes } from "node:crypto";
import { deflateRawSync, inflateRawSync } from "node:zlib";

/**
 * State layout: how a state value (the processor's snapshot: windows, ML models, alert dedup
 * state, outbox) becomes DynamoDB items, and back. docs/lambda.md "State layout" explains it for
 * operators; the short version:
 *
 * - The value is a tree of content-addressed items (a Merkle DAG). Any array whose JSON passes
 *   SPLIT_BYTES is cut into chunks with content-defined boundaries (a boundary follows from the
 *   elements themselves, not from their position), so removing the oldest element or appending a
 *   new one changes one or two chunks, not all of them. Per-service state (every detector keeps a
 *   list of services) therefore lands in chunks of a few services each. Any object still larger
 *   than BLOB_BYTES after that becomes an item of its own. Numeric matrices (ML training rows,
 *   scores) are stored as exact float64 binary, not JSON text.
 * - An isolation-forest model (a base64 `forest` string) is split into its trees; trees that are
 *   new since the last save go into one "pack" item. A retrain renews a quarter of the trees, so
 *   it writes one pack of a quarter of the model, and the pack whose trees all left is deleted.
 * - The head item holds the root: a small JSON value with the references. Saving writes only the
 *   items whose content the previous version did not hold, then the head with a conditional write;
 *   the items the previous version referenced and the new one does not are then deleted.
 *
 * Item names are fresh for every save attempt (content hash + a random tag), never overwritten:
 * a reader of the previous head never sees a half-written version, and a writer that loses the
 * race deletes exactly what it wrote, which nobody else references.
 */

/** Arrays whose JSON is longer than this are cut into chunk items. */
export const SPLIT_BYTES = 4096;
/** Objects whose JSON (after splitting) is still longer than this become an item of their own. */
export const BLOB_BYTES = 2048;
/** Content-defined chunking of JSON arrays: a chunk ends after an element once it holds at least
 *  CHUNK_MIN bytes and either that element's hash says so (1 in CHUNK_SPREAD) or the element is
 *  itself CHUNK_MIN or larger; it always ends at CHUNK_MAX. About 1 KB once compressed, the unit
 *  DynamoDB bills a write in. */
const CHUNK_MIN = 2048;
const CHUNK_MAX = 32 * 1024;
const CHUNK_SPREAD = 4;
/**
 * Chunks of service groups, in raw JSON bytes (a group is 10 to 20 KB, about 2 KB compressed).
 * Large on purpose: at one delivery a second every active service's group changes every window
 * save anyway, and a few large items waste less of DynamoDB's per-KB rounding than many small
 * ones (measured in the state bench: 16 KB $34, 48 KB $28, 96 KB $25 a month at 100 services).
 * 192 KB raw stays far below the 400 KB item limit once compressed.
 */
const GROUP_MIN = 64 * 1024;
const GROUP_MAX = 192 * 1024;
const GROUP_SPREAD = 2;
/** The same for float64 rows (binary, so no compression): at most 896 bytes, so a chunk and its
 *  keys stay within the 1 KB a write unit pays for. */
const ROWS_MIN = 256;
const ROWS_MAX = 896;
const ROWS_SPREAD = 4;
/** Numeric lists smaller than this stay inline (JSON): small ones change with their owner. */
const ROWS_SPLIT = 2048;
/** Items below this are not worth compressing. */
const COMPRESS_BYTES = 256;

/** Blob encodings (first byte of every item body). */
const RAW = 0;
const DEFLATED = 1;

/** What a version holds, by content: lets the next save write only what is new. */
export interface LayoutBase {
  /** Content key → item name, for every item the version references. */
  readonly items: ReadonlyMap<string, string>;
  /** The same per part (URGENT paths, and WINDOWS for the rest): what a partial save keeps. */
  readonly parts: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** The version's root tree (what the head holds), for a partial save. */
  readonly tree: Record<string, Json> | null;
  /** Tree key → where the tree is stored, for every tree of every model in the version. */
  readonly trees: ReadonlyMap<string, TreeRef>;
  /** Row chunks by their last row: a list that lost rows at the front reuses its first chunk. */
  readonly rows: ReadonlyMap<string, RowChunk>;
}

interface RowChunk {
  name: string;
  key: string;
  bytes: Uint8Array;
  /** fnvBytes of its last row: a quick test before `tailKey`. */
  endHash: number;
}

function rowChunk(name: string, bytes: Uint8Array, rowBytes: number): RowChunk {
  return {
    name,
    key: contentKey("f", bytes),
    bytes,
    endHash: fnvBytes(bytes, bytes.length - rowBytes, bytes.length),
  };
}

/** The key of a row chunk's last row (`width` values; a flat list: its last value). */
function tailKey(bytes: Uint8Array, rowBytes: number): string {
  return createHash("sha1")
    .update(String(rowBytes))
    .update(bytes.subarray(bytes.length - rowBytes))
    .digest("base64url");
}

interface TreeRef {
  pack: string;
  /** The pack's content key (so a version that keeps the tree keeps the pack). */
  packKey: string;
  index: number;
}

export const EMPTY_BASE: LayoutBase = {
  items: new Map(),
  parts: new Map(),
  trees: new Map(),
  rows: new Map(),
  tree: null,
};

/**
 * The parts of a processor state that save at once (the alert dedup state and the outbox of
 * decided notifications); everything else (windows, models, clocks) is the WINDOWS part, which a
 * partial save keeps as the stored version has it.
 */
export const URGENT_PATHS: readonly (readonly string[])[] = [["pipeline", "alerts"], ["outbox"]];
const WINDOWS = "windows";

/** One save, as the store executes it (see `StateStore.saveItems`). */
export interface EncodedState {
  /** The head's root: small JSON naming the top items. */
  root: string;
  /** Items to write before the head (names never used before). */
  put: Map<string, Uint8Array>;
  /** Items of the previous version that this one no longer references: deleted after the head commits. */
  delete: string[];
  /** What this version holds, for the save after it. */
  base: LayoutBase;
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function contentKey(kind: string, data: Uint8Array | string): string {
  return createHash("sha1").update(kind).update(data).digest("base64url").slice(0, 20);
}

function fnv(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function fnvBytes(bytes: Uint8Array, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) h = Math.imul(h ^ (bytes[i] as number), 0x01000193);
  return h >>> 0;
}

function isNumberMatrix(value: unknown[]): number {
  // Width of a matrix of finite numbers (rows of equal length); 0 for a flat number list; -1 otherwise.
  const first = value[0];
  if (typeof first === "number") {
    for (const v of value) if (typeof v !== "number" || !Number.isFinite(v)) return -1;
    return 0;
  }
  if (!Array.isArray(first) || first.length === 0) return -1;
  const width = first.length;
  for (const row of value) {
    if (!Array.isArray(row) || row.length !== width) return -1;
    for (const v of row) if (typeof v !== "number" || !Number.isFinite(v)) return -1;
  }
  return width;
}

class Encoder {
  readonly put = new Map<string, Uint8Array>();
  readonly items = new Map<string, string>();
  readonly trees = new Map<string, TreeRef>();
  readonly parts = new Map<string, Map<string, string>>();
  readonly rows = new Map<string, RowChunk>();
  /** The part being encoded: items are recorded under it. */
  part = WINDOWS;

  /** Record that this version references item `name` (content `key`) from the current part. */
  use(key: string, name: string): void {
    this.items.set(key, name);
    let part = this.parts.get(this.part);
    if (part === undefined) {
      part = new Map();
      this.parts.set(this.part, part);
    }
    part.set(key, name);
  }

  constructor(
    private readonly base: LayoutBase,
    private readonly tag: string,
  ) {}

  /** The name of an item with this content: the base's when it already holds it, else a new one. */
  private item(kind: string, body: Uint8Array | string, compress: boolean): string {
    const key = contentKey(kind, body);
    const known = this.items.get(key) ?? this.base.items.get(key);
    if (known !== undefined) {
      this.use(key, known);
      return known;
    }
    const name = `${kind}${key.slice(0, 11)}.${this.tag}`;
    const raw = typeof body === "string" ? Buffer.from(body, "utf8") : body;
    let stored: Uint8Array;
    // Brotli at any quality saved under 2% of the bill here (units round up per KB): deflate.
    const packed = compress && raw.length >= COMPRESS_BYTES ? deflateRawSync(raw) : null;
    if (packed !== null && packed.length < raw.length) {
      stored = Buffer.concat([Buffer.from([DEFLATED]), packed]);
    } else {
      stored = Buffer.concat([Buffer.from([RAW]), raw]);
    }
    this.put.set(name, stored);
    this.use(key, name);
    return name;
  }

  /**
   * `inline`: inside one service's group, nothing but numeric rows and models becomes an item of
   * its own: the group is one item, compressed as a whole.
   */
  encode(value: unknown, depth: number, inline = false): Json {
    if (value === null || typeof value !== "object") {
      return (value === undefined ? null : value) as Json;
    }
    if (Array.isArray(value)) return this.encodeArray(value, depth, inline);
    const out: Record<string, Json> = {};
    let escaped = false;
    for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
      if (child === undefined) continue;
      if (key.startsWith("$")) escaped = true;
      if (key === "forest" && typeof child === "string" && child.length > BLOB_BYTES) {
        out[key] = this.encodeForest(child);
        continue;
      }
      if (key === GROUPS && Array.isArray(child)) {
        out[key] = this.encodeArray(child, depth, false, true);
        continue;
      }
      out[key] = depth > 0 ? this.encode(child, depth - 1, inline) : (child as Json);
    }
    // A key of the state itself that starts with "$" would read as a reference: wrapped.
    const node: Json = escaped ? { $o: out } : out;
    if (inline) return node;
    const text = JSON.stringify(node);
    if (text.length > BLOB_BYTES) return { $j: this.item("j", text, true) };
    return node;
  }

  /** `elementsInline`: the elements are service groups (see `encode`). */
  encodeArray(value: unknown[], depth: number, inline = false, elementsInline = false): Json {
    if (value.length === 0) return [];
    const width = isNumberMatrix(value);
    if (width >= 0 && value.length * Math.max(1, width) * 8 > ROWS_SPLIT)
      return this.encodeRows(value, width, inline);
    const elements: string[] = [];
    let total = 2;
    for (const element of value) {
      const encoded =
        depth > 0 ? this.encode(element, depth - 1, inline || elementsInline) : (element as Json);
      const text = JSON.stringify(encoded === undefined ? null : encoded);
      elements.push(text);
      total += text.length + 1;
    }
    if (total <= SPLIT_BYTES || inline) return JSON.parse(`[${elements.join(",")}]`) as Json;
    const names: string[] = [];
    let chunk: string[] = [];
    let size = 0;
    elements.forEach((text, i) => {
      chunk.push(text);
      size += text.length + 1;
      // Service groups change every window, so their boundaries follow the service name (stable)
      // and a chunk takes a few of them: fewer, larger items waste less of the per-KB rounding
      // and compress better together.
      const group = elementsInline ? (value[i] as { service?: unknown }).service : undefined;
      const cut =
        group !== undefined
          ? size >= GROUP_MAX || (size >= GROUP_MIN && fnv(String(group)) % GROUP_SPREAD === 0)
          : size >= CHUNK_MAX ||
            (size >= CHUNK_MIN && (text.length >= CHUNK_MIN || fnv(text) % CHUNK_SPREAD === 0));
      if (cut) {
        names.push(this.item("c", `[${chunk.join(",")}]`, true));
        chunk = [];
        size = 0;
      }
    });
    if (chunk.length > 0) names.push(this.item("c", `[${chunk.join(",")}]`, true));
    return { $c: this.encodeArray(names, 0) };
  }

  /**
   * Finite numbers (a list, or rows of `width`) as float64 little-endian: exact and 8 bytes each.
   * `inline` (inside a service group): the rows after the last chunk boundary stay in the group as
   * JSON numbers (`$n`). They are the rows a save appends, and the group is rewritten at every
   * save anyway: as a chunk of their own they cost an item write and a delete every save.
   */
  private encodeRows(value: unknown[], width: number, inline: boolean): Json {
    const perRow = Math.max(1, width);
    const bytes = Buffer.alloc(value.length * perRow * 8);
    let at = 0;
    for (const row of value) {
      if (width === 0) {
        bytes.writeDoubleLE(row as number, at);
        at += 8;
      } else {
        for (const v of row as number[]) {
          bytes.writeDoubleLE(v, at);
          at += 8;
        }
      }
    }
    const rowBytes = perRow * 8;
    const names: string[] = [];
    let skip = 0;
    let start = 0;
    const tail: number[] = [];
    for (let end = rowBytes; end <= bytes.length; end += rowBytes) {
      const size = end - start;
      const rowHash = fnvBytes(bytes, end - rowBytes, end);
      // The first chunk ends where a stored chunk ends with the same rows: rows leave a list at
      // the front (the oldest training window), and the list points into that chunk (`$s`)
      // instead of writing it again. Every later chunk then starts where a stored one did, so
      // its boundary, which depends on its start, stays where it was.
      if (names.length === 0 && this.storedChunkEnds().has(rowHash)) {
        const reused = this.suffixOf(bytes.subarray(start, end), rowBytes);
        if (reused !== null) {
          names.push(reused.name);
          skip = (reused.bytes.length - size) / 8;
          start = end;
          continue;
        }
      }
      const boundary = size >= ROWS_MAX || (size >= ROWS_MIN && rowHash % ROWS_SPREAD === 0);
      if (inline && end === bytes.length && !boundary) {
        for (let at = start; at < end; at += 8) tail.push(bytes.readDoubleLE(at));
        break;
      }
      if (end === bytes.length || boundary) {
        const chunk = bytes.subarray(start, end);
        const name = this.item("f", chunk, false);
        this.rows.set(tailKey(chunk, rowBytes), rowChunk(name, chunk, rowBytes));
        names.push(name);
        start = end;
      }
    }
    const node: Record<string, Json> = { $f: width, $r: this.encodeArray(names, 0) };
    if (skip > 0) node.$s = skip;
    if (tail.length > 0) node.$n = tail;
    return node;
  }

  private chunkEnds: Set<number> | null = null;

  /** The last-row hashes of the base's row chunks. */
  private storedChunkEnds(): Set<number> {
    if (this.chunkEnds === null) this.chunkEnds = new Set([...this.base.rows.values()].map((c) => c.endHash));
    return this.chunkEnds;
  }

  /** A stored row chunk that ends with `chunk` (the same last row, and the bytes before it match). */
  private suffixOf(chunk: Uint8Array, rowBytes: number): RowChunk | null {
    const key = tailKey(chunk, rowBytes);
    const found = this.rows.get(key) ?? this.base.rows.get(key);
    if (found === undefined || found.bytes.length < chunk.length) return null;
    const tail = found.bytes.subarray(found.bytes.length - chunk.length);
    if (!Buffer.from(tail.buffer, tail.byteOffset, tail.byteLength).equals(chunk)) return null;
    this.use(found.key, found.name);
    this.rows.set(key, found);
    return found;
  }

  private encodeForest(base64: string): Json {
    const bytes = Buffer.from(base64, "base64");
    const parsed = splitForest(bytes);
    if (parsed === null) return { $j: this.item("s", JSON.stringify(base64), true) };
    const runs: [string, number, number][] = [];
    const fresh: Uint8Array[] = [];
    const placement: (TreeRef | number)[] = [];
    const keys: string[] = [];
    for (const tree of parsed.trees) {
      const key = contentKey("t", tree);
      keys.push(key);
      const known = this.trees.get(key) ?? this.base.trees.get(key);
      if (known !== undefined) placement.push(known);
      else {
        placement.push(fresh.length);
        fresh.push(tree);
      }
    }
    let packName = "";
    let packKey = "";
    if (fresh.length > 0) {
      const packed = packTrees(fresh);
      packKey = contentKey("p", packed);
      packName = this.item("p", packed, true);
    }
    parsed.trees.forEach((_tree, t) => {
      const where = placement[t] as TreeRef | number;
      const ref = typeof where === "number" ? { pack: packName, packKey, index: where } : where;
      this.trees.set(keys[t] as string, ref);
      // A pack of the base stays as long as one of its trees is in use.
      if (typeof where !== "number") this.use(ref.packKey, ref.pack);
      const last = runs[runs.length - 1];
      if (last && last[0] === ref.pack && last[1] + last[2] === ref.index) last[2]++;
      else runs.push([ref.pack, ref.index, 1]);
    });
    return { $forest: Buffer.from(parsed.header).toString("base64"), $t: runs };
  }
}

/** A random tag per save attempt: item names written by one attempt are never written by another. */
function newTag(): string {
  return randomBytes(6).toString("base64url");
}

/** Where per-service lists sit in a processor state: every detector's lists. */
function serviceLists(value: unknown): [string, Record<string, unknown>][] {
  if (!isRecord(value) || !isRecord(value.pipeline)) return [];
  const out: [string, Record<string, unknown>][] = [];
  const detectors = value.pipeline.detectors;
  if (isRecord(detectors)) {
    for (const [name, snapshot] of Object.entries(detectors)) {
      if (isRecord(snapshot)) out.push([`detectors.${name}`, snapshot]);
    }
  }
  // Alerts stay in their own list: they change on findings, not with every window, so they
  // would only make every service group larger.
  return out;
}

const GROUPS = "serviceGroups";

/**
 * Items per service: every list entry that belongs to a service (a detector's per-service state)
 * moves into that service's group, and the list keeps only the order of its entries
 * (service names). A service's group is one item, compressed as a whole: its detectors keep the
 * same recent log lines as samples, which compress away together, and a save rewrites one item
 * per active service instead of one per detector.
 */
export function groupByService(value: unknown): unknown {
  const lists = serviceLists(value);
  if (lists.length === 0) return value;
  const copy = { ...(value as Record<string, unknown>) };
  const pipeline = { ...(copy.pipeline as Record<string, unknown>) };
  copy.pipeline = pipeline;
  const detectors = isRecord(pipeline.detectors) ? { ...pipeline.detectors } : undefined;
  if (detectors !== undefined) pipeline.detectors = detectors;
  const groups = new Map<string, Record<string, unknown[]>>();
  for (const [path, holder] of lists) {
    const replaced: Record<string, unknown> = { ...holder };
    let changed = false;
    for (const [field, list] of Object.entries(holder)) {
      if (!Array.isArray(list) || list.length === 0) continue;
      if (!list.every((e) => isRecord(e) && typeof e.service === "string")) continue;
      const where = `${path}.${field}`;
      for (const entry of list as Record<string, unknown>[]) {
        const service = entry.service as string;
        let group = groups.get(service);
        if (group === undefined) {
          group = {};
          groups.set(service, group);
        }
        const parts = group[where] ?? [];
        group[where] = parts;
        parts.push(entry);
      }
      replaced[field] = { grouped: where, order: list.map((e) => (e as { service: string }).service) };
      changed = true;
    }
    if (!changed) continue;
    if (detectors !== undefined) detectors[path.slice("detectors.".length)] = replaced;
  }
  copy[GROUPS] = [...groups.keys()].sort().map((service) => ({ service, parts: groups.get(service) }));
  return copy;
}

/** The inverse of groupByService: every list back in its order. */
export function ungroupByService(value: unknown): unknown {
  if (!isRecord(value) || !Array.isArray(value[GROUPS])) return value;
  const groups = new Map<string, Record<string, unknown[]>>();
  for (const group of value[GROUPS] as { service: string; parts: Record<string, unknown[]> }[]) {
    groups.set(group.service, group.parts);
  }
  const copy = { ...value };
  delete copy[GROUPS];
  const taken = new Map<string, number>();
  for (const [, holder] of serviceLists(copy)) {
    for (const [field, marker] of Object.entries(holder)) {
      if (!isRecord(marker) || typeof marker.grouped !== "string" || !Array.isArray(marker.order)) continue;
      const where = marker.grouped;
      holder[field] = (marker.order as string[]).map((service) => {
        const key = `${service}\u0000${where}`;
        const index = taken.get(key) ?? 0;
        taken.set(key, index + 1);
        const entry = groups.get(service)?.[where]?.[index];
        if (entry === undefined) throw new Error(`state group ${service} has no entry ${index} of ${where}`);
        return entry;
      });
    }
  }
  return copy;
}

/**
 * Encode `value` against `base` (what the stored version holds). Items already in the base are
 * referenced, not written again; items of the base no longer referenced are listed for deletion.
 */
export function encodeState(
  value: unknown,
  base: LayoutBase = EMPTY_BASE,
  options: { urgentOnly?: boolean } = {},
): EncodedState {
  const encoder = new Encoder(base, newTag());
  const grouped = groupByService(value);
  let tree: Record<string, Json>;
  if (options.urgentOnly === true && base.tree !== null) {
    // A partial save: the windows part stays exactly as stored; only the urgent parts are new.
    tree = structuredClone(base.tree);
    encoder.part = WINDOWS;
    for (const [key, name] of base.parts.get(WINDOWS) ?? []) encoder.use(key, name);
    for (const [key, ref] of base.trees) encoder.trees.set(key, ref);
    for (const [key, chunk] of base.rows) encoder.rows.set(key, chunk);
  } else {
    encoder.part = WINDOWS;
    tree = encodeTop(encoder, withoutUrgent(grouped));
  }
  for (const path of URGENT_PATHS) {
    encoder.part = path.join(".");
    setPath(tree, path, encoder.encode(getPath(grouped, path), 8));
  }
  const root = JSON.stringify({ v: 2, root: tree });
  const referenced = new Set(encoder.items.values());
  const deleted = new Set<string>();
  for (const name of base.items.values()) if (!referenced.has(name)) deleted.add(name);
  return {
    root,
    put: encoder.put,
    delete: [...deleted],
    base: { items: encoder.items, parts: encoder.parts, trees: encoder.trees, rows: encoder.rows, tree },
  };
}

/** The root and the pipeline object stay in the head (never an item): a partial save edits them. */
function encodeTop(encoder: Encoder, value: unknown): Record<string, Json> {
  const out: Record<string, Json> = {};
  if (!isRecord(value)) return out;
  for (const [key, child] of Object.entries(value)) {
    if (child === undefined) continue;
    if (key === "pipeline" && isRecord(child)) {
      const pipeline: Record<string, Json> = {};
      for (const [k, c] of Object.entries(child)) if (c !== undefined) pipeline[k] = encoder.encode(c, 8);
      out[key] = pipeline;
    } else if (key === GROUPS && Array.isArray(child)) {
      out[key] = encoder.encodeArray(child, 8, false, true);
    } else out[key] = encoder.encode(child, 8);
  }
  return out;
}

function getPath(value: unknown, path: readonly string[]): unknown {
  let at: unknown = value;
  for (const key of path) at = isRecord(at) ? at[key] : undefined;
  return at;
}

function setPath(tree: Record<string, Json>, path: readonly string[], node: Json): void {
  let at: Record<string, Json> = tree;
  for (const key of path.slice(0, -1)) {
    const next = at[key];
    if (next === null || typeof next !== "object" || Array.isArray(next)) return;
    at = next;
  }
  const last = path[path.length - 1] as string;
  if (node === null && !(last in at)) return;
  at[last] = node;
}

/** A shallow copy of the state without the urgent parts. */
function withoutUrgent(value: unknown): unknown {
  if (!isRecord(value)) return value;
  const copy: Record<string, unknown> = { ...value };
  for (const path of URGENT_PATHS) {
    if (path.length === 1) delete copy[path[0] as string];
    else if (path.length === 2 && isRecord(copy[path[0] as string])) {
      const inner = { ...(copy[path[0] as string] as Record<string, unknown>) };
      delete inner[path[1] as string];
      copy[path[0] as string] = inner;
    }
  }
  return copy;
}

/** Items are read in batches: `fetch` returns the bodies of the names it is given (all of them). */
export type FetchItems = (names: string[]) => Promise<Map<string, Uint8Array>>;

export class MissingItemError extends Error {
  constructor(readonly item: string) {
    super(`state item ${item} is missing`);
    this.name = "MissingItemError";
  }
}

function body(stored: Uint8Array): Buffer {
  const buffer = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
  if (buffer[0] === DEFLATED) return inflateRawSync(buffer.subarray(1));
  if (buffer[0] === RAW) return buffer.subarray(1);
  throw new Error(`state item has unknown encoding ${buffer[0]}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Decode a root written by encodeState, fetching items level by level (every item of a level in
 * one batch of `fetch` calls). Returns the value and the base for the next save.
 */
export async function decodeState(
  root: string,
  fetch: FetchItems,
): Promise<{ value: unknown; base: LayoutBase }> {
  const parsed = JSON.parse(root) as { v?: number; root?: unknown };
  if (parsed.v !== 2) throw new Error(`state root version ${String(parsed.v)} is not 2`);
  const cache = new Map<string, Buffer>();
  // Walk what is known; collect what is missing; fetch; repeat until the walk completes.
  for (let round = 0; ; round++) {
    const missing = new Set<string>();
    const walker = new Decoder(cache, missing);
    const value = walker.decode(parsed.root ?? null);
    if (missing.size === 0) {
      const tree = isRecord(parsed.root) ? (parsed.root as Record<string, Json>) : {};
      // Which items each part references (a partial save keeps the windows part's items).
      const parts = new Map<string, ReadonlyMap<string, string>>();
      const windows = new Decoder(cache, new Set());
      windows.decode(withoutUrgent(tree));
      parts.set(WINDOWS, windows.baseOf().items);
      for (const path of URGENT_PATHS) {
        const part = new Decoder(cache, new Set());
        part.decode(getPath(tree, path) ?? null);
        parts.set(path.join("."), part.baseOf().items);
      }
      const base = walker.baseOf();
      return {
        value: ungroupByService(value),
        base: { items: base.items, trees: base.trees, rows: base.rows, parts, tree },
      };
    }
    if (round > 32) throw new Error("state references nest deeper than 32 levels");
    const got = await fetch([...missing]);
    for (const name of missing) {
      const stored = got.get(name);
      if (stored === undefined) throw new MissingItemError(name);
      cache.set(name, body(stored));
    }
  }
}

class Decoder {
  private readonly items = new Map<string, string>();
  private readonly rows = new Map<string, RowChunk>();
  private readonly trees = new Map<string, TreeRef>();
  private incomplete = false;

  constructor(
    private readonly cache: Map<string, Buffer>,
    private readonly missing: Set<string>,
  ) {}

  baseOf(): { items: Map<string, string>; trees: Map<string, TreeRef>; rows: Map<string, RowChunk> } {
    return { items: this.items, trees: this.trees, rows: this.rows };
  }

  /** The body of an item, or null (and noted as missing) when not fetched yet. */
  private get(kind: string, name: string): Buffer | null {
    const found = this.cache.get(name);
    if (found === undefined) {
      this.missing.add(name);
      this.incomplete = true;
      return null;
    }
    this.items.set(contentKey(kind, found), name);
    return found;
  }

  decode(node: unknown): unknown {
    if (Array.isArray(node)) return node.map((n) => this.decode(n));
    if (!isRecord(node)) return node;
    if ("$o" in node) {
      const inner = node.$o as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(inner)) out[k] = this.decode(v);
      return out;
    }
    if (typeof node.$j === "string") {
      const found = this.get("j", node.$j);
      return found === null ? null : this.decode(JSON.parse(found.toString("utf8")));
    }
    if ("$c" in node) {
      const names = this.decode(node.$c);
      if (!Array.isArray(names)) return [];
      const out: unknown[] = [];
      for (const name of names) {
        const found = this.get("c", String(name));
        if (found === null) continue;
        for (const element of JSON.parse(found.toString("utf8")) as unknown[]) out.push(this.decode(element));
      }
      return out;
    }
    if ("$f" in node) {
      const width = Number(node.$f);
      const names = this.decode(node.$r);
      if (!Array.isArray(names)) return [];
      const out: unknown[] = [];
      const rowBytes = Math.max(1, width) * 8;
      let skip = typeof node.$s === "number" ? node.$s : 0;
      const push = (found: Buffer) => {
        const values = found.length / 8;
        if (width === 0) for (let i = 0; i < values; i++) out.push(found.readDoubleLE(i * 8));
        else {
          for (let r = 0; r < values / width; r++) {
            const row: number[] = [];
            for (let f = 0; f < width; f++) row.push(found.readDoubleLE((r * width + f) * 8));
            out.push(row);
          }
        }
      };
      for (const name of names) {
        const stored = this.get("f", String(name));
        if (stored === null) continue;
        if (stored.length >= rowBytes) {
          this.rows.set(tailKey(stored, rowBytes), rowChunk(String(name), stored, rowBytes));
        }
        push(stored.subarray(skip * 8));
        skip = 0;
      }
      if (Array.isArray(node.$n)) {
        const tail = Buffer.alloc(node.$n.length * 8);
        node.$n.forEach((v, i) => {
          tail.writeDoubleLE(Number(v), i * 8);
        });
        push(tail);
      }
      return out;
    }
    if (typeof node.$forest === "string") return this.decodeForest(node.$forest, node.$t);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) out[k] = this.decode(v);
    return out;
  }

  private decodeForest(header: string, runs: unknown): string | null {
    if (!Array.isArray(runs)) throw new Error("state forest has no tree list");
    const trees: Uint8Array[] = [];
    for (const run of runs) {
      const [pack, from, count] = run as [string, number, number];
      const found = this.get("p", pack);
      if (found === null) continue;
      const packKey = contentKey("p", found);
      const all = unpackTrees(found);
      for (let i = from; i < from + count; i++) {
        const tree = all[i];
        if (tree === undefined) throw new Error(`state pack ${pack} has no tree ${i}`);
        trees.push(tree);
        this.trees.set(contentKey("t", tree), { pack, packKey, index: i });
      }
    }
    if (this.incomplete) return null;
    return Buffer.from(joinForest(Buffer.from(header, "base64"), trees)).toString("base64");
  }
}

// ---- isolation-forest bytes (the format of shared/ml/isolation-forest.ts serialize()) ----
// Header (32 bytes): magic u32, format u16, flags u16, features u32, sample size u32, trees u32,
// nodes u32, checksum u32, reserved. Then roots i32 x trees, split f32 x nodes, right i32 x nodes
// (absolute node index, 0 at a leaf), feature i16 x nodes (padded to 4), boxLow and boxHigh f32 x
// trees x features. A tree is stored on its own with node indices relative to its root, so the
// same tree has the same bytes wherever it sits in the forest.

const HEADER = 32;
const FOREST_MAGIC = 0x524f4649;

function align4(n: number): number {
  return (n + 3) & ~3;
}

export function splitForest(bytes: Uint8Array): { header: Uint8Array; trees: Uint8Array[] } | null {
  if (bytes.length < HEADER) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== FOREST_MAGIC || view.getUint16(4, true) !== 1) return null;
  const features = view.getUint32(8, true);
  const nTrees = view.getUint32(16, true);
  const nNodes = view.getUint32(20, true);
  const expected = HEADER + 4 * nTrees + 8 * nNodes + align4(2 * nNodes) + 8 * nTrees * features;
  if (bytes.length !== expected || nTrees === 0) return null;
  const rootsAt = HEADER;
  const splitAt = rootsAt + 4 * nTrees;
  const rightAt = splitAt + 4 * nNodes;
  const featureAt = rightAt + 4 * nNodes;
  const lowAt = featureAt + align4(2 * nNodes);
  const highAt = lowAt + 4 * nTrees * features;
  const trees: Uint8Array[] = [];
  for (let t = 0; t < nTrees; t++) {
    const start = view.getInt32(rootsAt + 4 * t, true);
    const end = t + 1 < nTrees ? view.getInt32(rootsAt + 4 * (t + 1), true) : nNodes;
    if (start < 0 || end > nNodes || end <= start) return null;
    const n = end - start;
    // A tree is in pre-order with the left child right after its parent, so the right child is
    // where the left subtree ends: derived on join, not stored (checked here; a model laid out
    // otherwise is not split). Features fit a byte (-1 marks a leaf).
    const tree = new Uint8Array(4 + 5 * n + 8 * features);
    const out = new DataView(tree.buffer);
    out.setUint32(0, n, true);
    tree.set(bytes.subarray(splitAt + 4 * start, splitAt + 4 * end), 4);
    for (let i = 0; i < n; i++) {
      const feature = view.getInt16(featureAt + 2 * (start + i), true);
      if (feature < -1 || feature > 127) return null;
      out.setInt8(4 + 4 * n + i, feature);
    }
    const right = rightChildren(tree.subarray(4 + 4 * n, 4 + 5 * n));
    if (right === null) return null;
    for (let i = 0; i < n; i++) {
      const stored = view.getInt32(rightAt + 4 * (start + i), true);
      if ((stored === 0 ? 0 : stored - start) !== right[i]) return null;
    }
    tree.set(bytes.subarray(lowAt + 4 * features * t, lowAt + 4 * features * (t + 1)), 4 + 5 * n);
    tree.set(
      bytes.subarray(highAt + 4 * features * t, highAt + 4 * features * (t + 1)),
      4 + 5 * n + 4 * features,
    );
    trees.push(tree);
  }
  return { header: bytes.slice(0, HEADER), trees };
}

export function joinForest(header: Uint8Array, trees: readonly Uint8Array[]): Uint8Array {
  const headerView = new DataView(header.buffer, header.byteOffset, header.byteLength);
  const features = headerView.getUint32(8, true);
  const nTrees = trees.length;
  const sizes = trees.map((tree) =>
    new DataView(tree.buffer, tree.byteOffset, tree.byteLength).getUint32(0, true),
  );
  const nNodes = sizes.reduce((a, b) => a + b, 0);
  const bytes = new Uint8Array(HEADER + 4 * nTrees + 8 * nNodes + align4(2 * nNodes) + 8 * nTrees * features);
  bytes.set(header.subarray(0, HEADER), 0);
  const view = new DataView(bytes.buffer);
  const splitAt = HEADER + 4 * nTrees;
  const rightAt = splitAt + 4 * nNodes;
  const featureAt = rightAt + 4 * nNodes;
  const lowAt = featureAt + align4(2 * nNodes);
  const highAt = lowAt + 4 * nTrees * features;
  let start = 0;
  trees.forEach((tree, t) => {
    const n = sizes[t] as number;
    view.setInt32(HEADER + 4 * t, start, true);
    bytes.set(tree.subarray(4, 4 + 4 * n), splitAt + 4 * start);
    const features8 = new Int8Array(tree.buffer, tree.byteOffset + 4 + 4 * n, n);
    const right = rightChildren(tree.subarray(4 + 4 * n, 4 + 5 * n)) ?? new Int32Array(n);
    for (let i = 0; i < n; i++) {
      view.setInt32(rightAt + 4 * (start + i), right[i] === 0 ? 0 : (right[i] as number) + start, true);
      view.setInt16(featureAt + 2 * (start + i), features8[i] as number, true);
    }
    bytes.set(tree.subarray(4 + 5 * n, 4 + 5 * n + 4 * features), lowAt + 4 * features * t);
    bytes.set(tree.subarray(4 + 5 * n + 4 * features, 4 + 5 * n + 8 * features), highAt + 4 * features * t);
    start += n;
  });
  return bytes;
}

/**
 * Right-child index of every node of a pre-order tree (0 at a leaf), from the feature bytes alone
 * (-1 marks a leaf); null when the bytes are not one whole tree.
 */
function rightChildren(features: Uint8Array): Int32Array | null {
  const n = features.length;
  const right = new Int32Array(n);
  // Each internal node waits for its left subtree to end; the node after it is its right child.
  const waiting: number[] = [];
  for (let i = 0; i < n; i++) {
    const isLeaf = (features[i] as number) === 0xff;
    if (!isLeaf) {
      waiting.push(i);
      continue;
    }
    // A leaf ends the left subtree of the nearest internal node still waiting for its right child.
    if (i + 1 < n) {
      const parent = waiting.pop();
      if (parent === undefined) return null;
      right[parent] = i + 1;
    }
  }
  return waiting.length === 0 ? right : null;
}

function packTrees(trees: readonly Uint8Array[]): Uint8Array {
  const total = 4 + 4 * trees.length + trees.reduce((a, t) => a + t.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, trees.length, true);
  let at = 4 + 4 * trees.length;
  trees.forEach((tree, i) => {
    view.setUint32(4 + 4 * i, tree.length, true);
    out.set(tree, at);
    at += tree.length;
  });
  return out;
}

function unpackTrees(pack: Uint8Array): Uint8Array[] {
  const view = new DataView(pack.buffer, pack.byteOffset, pack.byteLength);
  const count = view.getUint32(0, true);
  const trees: Uint8Array[] = [];
  let at = 4 + 4 * count;
  for (let i = 0; i < count; i++) {
    const length = view.getUint32(4 + 4 * i, true);
    trees.push(pack.subarray(at, at + length));
    at += length;
  }
  return trees;
}
