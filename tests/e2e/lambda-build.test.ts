/**
 * `npm run build` output: each zip is valid, holds a CommonJS index.js whose `handler` loads, and
 * stays within the size budget; the generator bundle runs as the EC2 daemon (RUN_MODE=daemon) against
 * moto_server and stops cleanly on SIGTERM after shipping what it generated.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  GetLogEventsCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUNDLE_BUDGET_BYTES, type BuiltFunction, buildFunctions } from "../../functions/tools/build.js";
import { type Moto, motoAvailable, startMoto, toolGate, useTestCredentials } from "../helpers/moto.js";

const python = toolGate("python3", spawnSync("python3", ["--version"], { stdio: "ignore" }).status === 0);
const moto = python && toolGate("moto_server", motoAvailable());

const EXTRACT = `
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    assert z.testzip() is None
    z.extractall(sys.argv[2])
    print(",".join(sorted(z.namelist())))
`;

describe.skipIf(!python)("Lambda bundles", () => {
  let built: BuiltFunction[] = [];
  const extracted = new Map<string, string>();

  beforeAll(async () => {
    built = await buildFunctions({ outDir: mkdtempSync(join(tmpdir(), "dist-")) });
    for (const fn of built) {
      const dir = mkdtempSync(join(tmpdir(), `${fn.name}-`));
      const run = spawnSync("python3", ["-c", EXTRACT, fn.zipPath, dir], { encoding: "utf8" });
      if (run.status !== 0) throw new Error(`${fn.name}.zip does not extract: ${run.stderr}`);
      expect(run.stdout.trim()).toBe("index.js,index.js.map,package.json");
      extracted.set(fn.name, dir);
    }
  }, 180_000);

  it("builds every function within the size budget", () => {
    expect(built.map((fn) => fn.name)).toEqual(["generator", "processor", "remediation", "router"]);
    for (const fn of built) expect(fn.bundleBytes).toBeLessThanOrEqual(BUNDLE_BUDGET_BYTES);
  });

  it("exposes index.handler from each extracted zip, as the Lambda runtime loads it", () => {
    for (const [name, dir] of extracted) {
      const loaded = createRequire(join(dir, "index.js"))("./index.js") as { handler?: unknown };
      expect(typeof loaded.handler, name).toBe("function");
    }
  });

  describe.skipIf(!moto)("generator bundle as the EC2 daemon", () => {
    let server: Moto;
    beforeAll(async () => {
      useTestCredentials();
      server = await startMoto();
    });
    afterAll(async () => {
      await server?.stop();
    });

    it("ships continuously and exits 0 after a final flush on SIGTERM", async () => {
      const logs = new CloudWatchLogsClient({ region: server.env.AWS_REGION, endpoint: server.endpoint });
      await logs.send(new CreateLogGroupCommand({ logGroupName: "/daemon" }));
      const dir = extracted.get("generator") ?? "";
      const child = spawn(process.execPath, [join(dir, "index.js")], {
        env: {
          ...server.env,
          PATH: process.env.PATH ?? "",
          RUN_MODE: "daemon",
          LOG_GROUP_NAME: "/daemon",
          LOG_STREAM_NAME: "host-1",
          SPEED: "4",
          SEED: "3",
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      child.stdout.on("data", (c: Buffer) => {
        output += c.toString();
      });
      child.stderr.on("data", (c: Buffer) => {
        output += c.toString();
      });
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      await sleep(3_000);
      child.kill("SIGTERM");
      expect(await exited).toBe(0);

      const stopped = output
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { message: string; generated?: number; sent?: number; unsent?: number })
        .find((l) => l.message === "generator daemon stopped");
      expect(stopped?.generated).toBeGreaterThan(0);
      expect(stopped?.sent).toBe(stopped?.generated);
      expect(stopped?.unsent).toBe(0);
      const page = await logs.send(
        new GetLogEventsCommand({
          logGroupName: "/daemon",
          logStreamName: "host-1",
          startFromHead: true,
          limit: 10_000,
        }),
      );
      expect(page.events?.length).toBe(stopped?.sent);
    });

    it("exits 2 with one clear line when LOG_GROUP_NAME is missing", () => {
      const dir = extracted.get("generator") ?? "";
      const run = spawnSync(process.execPath, [join(dir, "index.js")], {
        env: { PATH: process.env.PATH ?? "", RUN_MODE: "daemon", AWS_REGION: "us-east-1" },
        encoding: "utf8",
        timeout: 20_000,
      });
      expect(run.status).toBe(2);
      expect(run.stdout).toContain("environment variable LOG_GROUP_NAME is required");
    });
  });
});
