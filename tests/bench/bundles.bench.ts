/**
 * Lambda bundle sizes and cold import time: each bundle is built (as `npm run build` does) and
 * `require`d in a fresh Node process, which is what a Lambda cold start pays before the handler runs
 * (the runtime's own start-up comes on top).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUNDLE_BUDGET_BYTES, buildFunctions } from "../../functions/tools/build.js";
import { machineLine, writeBenchSection } from "./report.js";

const SAMPLES = 7;

/** One fresh process: time from before `require` to after it, measured inside the process. */
function coldImportMs(bundlePath: string): number {
  const script = `const t=process.hrtime.bigint();require(${JSON.stringify(bundlePath)});process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))`;
  const run = spawnSync(process.execPath, ["-e", script], {
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "", AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  });
  if (run.status !== 0) throw new Error(`importing ${bundlePath} failed: ${run.stderr}`);
  return Number(run.stdout);
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

export async function run(): Promise<void> {
  const built = await buildFunctions({ outDir: mkdtempSync(join(tmpdir(), "bench-dist-")) });
  const rows: string[] = [];
  for (const fn of built) {
    coldImportMs(fn.bundlePath); // warm the file system cache, not the process
    const times = Array.from({ length: SAMPLES }, () => coldImportMs(fn.bundlePath)).sort((a, b) => a - b);
    const row = {
      name: fn.name,
      bundleKiB: (fn.bundleBytes / 1024).toFixed(1),
      zipKiB: (fn.zipBytes / 1024).toFixed(1),
      budget: fn.bundleBytes <= BUNDLE_BUDGET_BYTES ? "yes" : "NO",
      median: quantile(times, 0.5).toFixed(0),
      max: (times.at(-1) ?? Number.NaN).toFixed(0),
    };
    console.log(
      `${row.name.padEnd(12)} bundle ${row.bundleKiB} KiB, zip ${row.zipKiB} KiB, cold import median ${row.median} ms (max ${row.max} ms)`,
    );
    rows.push(
      `| ${row.name} | ${row.bundleKiB} | ${row.zipKiB} | ${row.budget} | ${row.median} | ${row.max} |`,
    );
  }
  writeBenchSection(
    "bundles",
    [
      "## Lambda bundles",
      "",
      `Machine: ${machineLine()}. Command: \`npm run bench -- bundles\`. Minified CommonJS (esbuild, node20),`,
      `AWS SDK v3 clients bundled; budget ${BUNDLE_BUDGET_BYTES / 1024} KiB per bundle. Cold import: \`require\` of`,
      `index.js in a fresh Node process, ${SAMPLES} samples (the Lambda runtime's own start-up is extra).`,
      "",
      "| function | bundle KiB | zip KiB | within budget | cold import median ms | max ms |",
      "|---|---:|---:|---|---:|---:|",
      ...rows,
    ].join("\n"),
  );
}
