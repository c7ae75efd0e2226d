/**
 * local/launch.mjs: `npm run local` starts from a cached bundle, and a changed source is never served
 * stale.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = new URL("../..", import.meta.url).pathname;
const WORK = join(ROOT, "node_modules", ".cache", `launch-test-${process.pid}`);
const ENTRY = relative(ROOT, join(WORK, "entry.ts"));
const CACHE = join(ROOT, "node_modules", ".cache", "cloud-observability");

function launch(...args: string[]) {
  return spawnSync(process.execPath, [join(ROOT, "local/launch.mjs"), ENTRY, ...args], {
    cwd: ROOT,
    encoding: "utf8",
  });
}

function writeMessage(text: string, mtime: Date): void {
  const file = join(WORK, "message.ts");
  writeFileSync(file, `export const message: string = ${JSON.stringify(text)};\n`);
  utimesSync(file, mtime, mtime);
}

afterAll(() => rmSync(WORK, { recursive: true, force: true }));

describe("local/launch.mjs", () => {
  it("runs a TypeScript entry with its arguments, reuses the bundle, and rebuilds when a source changes", () => {
    mkdirSync(WORK, { recursive: true });
    writeFileSync(
      join(WORK, "entry.ts"),
      [
        'import { message } from "./message.js";',
        'process.stdout.write([message, process.argv.slice(2).join(",")].join(" "));',
        "",
      ].join("\n"),
    );
    writeMessage("first", new Date("2026-01-01T00:00:00Z"));

    const first = launch("a", "b");
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toBe("first a,b");

    const bundle = join(CACHE, `${ENTRY.replaceAll(/[^A-Za-z0-9]+/g, "-")}.mjs`);
    const builtAt = statSync(bundle).mtimeMs;
    const again = launch("c");
    expect(again.stdout).toBe("first c");
    expect(statSync(bundle).mtimeMs, "an unchanged tree reuses the bundle").toBe(builtAt);

    writeMessage("second", new Date("2026-01-02T00:00:00Z"));
    const changed = launch();
    expect(changed.stdout).toBe("second ");
    expect(readFileSync(bundle, "utf8")).toContain('"second"');
  });

  it("refuses an entry that is not a TypeScript file", () => {
    const run = spawnSync(process.execPath, [join(ROOT, "local/launch.mjs"), "README.md"], {
      encoding: "utf8",
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("usage:");
  });
});
