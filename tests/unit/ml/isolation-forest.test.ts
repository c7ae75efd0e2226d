import { describe, expect, it } from "vitest";
import { InputError } from "../../../shared/errors.js";
import { averagePathLength, IsolationForest } from "../../../shared/ml/isolation-forest.js";
import { Rng } from "../../../shared/random.js";

function gaussianRows(n: number, nFeatures: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const rows = new Float64Array(n * nFeatures);
  for (let i = 0; i < rows.length; i++) rows[i] = rng.normal(0, 1);
  return rows;
}

describe("averagePathLength", () => {
  it.each([
    [0, 0],
    [1, 0],
    [2, 1],
    // 2 * (ln(255) + gamma) - 2 * 255 / 256, the value every paper's normaliser uses for psi = 256.
    [256, 10.244770920116851],
  ])("c(%d) = %d", (n, expected) => {
    expect(averagePathLength(n)).toBeCloseTo(expected, 9);
  });
});

describe("IsolationForest", () => {
  const rows = gaussianRows(2000, 2, 7);
  const forest = IsolationForest.fit(rows, 2, { trees: 100, sampleSize: 256, seed: 3 });

  it("scores an obvious outlier above 0.7 and the dense centre below 0.5", () => {
    expect(forest.score([8, -8])).toBeGreaterThan(0.7);
    expect(forest.score([0, 0])).toBeLessThan(0.5);
  });

  it("ranks points further from the centre higher", () => {
    expect(forest.score([3, 3])).toBeGreaterThan(forest.score([1, 1]));
  });

  it("gives 0.5 everywhere when all rows are identical (nothing to isolate)", () => {
    const same = new Float64Array(300 * 3).fill(4.2);
    const model = IsolationForest.fit(same, 3, { seed: 1 });
    expect(model.score([4.2, 4.2, 4.2])).toBeCloseTo(0.5, 6);
    expect(model.score([100, -100, 0])).toBeCloseTo(0.5, 6);
  });

  it("works with a single feature", () => {
    const one = gaussianRows(1000, 1, 11);
    const model = IsolationForest.fit(one, 1, { seed: 2 });
    expect(model.score([10])).toBeGreaterThan(0.7);
    expect(model.score([0])).toBeLessThan(0.5);
  });

  it("caps the subsample at the number of rows when there are fewer rows than psi", () => {
    const few = gaussianRows(40, 2, 5);
    const model = IsolationForest.fit(few, 2, { sampleSize: 256, seed: 2 });
    expect(model.sampleSize).toBe(40);
    expect(model.score([9, 9])).toBeGreaterThan(model.score([0, 0]));
  });

  // Batch scoring of many rows walks a re-laid copy of the trees, eight rows at a time; it must
  // agree bit for bit with scoring one row at a time, remainder rows and odd values included.
  it.each([
    ["psi 256 (complete layout)", 256, 2],
    ["psi 64, 5 features (complete layout)", 64, 5],
    ["psi 2048 (too deep for the complete layout)", 2048, 2],
  ])("scores a batch exactly as row by row: %s", (_label, sampleSize, nFeatures) => {
    const train = gaussianRows(3000, nFeatures, 21);
    const model = IsolationForest.fit(train, nFeatures, { trees: 30, sampleSize, seed: 9 });
    const probe = gaussianRows(1003, nFeatures, 22).map((v) => v * 3);
    probe[5] = Number.NaN;
    probe[17] = Number.POSITIVE_INFINITY;
    const batch = model.scoreMany(probe);
    const single = Array.from({ length: 1003 }, (_, i) => model.score(probe, i * nFeatures));
    expect(Array.from(batch)).toEqual(single);
  });

  it("gives the same scores for the same seed and different ones for another seed", () => {
    const again = IsolationForest.fit(rows, 2, { trees: 100, sampleSize: 256, seed: 3 });
    const other = IsolationForest.fit(rows, 2, { trees: 100, sampleSize: 256, seed: 4 });
    const probe = new Float64Array([0.5, -1.2, 2.5, 2.5, -3, 0.1]);
    expect(Array.from(again.scoreMany(probe))).toEqual(Array.from(forest.scoreMany(probe)));
    expect(Array.from(other.scoreMany(probe))).not.toEqual(Array.from(forest.scoreMany(probe)));
  });

  it("scores exactly the same after a save and load, in bytes and in base64", () => {
    const probe = gaussianRows(500, 2, 99);
    const expected = Array.from(forest.scoreMany(probe));
    const fromBytes = IsolationForest.deserialize(forest.serialize());
    const fromText = IsolationForest.fromBase64(forest.toBase64());
    expect(Array.from(fromBytes.scoreMany(probe))).toEqual(expected);
    expect(Array.from(fromText.scoreMany(probe))).toEqual(expected);
    expect(fromText.trees).toBe(100);
  });

  it("with extrapolate, scores rows inside the training box exactly as the classic forest", () => {
    const ranged = IsolationForest.fit(rows, 2, { trees: 100, sampleSize: 256, seed: 3, extrapolate: true });
    expect(ranged.score([0.1, -0.2])).toBe(forest.score([0.1, -0.2]));
  });

  it("with extrapolate, keeps raising the score as a row moves further out of range", () => {
    const ranged = IsolationForest.fit(rows, 2, { trees: 100, sampleSize: 256, seed: 3, extrapolate: true });
    // The classic forest saturates: far beyond the training extreme, distance no longer matters.
    expect(forest.score([0, 50])).toBeCloseTo(forest.score([0, 500]), 6);
    expect(ranged.score([0, 50])).toBeGreaterThan(forest.score([0, 50]));
    expect(ranged.score([0, 500])).toBeGreaterThan(ranged.score([0, 50]));
    const reloaded = IsolationForest.fromBase64(ranged.toBase64());
    expect(reloaded.extrapolate).toBe(true);
    expect(reloaded.score([0, 50])).toBe(ranged.score([0, 50]));
  });

  it("keeps a 100-tree, psi=256 model under 512 KB", () => {
    expect(forest.serialize().length).toBeLessThan(512 * 1024);
  });

  it("writes scores into a caller's buffer without allocating a new one", () => {
    const out = new Float64Array(3);
    const result = forest.scoreMany(new Float64Array([0, 0, 1, 1, 5, 5]), out);
    expect(result).toBe(out);
    expect(out[2]).toBeGreaterThan(out[0] as number);
  });

  it.each([
    ["truncated", (b: Uint8Array) => b.slice(0, b.length - 4), /truncated/],
    ["too short for a header", (b: Uint8Array) => b.slice(0, 10), /header/],
    ["wrong magic", (b: Uint8Array) => Object.assign(b.slice(), { 0: 0 }), /magic/],
    ["newer version", (b: Uint8Array) => Object.assign(b.slice(), { 4: 9 }), /version 9/],
    [
      "flipped payload byte",
      (b: Uint8Array) => Object.assign(b.slice(), { 100: (b[100] as number) ^ 0xff }),
      /checksum/,
    ],
  ])("refuses a %s model with a clear error", (_name, damage, message) => {
    expect(() => IsolationForest.deserialize(damage(forest.serialize()))).toThrow(message);
    expect(() => IsolationForest.deserialize(damage(forest.serialize()))).toThrow(InputError);
  });

  it("refuses a base64 string that is not base64", () => {
    expect(() => IsolationForest.fromBase64("not base64!")).toThrow(/base64/);
  });

  it.each([
    ["empty rows", new Float64Array(0), 2, {}, /not a positive multiple/],
    ["ragged rows", new Float64Array(5), 2, {}, /not a positive multiple/],
    ["NaN value", new Float64Array([1, Number.NaN, 2, 3]), 2, {}, /row 0 feature 1/],
    ["zero trees", new Float64Array(4), 2, { trees: 0 }, /trees/],
    ["zero features", new Float64Array(4), 0, {}, /nFeatures/],
  ])("refuses to fit on %s", (_name, data, nFeatures, options, message) => {
    expect(() => IsolationForest.fit(data, nFeatures, options)).toThrow(message);
  });
});

describe("IsolationForest.renewedWith (sliding forest)", () => {
  const rows = gaussianRows(1000, 3, 21);
  const grow = (trees: number, seed: number) =>
    IsolationForest.fit(rows, 3, { trees, sampleSize: 128, seed, extrapolate: true });

  it("after four quarter renewals holds exactly the new trees, and still saves and loads", () => {
    const quarters = [11, 12, 13, 14].map((seed) => grow(2, seed));
    let forest = grow(8, 1);
    for (const q of quarters) forest = forest.renewedWith(q);
    expect(forest.trees).toBe(8);
    for (const probe of [
      [0, 0, 0],
      [3, -2, 1],
      [9, 9, -9],
    ]) {
      const expected = quarters.reduce((sum, q) => sum + q.pathLength(probe), 0) / 4;
      expect(forest.pathLength(probe)).toBeCloseTo(expected, 10);
    }
    const loaded = IsolationForest.deserialize(forest.serialize());
    expect(loaded.score([3, -2, 1])).toBe(forest.score([3, -2, 1]));
  });

  it("keeps the newer trees of the old forest after one renewal", () => {
    const old = grow(8, 1);
    const renewed = old.renewedWith(grow(2, 5));
    expect(renewed.trees).toBe(8);
    expect(renewed.nodeCount).toBeGreaterThan(0);
    expect(() =>
      old.renewedWith(IsolationForest.fit(rows, 3, { trees: 2, sampleSize: 64, seed: 5, extrapolate: true })),
    ).toThrow(InputError);
  });
});

describe("range-aware batch scoring", () => {
  it("scoreMany gives bit-for-bit the per-row scores, rows inside and far outside every box", () => {
    const train = gaussianRows(3000, 3, 31);
    const forest = IsolationForest.fit(train, 3, { trees: 50, sampleSize: 256, seed: 8, extrapolate: true });
    const probe = gaussianRows(1500, 3, 32);
    for (let i = 0; i < probe.length; i += 37) probe[i] = (probe[i] as number) * 6; // some rows out of range
    probe[4] = Number.NaN;
    const batch = forest.scoreMany(probe);
    const single = Array.from({ length: 1500 }, (_, i) => forest.score(probe, i * 3));
    expect(Array.from(batch)).toEqual(single);
  });
});
