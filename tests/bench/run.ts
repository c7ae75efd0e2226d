/**
 * `npm run bench`: every benchmark in turn, each writing its own section of docs/benchmarks.md.
 * Pass names to run a subset: `npm run bench -- processor forest`.
 */
const BENCHES: Record<string, () => Promise<{ run: () => Promise<void> }>> = {
  processor: () => import("./processor.bench.js"),
  forest: () => import("./forest.bench.js"),
  bundles: () => import("./bundles.bench.js"),
  memory: () => import("./memory.bench.js"),
  formats: () => import("./formats.bench.js"),
  kinesis: () => import("./kinesis.bench.js"),
  ml: () => import("./ml.bench.js"),
  state: () => import("./state.bench.js"),
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(name in BENCHES));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(", ")}; known: ${Object.keys(BENCHES).join(", ")}`);
  process.exit(2);
}
for (const name of wanted.length > 0 ? wanted : Object.keys(BENCHES)) {
  console.log(`\n=== bench: ${name} ===`);
  const loader = BENCHES[name];
  if (loader) await (await loader()).run();
}
