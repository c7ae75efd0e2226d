/**
 * The timestamp at the start of a syslog-style line, in the shapes sshd logs are found in:
 * classic BSD syslog without a year ("Jan  5 10:00:00", optionally with a weekday, fraction and
 * year), ISO 8601 (rsyslog's high-precision format, with or without a zone), RFC 5424
 * ("<38>1 2026-01-05T10:00:00Z host app pid msgid sd msg") and journal output with no timestamp.
 */
import { parseIsoTimestamp } from "../log/parse.js";
import { civilProblem, civilToUtcMs } from "../time/calendar.js";
import { inferYear, monthNumber, type TimeZone } from "./time.js";

export interface SyslogTime {
  /** Epoch ms, or null when the line starts with no timestamp (journal output). */
  timeMs: number | null;
  /** The rest of the line after the timestamp and its separating whitespace. */
  rest: string;
  /** RFC 5424 header fields, already split (host, app, procid); null for the other shapes. */
  rfc5424: { host: string; app: string; procId: string; message: string } | null;
  /** A timestamp was there but is impossible (Feb 30); the line is then refused with this reason. */
  problem: string | null;
}

export interface SyslogTimeOptions {
  timezone: TimeZone;
  year: number | null;
}

const CLASSIC =
  /^(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) )?([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?: (\d{4}))?(?=\s)\s*/;
const ISO =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?(?=\s)\s*/;
const RFC5424 =
  /^<\d{1,3}>\d{1,2} (\S+) (\S+) (\S+) (\S+) (\S+) (?:-|(?:\[(?:[^\]"]|"(?:[^"\\]|\\.)*")*\])+)(?: |$)/;

function fractionMs(text: string | undefined): number {
  if (text === undefined) return 0;
  return Number(`${text}00`.slice(0, 3));
}

/** Split a line into its timestamp and the rest; never throws. */
export function readSyslogTime(
  line: string,
  referenceMs: number | null,
  options: SyslogTimeOptions,
): SyslogTime {
  const first = line.charCodeAt(0);
  if (first === 0x3c /* < */) {
    const match = RFC5424.exec(line);
    if (match) {
      const [whole, stamp = "-", host = "-", app = "-", procId = "-"] = match;
      let timeMs: number | null = null;
      let problem: string | null = null;
      if (stamp !== "-") {
        const parsed = parseIsoTimestamp(stamp);
        if (typeof parsed === "string") problem = `RFC 5424 timestamp: ${parsed}`;
        else timeMs = parsed;
      }
      const message = line.slice(whole.length).replace(/^\uFEFF/, "");
      return { timeMs, rest: message, rfc5424: { host, app, procId, message }, problem };
    }
  }
  if (first >= 0x41 && first <= 0x5a) {
    const match = CLASSIC.exec(line);
    if (match) {
      const month = monthNumber(match[1] ?? "");
      const day = Number(match[2]);
      const hour = Number(match[3]);
      const minute = Number(match[4]);
      const second = Number(match[5]);
      const rest = line.slice(match[0].length);
      if (month === 0) return { timeMs: null, rest: line, rfc5424: null, problem: null };
      let year = match[7] !== undefined ? Number(match[7]) : options.year;
      if (year === null) {
        if (referenceMs === null) {
          return {
            timeMs: null,
            rest,
            rfc5424: null,
            problem: "no year in the timestamp and none to infer it from (pass --year)",
          };
        }
        // A day of tolerance in inferYear dwarfs any zone offset, so the reference is compared as is.
        year = inferYear(month, day, hour, minute, second, referenceMs);
      }
      const problem = civilProblem(year, month, day, hour, minute, second, true);
      if (problem !== null) return { timeMs: null, rest, rfc5424: null, problem };
      const local = civilToUtcMs(year, month, day, hour, minute, second, fractionMs(match[6]));
      return { timeMs: options.timezone.toUtc(local), rest, rfc5424: null, problem: null };
    }
  }
  if (first >= 0x30 && first <= 0x39) {
    const match = ISO.exec(line);
    if (match) {
      const year = Number(match[1]);
      const month = Number(match[2]);
      const day = Number(match[3]);
      const hour = Number(match[4]);
      const minute = Number(match[5]);
      const second = Number(match[6]);
      const rest = line.slice(match[0].length);
      const problem = civilProblem(year, month, day, hour, minute, second, true);
      if (problem !== null) return { timeMs: null, rest, rfc5424: null, problem };
      const local = civilToUtcMs(year, month, day, hour, minute, second, fractionMs(match[7]));
      const zone = match[8];
      let timeMs: number;
      if (zone === undefined) timeMs = options.timezone.toUtc(local);
      else if (zone === "Z") timeMs = local;
      else {
        const sign = zone.startsWith("-") ? -1 : 1;
        const digits = zone.slice(1).replace(":", "");
        const offsetMinutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4));
        timeMs = local - sign * offsetMinutes * 60_000;
      }
      return { timeMs, rest, rfc5424: null, problem: null };
    }
  }
  return { timeMs: null, rest: line, rfc5424: null, problem: null };
}
