/**
 * Isolation forest benchmark: our forest, the `isolation-forest` npm package and scikit-learn,
 * side by side on the same data. Run alone with `npx tsx tests/bench/forest.bench.ts`, or as part
 * of `npm run bench` (tests/bench/run.ts calls run()). Writes the "forest" section of
 * docs/benchmarks.md.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { IsolationForest as PackageForest } from "isolation-forest";
import { runEvaluation } from "../../local/eval-nab.js";
import { IsolationForest } from "../../shared/ml/isolation-forest.js";
import { Rng } from "../../shared/random.js";
import { machineLine, writeBenchSection } from "./report.js";

const ROWS = 100_000;
const FEATURES = 4;
const OUTLIER_SHARE = 0.01;
/** The package grows every tree on every row it is given, so it gets a subsample of this size. */
const PACKAGE_ROWS = 5_000;
const SEED = 42;
const PYTHON_HELPER = fileURLToPath(new URL("./sklearn_iforest.py", import.meta.url));

interface Dataset {
  name: string;
  description: string;
  rows: Float64Array;
  labels: Uint8Array;
}

/** Standard normal inliers; outliers uniform in [-6, 6]^d at least 4 from the centre. */
function scatteredOutliers(): Dataset {
  const rng = new Rng(SEED);
  const rows = new Float64Array(ROWS * FEATURES);
  const labels = new Uint8Array(ROWS);
  for (let i = 0; i < ROWS; i++) {
    const outlier = rng.next() < OUTLIER_SHARE;
    labels[i] = outlier ? 1 : 0;
    for (;;) {
      let norm = 0;
      for (let f = 0; f < FEATURES; f++) {
        const v = outlier ? rng.uniform(-6, 6) : rng.normal(0, 1);
        rows[i * FEATURES + f] = v;
        norm += v * v;
      }
      if (!outlier || Math.sqrt(norm) >= 4) break;
    }
  }
  return {
    name: "gaussian",
    description: `${ROWS.toLocaleString("en")} x ${FEATURES} standard normal rows, 1% uniform outliers in [-6, 6]^4 (norm >= 4)`,
    rows,
    labels,
  };
}

/** Two normal clusters; the anomalies form one tight cluster of their own (masking). */
function clusteredAnomalies(): Dataset {
  const rng = new Rng(SEED + 1);
  const rows = new Float64Array(ROWS * FEATURES);
  const labels = new Uint8Array(ROWS);
  for (let i = 0; i < ROWS; i++) {
    const anomaly = rng.next() < OUTLIER_SHARE;
    labels[i] = anomaly ? 1 : 0;
    const centre = anomaly ? 3 : rng.next() < 0.5 ? -2 : 2;
    const spread = anomaly ? 0.25 : 1;
    for (let f = 0; f < FEATURES; f++) {
      rows[i * FEATURES + f] = rng.normal(anomaly ? (f % 2 === 0 ? centre : -centre) : centre, spread);
    }
  }
  return {
    name: "clustered",
    description: `${ROWS.toLocaleString("en")} x ${FEATURES}: two unit-variance clusters at ±2, 1% anomalies in one tight cluster (sd 0.25) at (3, -3, 3, -3)`,
    rows,
    labels,
  };
}

/** ROC AUC as the Mann-Whitney statistic, ties counted half. */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const order = Array.from({ length: scores.length }, (_, i) => i).sort(
    (a, b) => (scores[a] as number) - (scores[b] as number),
  );
  let positives = 0;
  let rankSum = 0;
  for (let k = 0; k < order.length; ) {
    let j = k;
    while (j + 1 < order.length && scores[order[j + 1] as number] === scores[order[k] as number]) j++;
    const averageRank = (k + j) / 2 + 1;
    for (let m = k; m <= j; m++) {
      if (labels[order[m] as number] === 1) {
        positives++;
        rankSum += averageRank;
      }
    }
    k = j + 1;
  }
  const negatives = scores.length - positives;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

interface Measurement {
  implementation: string;
  rows: number;
  fitMs: number;
  scoreUsPerRow: number;
  auc: number;
  modelBytes: number | null;
  note: string;
}

function timed<T>(work: () => T): { value: T; ms: number } {
  const started = performance.now();
  const value = work();
  return { value, ms: performance.now() - started };
}

/**
 * Our forest. `extrapolate: true` is the range-aware form the ML detector and the streaming core
 * use in production (scoreMany in blocks); false is the classic form of the paper.
 */
function ours(data: Dataset, extrapolate: boolean): Measurement {
  const fit = timed(() =>
    IsolationForest.fit(data.rows, FEATURES, { trees: 100, sampleSize: 256, seed: SEED, extrapolate }),
  );
  const scores = new Float64Array(ROWS);
  fit.value.scoreMany(data.rows, scores); // warm the JIT before timing
  // Median of three passes, as the scikit-learn script does.
  const passes = [0, 1, 2].map(() => timed(() => fit.value.scoreMany(data.rows, scores)).ms);
  const score = { ms: passes.sort((a, b) => a - b)[1] as number };
  return {
    implementation: extrapolate ? "ours, production path (range-aware)" : "ours, classic",
    rows: ROWS,
    fitMs: fit.ms,
    scoreUsPerRow: (score.ms * 1000) / ROWS,
    auc: rocAuc(scores, data.labels),
    modelBytes: fit.value.serialize().length,
    note: extrapolate
      ? "extrapolate: true, as the ML detector scores; blocks for rows inside every tree's box"
      : "classic scoring (extrapolate off), as the paper",
  };
}

function npmPackage(data: Dataset): Measurement {
  // Every 20th row: the same class balance, and a size the package can fit in seconds.
  const step = Math.floor(ROWS / PACKAGE_ROWS);
  const objects: Record<string, number>[] = [];
  const labels: number[] = [];
  for (let i = 0; i < ROWS && objects.length < PACKAGE_ROWS; i += step) {
    const row: Record<string, number> = {};
    for (let f = 0; f < FEATURES; f++) row[`f${f}`] = data.rows[i * FEATURES + f] as number;
    objects.push(row);
    labels.push(data.labels[i] as number);
  }
  const forest = new PackageForest(100, 256);
  const fit = timed(() => forest.fit(objects));
  forest.predict(objects); // the same warm-up and median of three passes as ours
  const passes = [0, 1, 2].map(() => timed(() => forest.predict(objects)));
  const score = passes.sort((a, b) => a.ms - b.ms)[1] as { value: number[]; ms: number };
  let modelBytes: number | null = null;
  try {
    modelBytes = JSON.stringify(forest.trees).length;
  } catch {
    modelBytes = null;
  }
  return {
    implementation: "isolation-forest 0.0.9 (npm)",
    rows: objects.length,
    fitMs: fit.ms,
    scoreUsPerRow: (score.ms * 1000) / objects.length,
    auc: rocAuc(score.value, labels),
    modelBytes,
    note: `every ${step}th row only (it grows each tree on all rows); size = JSON of its trees, it cannot save`,
  };
}

function sklearn(data: Dataset): Measurement | string {
  const dir = mkdtempSync(join(tmpdir(), "forest-bench-"));
  try {
    const input = join(dir, "rows.f64");
    const output = join(dir, "scores.f64");
    writeFileSync(input, new Uint8Array(data.rows.buffer, data.rows.byteOffset, data.rows.byteLength));
    const python = process.env.PYTHON ?? "python3";
    const result = spawnSync(
      python,
      [PYTHON_HELPER, input, String(ROWS), String(FEATURES), output, String(SEED)],
      {
        encoding: "utf8",
        timeout: 300_000,
      },
    );
    if (result.error) return `${python} could not run: ${result.error.message}`;
    if (result.status !== 0) {
      const reason = result.stderr.includes("No module named")
        ? "scikit-learn is not installed"
        : result.stderr.trim();
      return `${python} failed: ${reason.split("\n").slice(-1)[0] ?? ""}`;
    }
    const report = JSON.parse(result.stdout.trim().split("\n").slice(-1)[0] ?? "{}") as {
      fit_s: number;
      score_s: number;
      model_bytes: number;
      version: string;
    };
    const bytes = readFileSync(output);
    const scores = new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
    return {
      implementation: `scikit-learn ${report.version}`,
      rows: ROWS,
      fitMs: report.fit_s * 1000,
      scoreUsPerRow: (report.score_s * 1e6) / ROWS,
      auc: rocAuc(scores, data.labels),
      modelBytes: report.model_bytes,
      note: "score_samples, n_jobs=1; size = pickle",
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function table(rows: Measurement[]): string {
  const lines = [
    "| implementation | rows | fit (ms) | score (µs/row) | ROC AUC | model bytes | note |",
    "|---|---:|---:|---:|---:|---:|---|",
  ];
  for (const m of rows) {
    lines.push(
      `| ${m.implementation} | ${m.rows.toLocaleString("en")} | ${m.fitMs.toFixed(0)} | ${m.scoreUsPerRow.toFixed(2)} | ${m.auc.toFixed(4)} | ${m.modelBytes === null ? "n/a" : m.modelBytes.toLocaleString("en")} | ${m.note} |`,
    );
  }
  return lines.join("\n");
}

export async function run(): Promise<void> {
  const sections: string[] = [];
  const verdicts: string[] = [];
  const resultLines: string[] = [];
  for (const data of [scatteredOutliers(), clusteredAnomalies()]) {
    console.log(`forest bench: ${data.name}`);
    const results: Measurement[] = [ours(data, true), ours(data, false)];
    const pkg = npmPackage(data);
    results.push(pkg);
    const sk = sklearn(data);
    if (typeof sk === "string") {
      console.warn(`forest bench: scikit-learn skipped: ${sk}`);
      if (process.env.REQUIRE_TOOLS === "1")
        throw new Error(`scikit-learn required (REQUIRE_TOOLS=1): ${sk}`);
    } else {
      results.push(sk);
    }
    const our = results[0] as Measurement;
    const checks = [
      `scoring speed per row: ours ${(pkg.scoreUsPerRow / our.scoreUsPerRow).toFixed(1)}x the npm package's (goal >= 10x)`,
      `our 100-tree model ${((our.modelBytes ?? 0) / 1024).toFixed(0)} KB (goal <= 512 KB)`,
    ];
    if (typeof sk !== "string") {
      checks.unshift(
        `AUC production path - scikit-learn = ${(our.auc - sk.auc).toFixed(4)} (goal within 0.01)`,
        `scoring speed per row: production path ${(sk.scoreUsPerRow / our.scoreUsPerRow).toFixed(2)}x scikit-learn's (goal >= 2x); classic ${(sk.scoreUsPerRow / (results[1] as Measurement).scoreUsPerRow).toFixed(2)}x`,
      );
    } else {
      checks.unshift(`scikit-learn skipped: ${sk}`);
    }
    sections.push(
      `### ${data.name}: ${data.description}\n\n${table(results)}\n\n${checks.map((c) => `- ${c}`).join("\n")}`,
    );
    verdicts.push(`${data.name}: ${checks.join("; ")}`);
    if (typeof sk !== "string") {
      resultLines.push(
        `RESULT forest dataset=${data.name} production_speedup_vs_sklearn=${(sk.scoreUsPerRow / our.scoreUsPerRow).toFixed(2)} auc_diff=${(our.auc - sk.auc).toFixed(4)}`,
      );
    }
    console.log(table(results));
  }
  writeBenchSection(
    "forest",
    `## Isolation forest: ours vs the npm package vs scikit-learn

Command: \`npx tsx tests/bench/forest.bench.ts\` (also part of \`npm run bench\`). Machine: ${machineLine()}.
100 trees, subsample 256, seed ${SEED}; fit on all rows and score the same rows (the npm package
gets a subsample, see its note). Score time is the median of three passes over the rows after a
warm-up pass (for scikit-learn three \`score_samples\` calls, single-threaded). ROC AUC is computed by the bench from
each implementation's scores with the same code.

${sections.join("\n\n")}`,
  );
  for (const v of verdicts) console.log(v);
  recordNab();
  for (const line of resultLines) console.log(line);
}

const NAB_DATA = fileURLToPath(new URL("../../../shared/data/nab", import.meta.url));
const PUBLISHED =
  "Published standard-profile scores on this subset: Numenta HTM 73.4, CAD OSE 72.1, ARTime 69.9, Random Cut Forest 61.4, KNN CAD 60.7, Relative Entropy 50.0, Windowed Gaussian 31.2, null 0.";

/** Runs `npm run eval:nab` on the kit's realAWSCloudwatch subset and records the three scores. */
function recordNab(): void {
  if (!existsSync(NAB_DATA)) {
    console.warn(`forest bench: NAB skipped: ${NAB_DATA} not found`);
    if (process.env.REQUIRE_TOOLS === "1")
      throw new Error(`NAB data required (REQUIRE_TOOLS=1): ${NAB_DATA}`);
    return;
  }
  const out = mkdtempSync(join(tmpdir(), "nab-"));
  const started = performance.now();
  try {
    const { inSample: results, heldOut } = runEvaluation({
      data: NAB_DATA,
      windows: join(NAB_DATA, "labels/combined_windows.json"),
      out,
    });
    const seconds = (performance.now() - started) / 1000;
    const rows = results.map(
      (r, i) =>
        `| ${r.profile} | ${r.normalised.toFixed(1)} | ${heldOut?.[i]?.normalised.toFixed(1) ?? "n/a"} | ${r.threshold.toFixed(4)} | ${r.truePositives} | ${r.falsePositives} | ${r.falseNegatives} |`,
    );
    const standardHeldOut = heldOut?.[0]?.normalised ?? Number.NaN;
    writeBenchSection(
      "nab",
      `## NAB realAWSCloudwatch (17 files, 30 windows)

Command: \`npm run eval:nab\` (recorded by \`npx tsx tests/bench/forest.bench.ts\`). Machine: ${machineLine()}.
Detector: the streaming detector core (shared/ml/stream.ts, DEFAULT_STREAM), one configuration for
all files. In-sample: threshold optimised per profile over the 17 files (TP/FP/FN columns are for
it). Held-out: leave-one-file-out, each file scored with the candidate configuration and threshold
chosen on the other 16 (STREAM_CANDIDATES). The core makes no random choice, so seeds 1 to 5 give
the same figures (spread 0). Run time: ${seconds.toFixed(1)} s (every candidate on every file).

| profile | in-sample | held-out | threshold | TP windows | FP rows | FN windows |
|---|---:|---:|---:|---:|---:|---:|
${rows.join("\n")}

${PUBLISHED} Held-out standard ${standardHeldOut.toFixed(1)}: ${standardHeldOut > 73.4 ? "above" : "**below**"} HTM's 73.4 goal. See docs/ml.md for what was tried.`,
    );
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await run();
}
