/**
 * `npm run build:local` (what the container image runs): the bundle answers --help on plain node,
 * and serves the dashboard from dist/ with the page found next to it.
 */
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = new URL("../..", import.meta.url).pathname;
const BUNDLE = join(ROOT, "dist", "local", "cli.mjs");

describe("the local runner bundle (dist/local/cli.mjs)", () => {
  it("builds, and runs --help on plain node", () => {
    const built = spawnSync("npm", ["run", "--silent", "build:local"], { cwd: ROOT, encoding: "utf8" });
    expect(built.status, built.stderr).toBe(0);
    const help = spawnSync(process.execPath, [BUNDLE, "--help"], { cwd: ROOT, encoding: "utf8" });
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toContain("--dashboard");
    expect(help.stdout).toMatch(/^Usage: npm run local/);
  }, 60_000);

  it("serves the dashboard's health check and page from the bundle, bound where asked", async () => {
    const child = spawn(
      process.execPath,
      [
        BUNDLE,
        "--dashboard",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--duration",
        "20",
        "--speed",
        "60",
        "--quiet",
      ],
      { cwd: "/", stdio: ["ignore", "pipe", "pipe"] },
    );
    try {
      let out = "";
      child.stderr.on("data", (c: Buffer) => {
        out += c.toString();
      });
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no address printed: ${out}`)), 20_000);
        child.stdout.on("data", (c: Buffer) => {
          out += c.toString();
          const match = /dashboard: (http:\/\/[^#\s]+)#token=/.exec(out);
          if (match?.[1]) {
            clearTimeout(timer);
            resolve(match[1]);
          }
        });
      });
      expect(await (await fetch(`${url}healthz`)).json()).toEqual({ ok: true });
      expect(await (await fetch(url)).text()).toContain("cloud-observability");
      expect((await fetch(`${url}vendor/uPlot.iife.min.js`)).status).toBe(200);
    } finally {
      child.kill("SIGTERM");
    }
  }, 60_000);
});
