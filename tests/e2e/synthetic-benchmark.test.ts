import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = new URL("../..", import.meta.url).pathname;

describe("npm run eval:synthetic", () => {
  it("detects every anomaly kind in at least 90% of its series, under 1 false alarm per 1,000 clean rows", () => {
    const result = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "local/eval-synthetic.ts")], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 180_000,
    });
    expect(result.stdout).toMatch(/RESULT synthetic met=1 /);
    expect(result.status).toBe(0);
    for (const line of result.stdout.split("\n").filter((l) => / detected \d+\/\d+/.test(l))) {
      const [, hit, total] = /detected (\d+)\/(\d+)/.exec(line) ?? [];
      expect(Number(hit) / Number(total), line).toBeGreaterThanOrEqual(0.9);
    }
  }, 200_000);
});
