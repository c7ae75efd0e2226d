import { StateError } from "../errors.js";
import { isRecord, readArray, readFiniteNumber } from "./state.js";

/** Most buckets one window keeps; a longer window gets wider buckets instead, so memory stays fixed. */
const MAX_BUCKETS = 600;

/** The default bucket width: alert decisions are made in whole seconds. */
const DEFAULT_BUCKET_MS = 1000;

/** Numbers per slot in `BucketWindow.slots`: bucket index, a, b. */
const SLOT_WIDTH = 3;

/**
 * `head` before the first value. A number rather than null: V8 then keeps the field as a plain
 * double updated in place, where a field that may hold null boxes every large index stored in it.
 */
const NO_HEAD = Number.NEGATIVE_INFINITY;

export interface BucketWindowState {
  bucketMs: number;
  size: number;
  /** Index (time / bucketMs) of the newest bucket, or null before the first value. */
  head: number | null;
  /** Only the buckets inside the window that hold something, as [index, a, b]: most are empty. */
  buckets: [number, number, number][];
  totalA: number;
  totalB: number;
}

type Bucket = [index: number, a: number, b: number];

/**
 * A sliding time window of fixed-width buckets holding two running sums (for example a metric sum
 * and a reading count, or errors and requests). Adding, sliding and reading the totals are O(1)
 * amortised, and the totals are kept incrementally. The window edge has bucket resolution: it
 * covers the `size` newest buckets, that is between `windowMs - bucketMs` and `windowMs` of time.
 * Two layouts share this contract and the saved state: `BucketWindow` (a ring, for keys with steady
 * traffic) and `SparseBucketWindow` (only the buckets in use, for keys that see a few events).
 */
abstract class SlidingWindow {
  readonly bucketMs: number;
  readonly size: number;
  /** Index (time / bucketMs) of the newest bucket, or NO_HEAD before the first value. */
  protected head = NO_HEAD;
  protected sumA = 0;
  protected sumB = 0;

  constructor(windowMs: number) {
    if (!(windowMs > 0) || !Number.isFinite(windowMs)) {
      throw new RangeError(`window length must be a positive number of ms, got ${windowMs}`);
    }
    this.bucketMs = Math.max(DEFAULT_BUCKET_MS, Math.ceil(windowMs / MAX_BUCKETS));
    this.size = Math.max(1, Math.ceil(windowMs / this.bucketMs));
  }

  get windowMs(): number {
    return this.bucketMs * this.size;
  }

  get totalA(): number {
    return this.sumA;
  }

  get totalB(): number {
    return this.sumB;
  }

  /** Move the newest edge of the window to `nowMs`; buckets that fall out are dropped. */
  abstract slideTo(nowMs: number): void;

  /**
   * Add to the bucket holding `timeMs`, sliding forward first if it is newer than the window.
   * Returns false (and adds nothing) when the time is already older than the window.
   */
  add(timeMs: number, a: number, b: number): boolean {
    return this.addToIndex(Math.floor(timeMs / this.bucketMs), a, b);
  }

  /**
   * `slideTo(nowMs)` then `add(timeMs, a, b)`: how a detector records an event handled at `nowMs`
   * (its own time, or the latest seen when later). With events in order the two times are the same
   * and the bucket index is computed once.
   */
  slideAndAdd(nowMs: number, timeMs: number, a: number, b: number): boolean {
    const index = Math.floor(timeMs / this.bucketMs);
    this.slideToIndex(nowMs === timeMs ? index : Math.floor(nowMs / this.bucketMs));
    // The usual case: the window now ends at or after the value's bucket, so adding slides nothing.
    return index <= this.head ? this.addInWindow(index, a, b) : this.addToIndex(index, a, b);
  }

  /** Move the newest edge of the window to bucket `index`. */
  protected abstract slideToIndex(index: number): void;
  /** `add` for the bucket `index`. */
  protected addToIndex(index: number, a: number, b: number): boolean {
    this.slideToIndex(index);
    return this.addInWindow(index, a, b);
  }

  /** `addToIndex` for a bucket at or before the newest: nothing to slide. */
  protected abstract addInWindow(index: number, a: number, b: number): boolean;

  /** Start time of the oldest bucket in the window whose first sum is non-zero; null if none. */
  oldestStartWithA(): number | null {
    for (const [index, a] of this.buckets()) if (a !== 0) return index * this.bucketMs;
    return null;
  }

  toState(): BucketWindowState {
    return {
      bucketMs: this.bucketMs,
      size: this.size,
      head: Number.isFinite(this.head) ? this.head : null,
      buckets: this.buckets(),
      totalA: this.sumA,
      totalB: this.sumB,
    };
  }

  /** Load a state saved by either layout for the same window length; throws StateError. */
  loadState(detector: string, state: unknown): void {
    const loaded = readWindowState(detector, state, this.bucketMs, this.size);
    this.head = loaded.head ?? NO_HEAD;
    this.load(loaded.buckets.sort((x, y) => x[0] - y[0]));
    this.sumA = loaded.totalA;
    this.sumB = loaded.totalB;
  }

  /** Buckets inside the window that hold something, oldest first. */
  protected abstract buckets(): Bucket[];
  /** Replace the contents with `buckets` (validated, oldest first); head and totals are the caller's. */
  protected abstract load(buckets: Bucket[]): void;
}

/** The ring layout: fixed memory per window, no allocation per value. */
export class BucketWindow extends SlidingWindow {
  /** Per slot, side by side: [bucket index or NaN when unclaimed, a, b]. */
  private readonly slots: Float64Array;
  /** Offset in `slots` of the slot bucket `head` maps to (0 before the first value). */
  private headBase = 0;

  constructor(windowMs: number) {
    super(windowMs);
    this.slots = new Float64Array(this.size * SLOT_WIDTH);
    this.clearAll();
  }

  slideTo(nowMs: number): void {
    this.slideToIndex(Math.floor(nowMs / this.bucketMs));
  }

  // The three windows every event visits (CPU, memory, error rate) run this: the slot of the head
  // bucket is kept and the ring walked slot by slot, so the usual event (in the head bucket, or
  // one or two buckets on) costs no modulo.
  protected addInWindow(index: number, a: number, b: number): boolean {
    if (index <= this.head - this.size) return false;
    // A late value may land in a bucket the window has not claimed yet (before its first value).
    const base =
      index === this.head && this.slots[this.headBase] === index ? this.headBase : this.claim(index);
    this.slots[base + 1] = (this.slots[base + 1] ?? 0) + a;
    this.slots[base + 2] = (this.slots[base + 2] ?? 0) + b;
    this.sumA += a;
    this.sumB += b;
    return true;
  }

  protected slideToIndex(index: number): void {
    if (this.head === NO_HEAD) {
      this.head = index;
      this.headBase = this.claim(index);
      return;
    }
    if (index <= this.head) return;
    // A jump longer than the window clears every bucket once; no need to walk the whole gap.
    if (index - this.head >= this.size) {
      for (let base = 0; base < this.slots.length; base += SLOT_WIDTH) this.clearSlot(base);
    }
    const first = Math.max(this.head + 1, index - this.size + 1);
    let base = first === this.head + 1 ? this.nextBase(this.headBase) : this.baseOf(first);
    for (let i = first; ; i++) {
      this.claimAt(base, i);
      if (i === index) break;
      base = this.nextBase(base);
    }
    this.head = index;
    this.headBase = base;
  }

  protected buckets(): Bucket[] {
    const buckets: Bucket[] = [];
    if (this.head === NO_HEAD) return buckets;
    for (let index = this.head - this.size + 1; index <= this.head; index++) {
      const base = this.baseOf(index);
      const a = this.slots[base + 1] ?? 0;
      const b = this.slots[base + 2] ?? 0;
      if (this.slots[base] === index && (a !== 0 || b !== 0)) buckets.push([index, a, b]);
    }
    return buckets;
  }

  protected load(buckets: Bucket[]): void {
    this.clearAll();
    for (const [index, a, b] of buckets) {
      const base = this.baseOf(index);
      this.slots[base] = index;
      this.slots[base + 1] = a;
      this.slots[base + 2] = b;
    }
    this.headBase = this.head === NO_HEAD ? 0 : this.baseOf(this.head);
  }

  /** Offset in `slots` of the slot that bucket `index` maps to. */
  private baseOf(index: number): number {
    const slot = index % this.size;
    return (slot < 0 ? slot + this.size : slot) * SLOT_WIDTH;
  }

  /** The slot after the one at `base`, round the ring: the slot of the next bucket. */
  private nextBase(base: number): number {
    const next = base + SLOT_WIDTH;
    return next === this.slots.length ? 0 : next;
  }

  /**
   * Give the slot of `index` to that bucket, removing whatever older bucket it held from the totals;
   * returns the slot's offset.
   */
  private claim(index: number): number {
    const base = this.baseOf(index);
    this.claimAt(base, index);
    return base;
  }

  /** `claim` for a slot offset already known to be that of `index`. */
  private claimAt(base: number, index: number): void {
    if (this.slots[base] !== index) {
      this.clearSlot(base);
      this.slots[base] = index;
    }
  }

  private clearSlot(base: number): void {
    this.sumA -= this.slots[base + 1] ?? 0;
    this.sumB -= this.slots[base + 2] ?? 0;
    this.slots[base] = Number.NaN;
    this.slots[base + 1] = 0;
    this.slots[base + 2] = 0;
    // Running sums of fractional values drift; an empty window must read as exactly empty.
    if (Math.abs(this.sumB) < 1e-9) {
      this.sumB = 0;
      this.sumA = 0;
    }
  }

  private clearAll(): void {
    for (let base = 0; base < this.slots.length; base += SLOT_WIDTH) {
      this.slots[base] = Number.NaN;
      this.slots[base + 1] = 0;
      this.slots[base + 2] = 0;
    }
  }
}

/**
 * The sparse layout: only buckets that hold something, oldest first. Memory grows with the buckets
 * in use rather than the window length, which suits keys that see a few events each, such as the
 * source IPs of failed logins: an IP spray creates thousands of keys, and a ring per key would cost
 * kilobytes each.
 */
export class SparseBucketWindow extends SlidingWindow {
  /** Bucket indexes, ascending, from `first` on; entries before `first` are spent. */
  private readonly indexes: number[] = [];
  private readonly a: number[] = [];
  private readonly b: number[] = [];
  private first = 0;

  slideTo(nowMs: number): void {
    this.slideToIndex(Math.floor(nowMs / this.bucketMs));
  }

  protected addInWindow(index: number, a: number, b: number): boolean {
    if (index <= this.head - this.size) return false;
    this.addToBucket(index, a, b);
    this.sumA += a;
    this.sumB += b;
    return true;
  }

  protected slideToIndex(index: number): void {
    if (index <= this.head) return;
    this.head = index;
    const oldest = index - this.size;
    while (this.first < this.indexes.length && (this.indexes[this.first] as number) <= oldest) {
      this.sumA -= this.a[this.first] ?? 0;
      this.sumB -= this.b[this.first] ?? 0;
      this.first++;
    }
    if (this.first === this.indexes.length) {
      // Empty: reset exactly, which also clears any drift of the running sums. Arrays already
      // empty (a new key's first slide) are left alone: setting an array's length is a call into
      // the runtime, three of them for every new IP and user.
      if (this.indexes.length > 0) this.load([]);
      this.sumA = 0;
      this.sumB = 0;
    } else if (this.first > 32 && this.first * 2 > this.indexes.length) {
      this.indexes.splice(0, this.first);
      this.a.splice(0, this.first);
      this.b.splice(0, this.first);
      this.first = 0;
    }
  }

  private addToBucket(index: number, a: number, b: number): void {
    // Values arrive almost in order, so the bucket is the last one or close to it.
    let at = this.indexes.length - 1;
    while (at >= this.first && (this.indexes[at] as number) > index) at--;
    if (at >= this.first && this.indexes[at] === index) {
      this.a[at] = (this.a[at] ?? 0) + a;
      this.b[at] = (this.b[at] ?? 0) + b;
    } else if (at === this.indexes.length - 1) {
      this.indexes.push(index);
      this.a.push(a);
      this.b.push(b);
    } else {
      this.indexes.splice(at + 1, 0, index);
      this.a.splice(at + 1, 0, a);
      this.b.splice(at + 1, 0, b);
    }
  }

  protected buckets(): Bucket[] {
    const buckets: Bucket[] = [];
    for (let at = this.first; at < this.indexes.length; at++) {
      const a = this.a[at] ?? 0;
      const b = this.b[at] ?? 0;
      if (a !== 0 || b !== 0) buckets.push([this.indexes[at] as number, a, b]);
    }
    return buckets;
  }

  protected load(buckets: Bucket[]): void {
    this.first = 0;
    this.indexes.length = 0;
    this.a.length = 0;
    this.b.length = 0;
    for (const [index, a, b] of buckets) {
      this.indexes.push(index);
      this.a.push(a);
      this.b.push(b);
    }
  }
}

/** Check a saved window against the configured shape; throws StateError naming the problem. */
function readWindowState(
  detector: string,
  state: unknown,
  bucketMs: number,
  size: number,
): { head: number | null; buckets: Bucket[]; totalA: number; totalB: number } {
  if (!isRecord(state)) throw new StateError(detector, "window is not an object");
  const savedBucketMs = readFiniteNumber(detector, state, "bucketMs");
  const savedSize = readFiniteNumber(detector, state, "size");
  if (savedBucketMs !== bucketMs || savedSize !== size) {
    throw new StateError(
      detector,
      `window shape ${savedSize}x${savedBucketMs}ms does not match the configured ${size}x${bucketMs}ms`,
    );
  }
  const head = state.head;
  if (head !== null && (typeof head !== "number" || !Number.isInteger(head))) {
    throw new StateError(detector, "window head is not an integer or null");
  }
  const totalA = readFiniteNumber(detector, state, "totalA");
  const totalB = readFiniteNumber(detector, state, "totalB");
  const buckets: Bucket[] = [];
  const seen = new Set<number>();
  for (const bucket of readArray(detector, state, "buckets")) {
    if (
      !Array.isArray(bucket) ||
      bucket.length !== 3 ||
      !bucket.every((n) => typeof n === "number" && Number.isFinite(n)) ||
      head === null ||
      !Number.isInteger(bucket[0]) ||
      bucket[0] > head ||
      bucket[0] <= head - size
    ) {
      throw new StateError(detector, "window bucket is not [index inside the window, a, b]");
    }
    if (seen.has(bucket[0])) throw new StateError(detector, `window bucket ${bucket[0]} appears twice`);
    seen.add(bucket[0]);
    buckets.push(bucket as Bucket);
  }
  return { head, buckets, totalA, totalB };
}
