/**
 * Timestamps of text logs: syslog's year-less "Jan  5 10:00:00", zone-less local times, and time
 * zones given as an offset or an IANA name. Pure: the year of a year-less line is inferred from a
 * reference time the caller passes (when the line was received), never from a clock.
 */
import { civilToUtcMs } from "../time/calendar.js";

const MONTHS: ReadonlyMap<string, number> = new Map(
  ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"].map((m, i) => [
    m,
    i + 1,
  ]),
);

export function monthNumber(name: string): number {
  return MONTHS.get(name.toLowerCase()) ?? 0;
}

/**
 * A time zone for zone-less timestamps. Fixed offsets are exact; an IANA zone is resolved per
 * instant with Intl (daylight saving included), which is deterministic and reads no clock.
 */
export class TimeZone {
  private readonly fixedOffsetMs: number | null;
  private readonly format: Intl.DateTimeFormat | null;
  /** Offsets by hour of local time: a log has few distinct hours, Intl is slow. */
  private readonly cache = new Map<number, number>();

  private constructor(
    readonly name: string,
    fixedOffsetMs: number | null,
    format: Intl.DateTimeFormat | null,
  ) {
    this.fixedOffsetMs = fixedOffsetMs;
    this.format = format;
  }

  static readonly UTC = new TimeZone("UTC", 0, null);

  /** Parse "UTC", "Z", "+02:00", "-0530" or an IANA name; a description of the problem otherwise. */
  static parse(text: string): TimeZone | string {
    const trimmed = text.trim();
    if (/^(?:utc|gmt|z)$/i.test(trimmed)) return TimeZone.UTC;
    const offset = /^(?:utc|gmt)?([+-])(\d{1,2}):?(\d{2})?$/i.exec(trimmed);
    if (offset) {
      const hours = Number(offset[2]);
      const minutes = Number(offset[3] ?? "0");
      if (hours > 23 || minutes > 59) return `time zone offset out of range: ${JSON.stringify(text)}`;
      const sign = offset[1] === "-" ? -1 : 1;
      return new TimeZone(trimmed, sign * (hours * 60 + minutes) * 60_000, null);
    }
    try {
      const format = new Intl.DateTimeFormat("en-US", {
        timeZone: trimmed,
        hourCycle: "h23",
        year: "numeric",
        month: "numeric",
        day: "numeric",
        hour: "numeric",
        minute: "numeric",
        second: "numeric",
      });
      return new TimeZone(trimmed, null, format);
    } catch {
      return `unknown time zone ${JSON.stringify(text)} (use UTC, an offset like +02:00, or a name like Europe/Paris)`;
    }
  }

  /** The instant of a local civil time (given as if it were UTC) in this zone. */
  toUtc(localAsUtcMs: number): number {
    if (this.fixedOffsetMs !== null) return localAsUtcMs - this.fixedOffsetMs;
    const hourKey = Math.floor(localAsUtcMs / 3_600_000);
    let offset = this.cache.get(hourKey);
    if (offset === undefined) {
      // Guess with the offset at the local time read as UTC, then correct once: right except in
      // the hour a clock jumps, where any answer is a guess anyway.
      const first = this.offsetAt(localAsUtcMs);
      offset = this.offsetAt(localAsUtcMs - first);
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(hourKey, offset);
    }
    return localAsUtcMs - offset;
  }

  private offsetAt(utcMs: number): number {
    const format = this.format as Intl.DateTimeFormat;
    const parts: Record<string, number> = {};
    for (const part of format.formatToParts(new Date(utcMs))) {
      if (part.type !== "literal") parts[part.type] = Number(part.value);
    }
    const local = civilToUtcMs(
      parts.year ?? 1970,
      parts.month ?? 1,
      parts.day ?? 1,
      parts.hour ?? 0,
      parts.minute ?? 0,
      parts.second ?? 0,
      0,
    );
    return local - (utcMs - (((utcMs % 1000) + 1000) % 1000));
  }
}

/** A year-less date may lie this far after the reference (clock skew between hosts). */
const FUTURE_TOLERANCE_MS = 24 * 3600 * 1000;

/**
 * The year of a year-less syslog date: the reference's year, or the one before when that would put
 * the line more than a day after the reference (a December line read in January). Stateless, so a
 * replay or a restored processor infers the same years.
 */
export function inferYear(
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  referenceMs: number,
): number {
  const referenceYear = new Date(referenceMs).getUTCFullYear();
  const candidate = civilToUtcMs(referenceYear, month, day, hour, minute, second, 0);
  return candidate > referenceMs + FUTURE_TOLERANCE_MS ? referenceYear - 1 : referenceYear;
}

let lastIsoMs = Number.NaN;
let lastIso = "";

/** ISO 8601 text of an instant, for the event's `timestamp`; consecutive lines often share one. */
export function isoOf(ms: number): string {
  if (ms !== lastIsoMs) {
    lastIso = new Date(ms).toISOString();
    lastIsoMs = ms;
  }
  return lastIso;
}
