#!/usr/bin/env node
/**
 * `npm run build:local`: bundles the local runner (local/cli.ts) into dist/local/cli.mjs for plain
 * node, as the container image runs it. This repository's code is bundled; packages stay imports,
 * resolved from node_modules at run time (`npm ci --omit=dev` installs them). The dashboard's page
 * is read at run time from local/dashboard/static, found by walking up from the bundle: ship that
 * folder next to dist/ (the Dockerfile does).
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outfile = join(ROOT, "dist", "local", "cli.mjs");

await build({
  entryPoints: [join(ROOT, "local", "cli.ts")],
  absWorkingDir: ROOT,
  outfile,
  bundle: true,
  packages: "external",
  platform: "node",
  target: "node20",
  format: "esm",
  sourcemap: "linked",
  logLevel: "warning",
});
process.stdout.write(`built ${outfile}\n`);
