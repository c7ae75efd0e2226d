/**
 * One shared string per distinct value of a field (service, level, event type), looked up for every
 * parsed line. Every detector keys its state by these strings, and with one string per value those
 * lookups find their key by identity. A string fresh from JSON.parse has no hash yet, so a Map
 * lookup first hashes it character by character; a small direct-mapped cache in front of the Map
 * compares the string with one candidate instead (the usual hit costs a length check and a short
 * compare), and only a miss pays for the Map.
 */

/** Cache slots: a power of two, a few times the distinct values a stream usually carries. */
const SLOTS = 64;

export class Interner<T extends string = string> {
  private readonly known = new Map<string, T>();
  private readonly slots: (T | undefined)[] = new Array<T | undefined>(SLOTS).fill(undefined);

  /**
   * `values`: the strings known from the start; `admitUpTo`: with more than zero, unknown strings are
   * added (remembered as they are) until the interner holds this many, and pass through after that.
   */
  constructor(
    values: readonly T[],
    private readonly admitUpTo = 0,
  ) {
    for (const value of values) this.known.set(value, value);
  }

  /** The shared string equal to `text`, or undefined when it is not known (and not admitted). */
  get(text: string): T | undefined {
    const length = text.length;
    const slot = (length * 7 + (length > 0 ? text.charCodeAt(length - 1) : 0)) & (SLOTS - 1);
    const cached = this.slots[slot];
    if (cached === text) return cached;
    let value = this.known.get(text);
    if (value === undefined) {
      if (this.known.size >= this.admitUpTo) return undefined;
      value = text as T;
      this.known.set(text, value);
    }
    this.slots[slot] = value;
    return value;
  }
}
