/**
 * The key tables of docs/configuration.md, generated from the config schema so the docs cannot
 * drift from what is validated: every key with its default, its allowed values (ranges and the
 * rules between keys) and its meaning. The prose around the tables is written by hand; a table goes
 * between `<!-- config-table PATH... -->` and `<!-- /config-table -->`.
 *
 * `npm run docs:config` rewrites the tables (then formats the file with biome);
 * tests/unit/config/docs.test.ts fails when the file and the schema disagree.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_CONFIG } from "../shared/config/defaults.js";
import { MAX_DURATION_S, type Range, REQUIRED } from "../shared/config/kit.js";
import { CONFIG_SCHEMA } from "../shared/config/schema.js";

export const CONFIG_DOC = join(dirname(fileURLToPath(import.meta.url)), "..", "docs", "configuration.md");

/** A schema or action node as valibot builds them; only the fields read here. */
interface Node {
  type: string;
  kind?: string;
  pipe?: Node[];
  wrapped?: Node;
  default?: unknown;
  item?: Node;
  options?: readonly (string | Node)[];
  entries?: Record<string, Node>;
  description?: string;
  metadata?: { range?: Range; rules?: { at?: string; doc: string }[]; allowed?: string };
}

/** The base schema and every action of a (possibly nested) pipe, optional unwrapped. */
function flatten(node: Node): { base: Node; items: Node[]; fallback: unknown } {
  let fallback: unknown;
  let current = node;
  if (current.type === "optional") {
    fallback = current.default;
    current = current.wrapped as Node;
  }
  const items: Node[] = [];
  const visit = (n: Node): Node => {
    if (n.pipe === undefined) return n;
    const [first, ...rest] = n.pipe;
    const base = visit(first as Node);
    items.push(...rest);
    return base;
  };
  const base = visit(current);
  return { base, items, fallback };
}

export interface SectionDoc {
  path: string;
  keys: KeyDoc[];
  /** Rules between keys that belong to no single key. */
  rules: string[];
}

export interface KeyDoc {
  key: string;
  default: string;
  allowed: string;
  meaning: string;
}

function entriesOf(node: Node): Record<string, Node> | null {
  const { items } = flatten(node);
  return items.find((item) => item.type === "loose_object")?.entries ?? null;
}

function rulesOf(node: Node): { at?: string; doc: string }[] {
  return flatten(node).items.flatMap((item) =>
    item.type === "metadata" ? (item.metadata?.rules ?? []) : [],
  );
}

/** Every documented section: the mappings of the schema, list items written as `name[]`. */
export function sections(): Map<string, Node> {
  const found = new Map<string, Node>();
  const walk = (node: Node, path: string): void => {
    const entries = entriesOf(node);
    if (entries !== null) {
      // A mapping of mappings (the root, `detectors`) has no keys of its own to tabulate.
      const leaves = Object.values(entries).some((child) => entriesOf(child) === null);
      if (path !== "" && leaves) found.set(path, node);
      for (const [key, child] of Object.entries(entries)) walk(child, path === "" ? key : `${path}.${key}`);
      return;
    }
    const { base } = flatten(node);
    if (base.type === "array" && base.item && entriesOf(base.item) !== null) walk(base.item, `${path}[]`);
  };
  walk(CONFIG_SCHEMA as unknown as Node, "");
  return found;
}

export interface Leaf {
  /** Dotted path, e.g. detectors.cpu.smoothing_s. */
  path: string;
  range?: Range;
  options?: readonly string[];
  boolean?: true;
}

/** The scalar keys outside lists, with what the schema allows of each. */
export function leaves(): Leaf[] {
  const out: Leaf[] = [];
  for (const [path, node] of sections()) {
    if (path.includes("[]")) continue;
    for (const [key, child] of Object.entries(entriesOf(node) ?? {})) {
      const { base, items } = flatten(child);
      const range = items.find((item) => item.metadata?.range)?.metadata?.range;
      const at = `${path}.${key}`;
      if (range) out.push({ path: at, range });
      else if (base.type === "boolean") out.push({ path: at, boolean: true });
      else if (base.type === "picklist") out.push({ path: at, options: base.options as string[] });
    }
  }
  return out;
}

function formatNumber(n: number): string {
  if (n === MAX_DURATION_S) return "31 days";
  return Number.isInteger(n) && Math.abs(n) >= 10_000 ? n.toLocaleString("en-US") : String(n);
}

function rangeAllowed(range: Range): string {
  const prefix = range.integer ? "count " : "";
  const min = formatNumber(range.min);
  const max = formatNumber(range.max);
  if (range.minExclusive && range.maxExclusive) return `${prefix}strictly between ${min} and ${max}`;
  if (range.minExclusive) return `${prefix}> ${min} and <= ${max}`;
  if (range.maxExclusive) return `${prefix}>= ${min} and < ${max}`;
  return `${prefix}${min}..${max}`;
}

function allowedOf(node: Node): string {
  const { base, items } = flatten(node);
  const stated = items.find((item) => item.metadata?.allowed)?.metadata?.allowed;
  if (stated !== undefined) return stated;
  const range = items.find((item) => item.metadata?.range)?.metadata?.range;
  if (range) return rangeAllowed(range) + (range.why ? ` (${range.why})` : "");
  switch (base.type) {
    case "boolean":
      return "true, false";
    case "picklist":
      return (base.options as string[]).join(", ");
    case "nullable":
      return `${allowedOf(base.wrapped as Node)}, null`;
    case "string":
      return "string";
    case "union":
      return "preset name or mapping";
    case "array": {
      const item = base.item as Node;
      if (entriesOf(item) !== null) return "list (see below)";
      return `list of ${allowedOf(item)}`;
    }
    default:
      return entriesOf(node) !== null ? "mapping (see below)" : base.type;
  }
}

function valueText(value: unknown): string {
  if (value === REQUIRED) return "(required)";
  if (value === undefined) return "";
  if (Array.isArray(value)) {
    if (value.length === 0) return "`[]`";
    if (value.every((item) => typeof item === "string"))
      return `\`${JSON.stringify(value).replaceAll(",", ", ")}\``;
    return "see below";
  }
  if (typeof value === "object" && value !== null) return "see below";
  if (typeof value === "number") return formatNumber(value);
  return String(value);
}

function defaultAt(path: string): unknown {
  let value: unknown = DEFAULT_CONFIG;
  for (const key of path.split(".")) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

export function sectionDoc(path: string, node: Node): SectionDoc {
  const entries = entriesOf(node) ?? {};
  const rules = rulesOf(node);
  const keys = Object.entries(entries).map(([key, child]) => {
    const { fallback, items } = flatten(child);
    // Inside a list item the schema's own default is the truth; elsewhere the merged defaults are.
    const value = path.includes("[]") ? fallback : defaultAt(`${path}.${key}`);
    const description =
      items.find((item) => item.type === "description" && item.description)?.description ?? "";
    const keyRules = rules.filter((rule) => rule.at === key).map((rule) => rule.doc);
    return {
      key,
      default: valueText(typeof value === "function" ? (value as () => unknown)() : value),
      allowed: [allowedOf(child), ...keyRules].join(", "),
      meaning: description,
    };
  });
  return { path, keys, rules: rules.filter((rule) => rule.at === undefined).map((rule) => rule.doc) };
}

/** The markdown of one table; several paths with the same keys share one (`cpu / memory` defaults). */
export function renderTable(paths: readonly string[]): string {
  const all = sections();
  const docs = paths.map((path) => {
    const node = all.get(path);
    if (node === undefined) throw new Error(`config-table: no section ${path} in the schema`);
    return sectionDoc(path, node);
  });
  const [first] = docs as [SectionDoc];
  const lines = [
    `| key | default${docs.length > 1 ? ` (${paths.map((p) => p.split(".").at(-1)).join(" / ")})` : ""} | allowed | meaning |`,
    "| --- | --- | --- | --- |",
  ];
  first.keys.forEach((key, index) => {
    const defaults = [...new Set(docs.map((doc) => doc.keys[index]?.default ?? ""))].join(" / ");
    lines.push(`| \`${key.key}\` | ${defaults} | ${key.allowed} | ${key.meaning} |`);
  });
  if (first.rules.length > 0) lines.push("", `Also: ${first.rules.join("; ")}.`);
  return lines.join("\n");
}

const BLOCK = /(<!-- config-table ([^>]*?) -->\n)([\s\S]*?)(<!-- \/config-table -->)/g;

/** The paths each table of the document covers, in order. */
export function tablePaths(markdown: string): string[][] {
  return [...markdown.matchAll(BLOCK)].map((match) => (match[2] ?? "").trim().split(/\s+/));
}

export function regenerate(markdown: string): string {
  return markdown.replace(
    BLOCK,
    (_all, open: string, paths: string, _body, close: string) =>
      `${open}\n${renderTable(paths.trim().split(/\s+/))}\n\n${close}`,
  );
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(CONFIG_DOC, regenerate(readFileSync(CONFIG_DOC, "utf8")));
  // Tables are written unpadded; biome pads them as `npm run lint` expects.
  const format = spawnSync("npx", ["biome", "format", "--write", CONFIG_DOC], { stdio: "inherit" });
  process.exitCode = format.status ?? 1;
}
