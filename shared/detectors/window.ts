import { DetectorStateError } from "./detector.js";
import { isRecord, readArray, readFiniteNumber } from "./state.js";

/** Most buckets one window keeps; a longer window gets wider buckets instead, so memory stays fixed. */
const MAX_BUCKETS = 600;

/** The default bucket width: alert decisions are made in whole seconds. */
const DEFAULT_BUCKET_MS = 1000;

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

/**
 * A sliding time window of fixed-width buckets holding two running sums (for example a metric sum
 * and a reading count, or errors and requests). Adding, sliding and reading the totals are O(1)
 * amortised with no allocation: each bucket is cleared once as the window passes it, and the totals
 * are kept incrementally. The window edge has bucket resolution: it covers the `size` newest
 * buckets, that is between `windowMs - bucketMs` and `windowMs` of time.
 */
export class BucketWindow {
  readonly bucketMs: number;
  readonly size: number;
  private head: number | null = null;
  private readonly epochs: number[];
  private readonly a: number[];
  private readonly b: number[];
  private sumA = 0;
  private sumB = 0;

  constructor(windowMs: number) {
    if (!(windowMs > 0) || !Number.isFinite(windowMs)) {
      throw new RangeError(`window length must be a positive number of ms, got ${windowMs}`);
    }
    this.bucketMs = Math.max(DEFAULT_BUCKET_MS, Math.ceil(windowMs / MAX_BUCKETS));
    this.size = Math.max(1, Math.ceil(windowMs / this.bucketMs));
    this.epochs = new Array<number>(this.size).fill(-1);
    this.a = new Array<number>(this.size).fill(0);
    this.b = new Array<number>(this.size).fill(0);
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

  /** Move the newest edge of the window to `nowMs`; buckets that fall out are cleared. */
  slideTo(nowMs: number): void {
    const index = Math.floor(nowMs / this.bucketMs);
    if (this.head === null) {
      this.head = index;
      this.claim(index);
      return;
    }
    if (index <= this.head) return;
    // A jump longer than the window clears every bucket once; no need to walk the whole gap.
    const first = Math.max(this.head + 1, index - this.size + 1);
    if (index - this.head >= this.size) {
      for (let slot = 0; slot < this.size; slot++) this.clearSlot(slot);
    }
    for (let i = first; i <= index; i++) this.claim(i);
    this.head = index;
  }

  /**
   * Add to the bucket holding `timeMs`, sliding forward first if it is newer than the window.
   * Returns false (and adds nothing) when the time is already older than the window.
   */
  add(timeMs: number, a: number, b: number): boolean {
    this.slideTo(timeMs);
    const index = Math.floor(timeMs / this.bucketMs);
    const head = this.head as number;
    if (index <= head - this.size) return false;
    // A late value may land in a bucket the window has not claimed yet (before its first value).
    this.claim(index);
    const slot = this.slotOf(index);
    this.a[slot] = (this.a[slot] ?? 0) + a;
    this.b[slot] = (this.b[slot] ?? 0) + b;
    this.sumA += a;
    this.sumB += b;
    return true;
  }

  /** Start time of the oldest bucket in the window whose first sum is non-zero; null if none. */
  oldestStartWithA(): number | null {
    if (this.head === null) return null;
    for (let index = this.head - this.size + 1; index <= this.head; index++) {
      const slot = this.slotOf(index);
      if (this.epochs[slot] === index && (this.a[slot] ?? 0) !== 0) return index * this.bucketMs;
    }
    return null;
  }

  toState(): BucketWindowState {
    const buckets: [number, number, number][] = [];
    if (this.head !== null) {
      for (let index = this.head - this.size + 1; index <= this.head; index++) {
        const slot = this.slotOf(index);
        const b = this.b[slot] ?? 0;
        const a = this.a[slot] ?? 0;
        if (this.epochs[slot] === index && (a !== 0 || b !== 0)) buckets.push([index, a, b]);
      }
    }
    return {
      bucketMs: this.bucketMs,
      size: this.size,
      head: this.head,
      buckets,
      totalA: this.sumA,
      totalB: this.sumB,
    };
  }

  /** Load a state written by `toState` of a window with the same length; throws DetectorStateError. */
  loadState(detector: string, state: unknown): void {
    if (!isRecord(state)) throw new DetectorStateError(detector, "window is not an object");
    const bucketMs = readFiniteNumber(detector, state, "bucketMs");
    const size = readFiniteNumber(detector, state, "size");
    if (bucketMs !== this.bucketMs || size !== this.size) {
      throw new DetectorStateError(
        detector,
        `window shape ${size}x${bucketMs}ms does not match the configured ${this.size}x${this.bucketMs}ms`,
      );
    }
    const head = state.head;
    if (head !== null && (typeof head !== "number" || !Number.isInteger(head))) {
      throw new DetectorStateError(detector, "window head is not an integer or null");
    }
    const buckets = readArray(detector, state, "buckets");
    const totalA = readFiniteNumber(detector, state, "totalA");
    const totalB = readFiniteNumber(detector, state, "totalB");
    const entries: [number, number, number][] = [];
    for (const bucket of buckets) {
      if (
        !Array.isArray(bucket) ||
        bucket.length !== 3 ||
        !bucket.every((n) => typeof n === "number" && Number.isFinite(n)) ||
        head === null ||
        !Number.isInteger(bucket[0]) ||
        bucket[0] > head ||
        bucket[0] <= head - size
      ) {
        throw new DetectorStateError(detector, "window bucket is not [index inside the window, a, b]");
      }
      entries.push(bucket as [number, number, number]);
    }
    this.head = head;
    this.epochs.fill(-1);
    this.a.fill(0);
    this.b.fill(0);
    for (const [index, a, b] of entries) {
      const slot = this.slotOf(index);
      this.epochs[slot] = index;
      this.a[slot] = a;
      this.b[slot] = b;
    }
    this.sumA = totalA;
    this.sumB = totalB;
  }

  private slotOf(index: number): number {
    const slot = index % this.size;
    return slot < 0 ? slot + this.size : slot;
  }

  /** Give the slot of `index` to that bucket, removing whatever older bucket it held from the totals. */
  private claim(index: number): void {
    const slot = this.slotOf(index);
    if (this.epochs[slot] === index) return;
    this.clearSlot(slot);
    this.epochs[slot] = index;
  }

  private clearSlot(slot: number): void {
    this.sumA -= this.a[slot] ?? 0;
    this.sumB -= this.b[slot] ?? 0;
    this.a[slot] = 0;
    this.b[slot] = 0;
    // Running sums of fractional values drift; an empty window must read as exactly empty.
    if (Math.abs(this.sumB) < 1e-9) {
      this.sumB = 0;
      this.sumA = 0;
    }
  }
}
