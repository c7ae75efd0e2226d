/**
 * docs/configuration.md agrees with the schema: every section has its table, and each table is what
 * `npm run docs:config` generates (cells compared, so biome's padding does not matter).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CONFIG_DOC, regenerate, sections, tablePaths } from "../../../local/config-docs.js";

/** Table rows as trimmed cells; padding and the width of separator rows are formatting. */
function cells(markdown: string): string[][] {
  return markdown
    .split("\n")
    .filter((line) => line.startsWith("|") || line.startsWith("Also:") || line.startsWith("<!--"))
    .map((line) =>
      line.startsWith("|")
        ? line
            .slice(1, -1)
            .split(" | ")
            .map((cell) => cell.trim().replace(/^-+$/, "-"))
        : [line],
    );
}

describe("docs/configuration.md", () => {
  const doc = readFileSync(CONFIG_DOC, "utf8");

  it("has one table for every section of the schema, and none for a section it does not have", () => {
    const documented = tablePaths(doc).flat();
    expect([...documented].sort()).toEqual([...sections().keys()].sort());
  });

  it("shows every key with the default, range and meaning the schema has (npm run docs:config)", () => {
    expect(cells(doc)).toEqual(cells(regenerate(doc)));
  });

  it("states the defaults users rely on", () => {
    expect(doc).toMatch(/\| `smoothing_s` +\| 15 +\| 1\.\.31 days/);
    expect(doc).toMatch(
      /\| `warmup_windows` +\| 60 +\| count 2\.\.1,000,000 .*at most `max_training_windows`/,
    );
  });
});
