/**
 * Building blocks of the config schema (schema.ts): valibot schemas whose error messages are the
 * ones users read ("must be a number in 0..100, got 150", "unknown key (did you mean ...?)"), each
 * carrying its problem code, and whose ranges and rules the docs generator reads back.
 */
import * as v from "valibot";

export const CONFIG_PROBLEMS = [
  "syntax",
  "not_an_object",
  "unknown_key",
  "wrong_type",
  "out_of_range",
  "unknown_enum",
  "invalid_date",
  "cross_field",
  "invalid_matcher",
] as const;
export type ConfigProblem = (typeof CONFIG_PROBLEMS)[number];

/**
 * valibot issues carry a message string only, so the problem code travels in front of the text,
 * split off again by `splitMessage` (load.ts) before anyone sees it.
 */
const TAG = "\u0000";

export function say(problem: ConfigProblem, text: string): string {
  return `${problem}${TAG}${text}`;
}

export function splitMessage(message: string): { problem: ConfigProblem | null; text: string } {
  const at = message.indexOf(TAG);
  if (at < 0) return { problem: null, text: message };
  return { problem: message.slice(0, at) as ConfigProblem, text: message.slice(at + 1) };
}

/** Durations above a month are almost always milliseconds written where seconds were meant. */
export const MAX_DURATION_S = 31 * 24 * 3600;

/** A key with no default: leaving it out is reported like a wrong value ("got nothing"). */
export const REQUIRED: unique symbol = Symbol("required");

export function describe(value: unknown): string {
  if (value === undefined || value === REQUIRED) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string")
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value);
  return String(value);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export interface Range {
  min: number;
  max: number;
  minExclusive?: boolean;
  maxExclusive?: boolean;
  integer?: boolean;
  /** Why the bound is where it is, when that is not obvious; shown in the message. */
  why?: string;
}

export function rangeText(range: Range): string {
  const what = range.integer ? "an integer" : "a number";
  const { min, max } = range;
  if (range.minExclusive && range.maxExclusive) return `${what} strictly between ${min} and ${max}`;
  if (range.minExclusive) return `${what} > ${min} and <= ${max}`;
  if (range.maxExclusive) return `${what} >= ${min} and < ${max}`;
  return `${what} in ${min}..${max}`;
}

function inRange(range: Range, n: number): boolean {
  if (!Number.isFinite(n) || (range.integer && !Number.isInteger(n))) return false;
  const aboveMin = range.minExclusive ? n > range.min : n >= range.min;
  const belowMax = range.maxExclusive ? n < range.max : n <= range.max;
  return aboveMin && belowMax;
}

/** A number within `range`; `doc` says what it means (docs/configuration.md). */
export function numberIn(range: Range, doc: string) {
  const expected = `must be ${rangeText(range)}${range.why ? ` (${range.why})` : ""}`;
  return v.pipe(
    v.number((issue) => say("wrong_type", `${expected}, got ${describe(issue.input)}`)),
    v.check(
      (n) => inRange(range, n),
      (issue) =>
        say(
          Number.isFinite(issue.input) ? "out_of_range" : "wrong_type",
          `${expected}, got ${describe(issue.input)}`,
        ),
    ),
    v.metadata({ range }),
    v.description(doc),
  );
}

export function flag(doc: string) {
  return v.pipe(
    v.boolean((issue) => say("wrong_type", `must be true or false, got ${describe(issue.input)}`)),
    v.description(doc),
  );
}

export function oneOf<const T extends readonly string[]>(values: T, doc: string, extra = "") {
  return v.pipe(
    v.picklist(values, (issue) =>
      say(
        typeof issue.input === "string" ? "unknown_enum" : "wrong_type",
        `must be one of ${values.join(", ")}${extra}, got ${describe(issue.input)}`,
      ),
    ),
    v.description(doc),
  );
}

/** What the docs say a key allows, where the schema's type says too little ("list of strings"). */
export function allowed<T>(text: string) {
  return v.metadata<T, { allowed: string }>({ allowed: text });
}

/** A non-empty string; `what` completes "must be ..." in the message. */
export function text(doc: string, what = "a non-empty string") {
  return v.pipe(
    v.string((issue) => say("wrong_type", `must be ${what}, got ${describe(issue.input)}`)),
    v.check(
      (s) => s.trim() !== "",
      (issue) => say("wrong_type", `must be ${what}, got ${describe(issue.input)}`),
    ),
    v.description(doc),
  );
}

export function strings(doc: string) {
  const message = (issue: { input: unknown }) =>
    say("wrong_type", `must be a list of strings, got ${describe(issue.input)}`);
  return v.pipe(v.array(v.string(message), message), v.description(doc));
}

/** A key the user must give: a REQUIRED default makes a missing key fail the inner schema. */
export function required<const S extends v.GenericSchema>(schema: S) {
  return v.optional(schema, REQUIRED as never);
}

/** A rule between keys of one mapping, checked once all its keys are valid on their own. */
export interface Rule<T> {
  /** The keys the rule reads; it is skipped while any of them has its own error. */
  keys: readonly (keyof T & string)[];
  /** The key the error is reported on; absent: the mapping itself. */
  at?: keyof T & string;
  holds: (value: T) => boolean;
  message: (value: T) => string;
  /** Default cross_field. */
  problem?: ConfigProblem;
  /** The rule as docs/configuration.md states it. */
  doc: string;
}

export interface SectionOptions<T> {
  rules?: readonly Rule<T>[];
  /** The message for an unknown key; default: the nearest known key, or the list of them. */
  unknownKey?: (key: string, known: readonly string[]) => string;
  /** "must be a mapping ..." completion. */
  expected?: string;
  /** What the mapping is, for the docs. */
  doc?: string;
}

/** Keys valibot leaves out of an object (prototype pollution), so no unknown-key check sees them. */
const UNSAFE_KEYS = ["__proto__", "prototype", "constructor"];

type Out<E extends v.ObjectEntries> = v.InferOutput<v.ObjectSchema<E, undefined>>;

function pathItem(input: Record<string, unknown>, key: string): v.IssuePathItem {
  return { type: "object", origin: "value", input, key, value: input[key] };
}

function typedAt(issues: readonly v.BaseIssue<unknown>[] | undefined, keys: readonly string[]): boolean {
  if (issues === undefined) return true;
  return !issues.some((issue) => {
    const first = issue.path?.[0];
    return first === undefined || keys.includes(String(first.key));
  });
}

export function unknownKeyText(
  key: string,
  known: readonly string[],
  what = "key",
  list = "known keys",
): string {
  const suggestion = closest(key, known);
  return `unknown ${what} (${suggestion ? `did you mean "${suggestion}"?` : `${list}: ${known.join(", ")}`})`;
}

/**
 * A mapping of known keys, each with its own schema (and default). Unknown keys are errors with a
 * suggestion; `rules` between keys run even when other keys have errors, so one pass reports all.
 */
export function section<const E extends v.ObjectEntries>(entries: E, options: SectionOptions<Out<E>> = {}) {
  const known = Object.keys(entries);
  const rules = options.rules ?? [];
  const expected = options.expected ?? "a mapping";
  return v.pipe(
    // looseObject takes a list for a mapping; a list here is a mistake worth naming. It also skips
    // keys like __proto__ without a word, so those are refused here.
    v.custom<Record<string, unknown>>(
      (input) => isPlainObject(input) && !UNSAFE_KEYS.some((key) => Object.hasOwn(input, key)),
      (issue) => {
        const input = issue.input;
        const unsafe = isPlainObject(input) && UNSAFE_KEYS.find((key) => Object.hasOwn(input, key));
        return unsafe
          ? say("unknown_key", `unknown key "${unsafe}" (known keys: ${known.join(", ")})`)
          : say("wrong_type", `must be ${expected}, got ${describe(issue.input)}`);
      },
    ),
    v.looseObject(entries),
    v.rawCheck(({ dataset, addIssue }) => {
      const value = dataset.value as Record<string, unknown>;
      for (const key of Object.keys(value)) {
        if (known.includes(key)) continue;
        const message = options.unknownKey?.(key, known) ?? unknownKeyText(key, known);
        addIssue({ message: say("unknown_key", message), path: [pathItem(value, key)] });
      }
    }),
    v.rawCheck(({ dataset, addIssue }) => {
      const value = dataset.value as Record<string, unknown>;
      for (const rule of rules) {
        if (!typedAt(dataset.issues, rule.keys)) continue;
        // Every key the rule reads is valid here, so the mapping has the shape the rule expects.
        const typed = value as Out<E>;
        if (rule.holds(typed)) continue;
        addIssue({
          message: say(rule.problem ?? "cross_field", rule.message(typed)),
          ...(rule.at === undefined ? {} : { path: [pathItem(value, rule.at)] }),
        });
      }
    }),
    v.metadata({ rules: rules.map((rule) => ({ at: rule.at, doc: rule.doc })) }),
    v.description(options.doc ?? ""),
    v.transform((value) => {
      const picked: Record<string, unknown> = {};
      for (const key of known) if (Object.hasOwn(value, key)) picked[key] = value[key];
      return picked as Out<E>;
    }),
  );
}

/** The known key nearest to a misspelt one, if it is near enough to be a plausible typo. */
export function closest(key: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(key.toLowerCase(), candidate);
    if (distance < bestDistance) {
      bestDistance = distance;
      best = candidate;
    }
  }
  return best !== null && bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : null;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
