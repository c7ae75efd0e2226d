import { describe, expect, it } from "vitest";
import { DEFAULT_UNIVARIATE, UnivariateScorer } from "../../../shared/ml/univariate.js";
import { Rng } from "../../../shared/random.js";

const OPTIONS = {
  ...DEFAULT_UNIVARIATE,
  longWindow: 300,
  trainingRows: 600,
  retrainEvery: 100,
  minRows: 200,
};

function noisySeries(n: number, seed: number): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => 50 + rng.normal(0, 2));
}

describe("UnivariateScorer (NAB detector)", () => {
  it("scores 0 until it has seen minRows rows", () => {
    const scorer = new UnivariateScorer(OPTIONS);
    const scores = noisySeries(OPTIONS.minRows, 1).map((v) => scorer.next(v));
    expect(scores.every((s) => s === 0)).toBe(true);
  });

  it("puts a level shift's first rows above every score of the calm stretch before it", () => {
    const values = noisySeries(800, 2);
    for (let i = 700; i < 800; i++) values[i] = (values[i] as number) + 30;
    const scorer = new UnivariateScorer(OPTIONS);
    const scores = values.map((v) => scorer.next(v));
    const calmMax = Math.max(...scores.slice(300, 700));
    const shiftMax = Math.max(...scores.slice(700, 710));
    expect(shiftMax).toBeGreaterThan(calmMax);
  });

  it("is causal: a row's score does not change when later rows change", () => {
    const values = noisySeries(600, 3);
    const altered = values.slice();
    for (let i = 500; i < 600; i++) altered[i] = 1000;
    const a = new UnivariateScorer(OPTIONS);
    const b = new UnivariateScorer(OPTIONS);
    const first = values.map((v) => a.next(v)).slice(0, 500);
    const second = altered.map((v) => b.next(v)).slice(0, 500);
    expect(second).toEqual(first);
  });

  it("treats a non-finite value as a repeat of the last one instead of failing", () => {
    const scorer = new UnivariateScorer(OPTIONS);
    const scores = [...noisySeries(300, 4), Number.NaN, Number.POSITIVE_INFINITY].map((v) => scorer.next(v));
    expect(scores.every((s) => Number.isFinite(s) && s >= 0 && s <= 1)).toBe(true);
  });
});
