import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseEvalArgs, runEvaluation } from "../../../local/eval-nab.js";
import { Rng } from "../../../shared/random.js";

function stamp(i: number): string {
  return new Date(Date.UTC(2014, 0, 1) + i * 300_000).toISOString().replace("T", " ").slice(0, 19);
}

/** A tiny NAB-shaped data directory: one category, one file with a level shift in its window. */
function fixture(): { data: string; windows: string; out: string } {
  const root = mkdtempSync(join(tmpdir(), "nab-cli-"));
  const data = join(root, "data");
  mkdirSync(join(data, "cat"), { recursive: true });
  const rng = new Rng(5);
  const rows = Array.from(
    { length: 1200 },
    (_, i) => `${stamp(i)},${(i >= 1000 ? 90 : 40) + rng.normal(0, 2)}`,
  );
  writeFileSync(join(data, "cat", "series.csv"), `timestamp,value\n${rows.join("\n")}\n`);
  const windows = join(root, "windows.json");
  writeFileSync(
    windows,
    JSON.stringify({ "cat/series.csv": [[`${stamp(990)}.000000`, `${stamp(1050)}.000000`]] }),
  );
  return { data, windows, out: join(root, "out") };
}

/** The exit codes of the spawned command are checked in tests/e2e/eval-nab-cli.test.ts. */
describe("eval:nab CLI", () => {
  it.each([
    [["--bogus"], "error"],
    [["--data"], "error"],
    [["--help"], "help"],
  ])("parses %j as %s", (argv, kind) => {
    expect(kind in (parseEvalArgs(argv) as object)).toBe(true);
  });

  it("writes NAB result files and scores the three profiles", () => {
    const options = fixture();
    const lines: string[] = [];
    const { inSample: results, heldOut } = runEvaluation(options, (line) => lines.push(line));
    expect(heldOut).toBeNull();
    expect(results.map((r) => r.profile)).toEqual(["standard", "reward_low_FP_rate", "reward_low_FN_rate"]);
    // The shift sits inside the only window, so the optimised threshold catches it.
    expect(results[0]?.truePositives).toBe(1);
    expect(results[0]?.normalised).toBeGreaterThan(50);
    const written = readFileSync(join(options.out, "cat", "series.csv"), "utf8")
      .trim()
      .split("\n");
    expect(written[0]).toBe("timestamp,value,anomaly_score");
    expect(written).toHaveLength(1201);
    expect(lines.some((l) => l.startsWith("standard"))).toBe(true);
  });
});
