/**
 * `npm run build`: one esbuild bundle per Lambda function, zipped to dist/<name>.zip for Terraform
 * (which has no archive provider here). CommonJS, so the zip holds `index.js` and the handler is
 * `index.handler`. The AWS SDK clients are bundled: the runtime's own SDK version is not ours to pin.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";
import { createZip } from "./zip.js";

export const FUNCTION_NAMES = ["generator", "processor", "remediation", "router"] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];

/**
 * The size goal per function (minified bundle). Exceeding it fails the build. The processor carries
 * the most: SNS, DynamoDB and SQS clients, the history table, the format adapters and the state
 * layout (502 KiB measured). The Slack URL is read with one signed request
 * (functions/aws/ssm-parameter.ts), not the SSM client, which alone would add about 75 KiB.
 */
export const BUNDLE_BUDGET_BYTES = 520 * 1024;

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/**
 * The config loader imports `yaml` for local files; the Lambdas read JSON only. Declaring the
 * package free of side effects lets esbuild drop it (about 110 KB) when nothing calls it.
 */
const yamlWithoutSideEffects: Plugin = {
  name: "yaml-without-side-effects",
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^yaml$/ }, async (args) => {
      if (args.pluginData === "inner") return undefined;
      const resolved = await pluginBuild.resolve(args.path, {
        kind: args.kind,
        resolveDir: args.resolveDir,
        importer: args.importer,
        pluginData: "inner",
      });
      return { ...resolved, sideEffects: false };
    });
  },
};

export interface BuiltFunction {
  name: FunctionName;
  /** dist/<name>/index.js */
  bundlePath: string;
  bundleBytes: number;
  sourceMapBytes: number;
  zipPath: string;
  zipBytes: number;
}

export interface BuildOptions {
  outDir?: string;
  functions?: readonly FunctionName[];
}

export async function buildFunctions(options: BuildOptions = {}): Promise<BuiltFunction[]> {
  const outDir = options.outDir ?? join(ROOT, "dist");
  const built: BuiltFunction[] = [];
  for (const name of options.functions ?? FUNCTION_NAMES) {
    const functionDir = join(outDir, name);
    rmSync(functionDir, { recursive: true, force: true });
    mkdirSync(functionDir, { recursive: true });
    const bundlePath = join(functionDir, "index.js");
    await build({
      entryPoints: [join(ROOT, "functions", name, "main.ts")],
      outfile: bundlePath,
      bundle: true,
      platform: "node",
      target: "node20",
      format: "cjs",
      minify: true,
      sourcemap: "external",
      // Keep the sources out of the map: stack traces resolve without shipping the code twice.
      sourcesContent: false,
      legalComments: "none",
      // The SDK's ES module builds tree-shake far better than its CommonJS ones (about 200 KB less).
      mainFields: ["module", "main"],
      // A slim credential chain instead of the SDK's full one (see functions/aws/credentials.ts).
      alias: { "@aws-sdk/credential-provider-node": join(ROOT, "functions", "aws", "credentials.ts") },
      plugins: [yamlWithoutSideEffects],
      logLevel: "warning",
    });
    // The repository's package.json says "type": "module"; this one keeps index.js CommonJS
    // wherever the bundle is run from (tests, the EC2 host), as it is in Lambda.
    const packageJson = Buffer.from(`${JSON.stringify({ type: "commonjs" })}\n`);
    writeFileSync(join(functionDir, "package.json"), packageJson);
    const code = readFileSync(bundlePath);
    const map = readFileSync(`${bundlePath}.map`);
    // The map goes into the zip too, so NODE_OPTIONS=--enable-source-maps gives readable traces.
    const zip = createZip([
      { name: "index.js", data: code },
      { name: "index.js.map", data: map },
      { name: "package.json", data: packageJson },
    ]);
    const zipPath = join(outDir, `${name}.zip`);
    writeFileSync(zipPath, zip);
    built.push({
      name,
      bundlePath,
      bundleBytes: code.length,
      sourceMapBytes: map.length,
      zipPath,
      zipBytes: zip.length,
    });
  }
  return built;
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

async function main(): Promise<void> {
  const built = await buildFunctions();
  let overBudget = false;
  for (const fn of built) {
    const over = fn.bundleBytes > BUNDLE_BUDGET_BYTES;
    overBudget ||= over;
    console.log(
      `${fn.name.padEnd(12)} bundle ${kib(fn.bundleBytes).padStart(10)}  map ${kib(fn.sourceMapBytes).padStart(10)}  ` +
        `zip ${kib(fn.zipBytes).padStart(10)}  ${relative(process.cwd(), fn.zipPath)}${over ? "  OVER BUDGET" : ""}`,
    );
  }
  if (overBudget) {
    console.error(`at least one bundle exceeds the ${kib(BUNDLE_BUDGET_BYTES)} budget`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
