/**
 * Config loading: a JSON or YAML document that overrides any subset of the defaults. Every problem
 * in the document is reported at once, each naming its key path, so one edit-run cycle fixes them all.
 * The schema (schema.ts) decides what is valid and says what is wrong; this file reads the text and
 * turns the schema's issues into ConfigErrors.
 */
import * as v from "valibot";
import { parseDocument } from "yaml";
import { type ConfigProblem, describe, isPlainObject, splitMessage } from "./kit.js";
import { CONFIG_SCHEMA } from "./schema.js";
import type { PipelineConfig } from "./types.js";

export { CONFIG_PROBLEMS, type ConfigProblem } from "./kit.js";

export interface ConfigError {
  /** Dotted key path, with [i] for list items; "" for the document itself. */
  path: string;
  problem: ConfigProblem;
  /** Full sentence for a human, starting with the path. */
  message: string;
}

export type ConfigResult = { ok: true; config: PipelineConfig } | { ok: false; errors: ConfigError[] };

export type ConfigFormat = "json" | "yaml" | "auto";

/**
 * Parse a config document. `auto` reads JSON when the text starts with "{", YAML otherwise. An
 * empty document means "all defaults".
 */
export function parseConfig(text: string, format: ConfigFormat = "auto"): ConfigResult {
  const trimmed = text.trim();
  const useJson = format === "json" || (format === "auto" && trimmed.startsWith("{"));
  let value: unknown;
  if (useJson) {
    try {
      value = JSON.parse(text);
    } catch (error) {
      return failure([
        { path: "", problem: "syntax", message: `JSON syntax error: ${describeJsonError(error, text)}` },
      ]);
    }
  } else {
    const document = parseDocument(text);
    if (document.errors.length > 0) {
      return failure(
        document.errors.map((error) => ({
          path: "",
          problem: "syntax" as const,
          // The yaml message continues with a source excerpt; its first line names line and column.
          message: `YAML syntax error: ${(error.message.split("\n")[0] ?? error.message).replace(/:$/, "")}`,
        })),
      );
    }
    try {
      value = document.toJS();
    } catch (error) {
      // toJS throws on alias bombs ("Excessive alias count"), which a config file has no need for.
      const detail = error instanceof Error ? error.message : String(error);
      return failure([{ path: "", problem: "syntax", message: `YAML error: ${detail}` }]);
    }
  }
  if (value === null || value === undefined) value = {};
  return validateConfig(value);
}

/** Validate an already decoded document and fill in the defaults. Never throws. */
export function validateConfig(value: unknown): ConfigResult {
  if (!isPlainObject(value)) {
    return failure([
      {
        path: "",
        problem: "not_an_object",
        message: `config: must be a mapping of settings, got ${describe(value)}`,
      },
    ]);
  }
  const result = v.safeParse(CONFIG_SCHEMA, value);
  if (result.success) return { ok: true, config: result.output };
  return failure(toConfigErrors(result.issues));
}

function failure(errors: ConfigError[]): ConfigResult {
  return { ok: false, errors };
}

/** `detectors.cpu.threshold_pct`, `alerting.silences[0].reason`. */
function formatPath(path: readonly v.IssuePathItem[] | undefined): string {
  let text = "";
  for (const item of path ?? []) {
    text +=
      typeof item.key === "number"
        ? `[${item.key}]`
        : text === ""
          ? String(item.key)
          : `.${String(item.key)}`;
  }
  return text;
}

function toConfigErrors(issues: readonly v.BaseIssue<unknown>[]): ConfigError[] {
  const errors: ConfigError[] = [];
  const seen = new Set<string>();
  for (const issue of issues) {
    const path = formatPath(issue.path);
    const { problem, text } = splitMessage(issue.message);
    const message = `${path || "config"}: ${text}`;
    // One value can break two checks with the same sentence (a list item and its list); say it once.
    if (seen.has(message)) continue;
    seen.add(message);
    errors.push({
      path,
      problem: problem ?? (issue.kind === "schema" ? "wrong_type" : "out_of_range"),
      message,
    });
  }
  return errors;
}

/** V8 reports a character offset; people look for line and column. */
function describeJsonError(error: unknown, text: string): string {
  const message = error instanceof Error ? error.message : String(error);
  const position = /at position (\d+)/.exec(message)?.[1];
  if (position === undefined) return message;
  const before = text.slice(0, Number(position));
  const line = before.split("\n").length;
  const column = Number(position) - before.lastIndexOf("\n");
  return `${message.replace(/ in JSON at position \d+.*$/, "")} at line ${line}, column ${column}`;
}
