/**
 * The input-format flags of `npm run local` (--format, --mapping, --service, --timezone, --year,
 * --sshd-mode, --log-format, --events-out, --follow), kept apart from args.ts so the reading of
 * real logs stays in one place.
 */
import { FORMATS } from "../shared/ingest/types.js";
import { DEFAULT_INPUT_FORMAT, type InputFormatOptions } from "./ingest-input.js";

export type { InputFormatOptions } from "./ingest-input.js";

export const INPUT_OPTIONS = {
  format: { type: "string" },
  mapping: { type: "string" },
  service: { type: "string" },
  timezone: { type: "string" },
  year: { type: "string" },
  "sshd-mode": { type: "string" },
  "log-format": { type: "string" },
  "metric-field": { type: "string" },
  "events-out": { type: "string" },
  follow: { type: "boolean" },
} as const;

type Values = Partial<Record<keyof typeof INPUT_OPTIONS, string | boolean>>;

/** The input options, or one clear error message. They need --input (except none given). */
export function parseInputArgs(values: Values, hasInput: boolean): InputFormatOptions | string {
  const text = (key: keyof typeof INPUT_OPTIONS): string | null => {
    const value = values[key];
    return typeof value === "string" ? value : null;
  };
  const given = (Object.keys(INPUT_OPTIONS) as (keyof typeof INPUT_OPTIONS)[]).filter(
    (key) => values[key] !== undefined,
  );
  if (!hasInput && given.length > 0) return `--${given[0]} needs --input FILE`;
  const format = text("format") ?? "auto";
  if (!(FORMATS as readonly string[]).includes(format)) {
    return `--format must be one of ${FORMATS.join(", ")}, got "${format}"`;
  }
  let year: number | null = null;
  const yearText = text("year");
  if (yearText !== null) {
    year = Number(yearText);
    if (!/^\d{4}$/.test(yearText) || year < 1970 || year > 2200)
      return `--year must be a year like 2026, got "${yearText}"`;
  }
  if (text("mapping") !== null && !["json", "auto", "lambda"].includes(format)) {
    return `--mapping applies to --format json, lambda or auto, not ${format}`;
  }
  if (text("metric-field") !== null && format !== "metric-csv")
    return "--metric-field applies to --format metric-csv";
  if (text("log-format") !== null && format !== "nginx" && format !== "apache") {
    return "--log-format applies to --format nginx or apache";
  }
  return {
    ...DEFAULT_INPUT_FORMAT,
    format,
    mapping: text("mapping"),
    service: text("service"),
    timezone: text("timezone"),
    year,
    sshdMode: text("sshd-mode"),
    logFormat: text("log-format"),
    metricField: text("metric-field"),
    eventsOutPath: text("events-out"),
  };
}
