/** `npm run eval:nab` as a process: usage errors exit 2 with a message naming the command. */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = new URL("../..", import.meta.url).pathname;

describe("npm run eval:nab", () => {
  it.each([[["--nope"]], [["--data", "/definitely/not/here"]]])("exits 2 on %j", (argv) => {
    const result = spawnSync(
      process.execPath,
      ["--import", "tsx", join(ROOT, "local/eval-nab.ts"), ...argv],
      {
        cwd: ROOT,
        encoding: "utf8",
      },
    );
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toContain("eval:nab:");
  });
});
