/**
 * Proleptic Gregorian calendar arithmetic shared by every timestamp reader (the native log parser,
 * syslog, access logs, time zones). Pure and allocation-free: these run once per line, or once per
 * date on the parser's fast path.
 */

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Days in `month` (1..12) of `year`. */
export function daysInMonth(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] ?? 31);
}

/** Days since 1970-01-01 of a date (Howard Hinnant's days_from_civil; no validation). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}

/** Milliseconds since the epoch of a civil time read as UTC (no validation). */
export function civilToUtcMs(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  millis: number,
): number {
  const days = daysFromCivil(year, month, day);
  return ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis;
}

/**
 * What is impossible about a civil time, or null when it exists. `leapSecond` admits second 60,
 * which syslog daemons write now and then; RFC 3339 timestamps from our writers never carry one.
 */
export function civilProblem(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  leapSecond: boolean,
): string | null {
  if (month < 1 || month > 12) return `month ${month} is not 1..12`;
  if (day < 1 || day > daysInMonth(year, month))
    return `day ${day} does not exist in ${year}-${String(month).padStart(2, "0")}`;
  if (hour > 23 || minute > 59 || second > (leapSecond ? 60 : 59)) return "time of day out of range";
  return null;
}
