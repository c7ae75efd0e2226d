import { describe, expect, it } from "vitest";
import { DEFAULT_STREAM, quantileSelect, quantileSorted, StreamDetector } from "../../../shared/ml/stream.js";
import { Rng } from "../../../shared/random.js";

function noisySeries(n: number, seed: number): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => 50 + rng.normal(0, 2));
}

function scores(values: readonly number[], options = DEFAULT_STREAM): number[] {
  const detector = new StreamDetector(options);
  return values.map((v) => detector.next(v).score);
}

describe("StreamDetector (the streaming detector core)", () => {
  it("scores 0 until it has seen minRows rows", () => {
    expect(scores(noisySeries(DEFAULT_STREAM.minRows, 1)).every((s) => s === 0)).toBe(true);
  });

  it("is causal: a row's score does not change when any later row changes", () => {
    const values = noisySeries(1500, 3);
    const reference = scores(values);
    for (const cut of [200, 777, 1200]) {
      const altered = values.slice();
      for (let i = cut; i < altered.length; i++) altered[i] = 1000 + i;
      expect(scores(altered).slice(0, cut)).toEqual(reference.slice(0, cut));
    }
  });

  it("puts a level shift's first rows above every score of the calm stretch before it", () => {
    const values = noisySeries(1200, 2);
    for (let i = 1100; i < 1200; i++) values[i] = (values[i] as number) + 15;
    const s = scores(values);
    const calmMax = Math.max(...s.slice(300, 1100));
    const shiftMax = Math.max(...s.slice(1100, 1110));
    expect(shiftMax).toBeGreaterThan(calmMax);
    expect(shiftMax).toBeGreaterThanOrEqual(DEFAULT_STREAM.alarmScore);
  });

  it("names the kind of change: a lone spike, a level shift", () => {
    const base = noisySeries(1000, 4);
    const spiked = new StreamDetector(DEFAULT_STREAM);
    for (const v of base) spiked.next(v);
    expect(spiked.next(50 + 40).kind).toBe("spike");
    const shifted = new StreamDetector(DEFAULT_STREAM);
    for (const v of base) shifted.next(v);
    const rng = new Rng(9);
    const kinds = Array.from({ length: 8 }, () => shifted.next(58 + rng.normal(0, 2)).kind);
    expect(kinds.at(-1)).toBe("level");
  });

  it("reports one alarm per incident: rows after an alarm are damped unless much stronger", () => {
    const values = noisySeries(1500, 5);
    for (let i = 1000; i < 1500; i++) values[i] = (values[i] as number) + 20;
    const s = scores(values);
    const above = s.slice(1000).filter((v) => v >= DEFAULT_STREAM.alarmScore).length;
    expect(above).toBeGreaterThan(0);
    expect(above).toBeLessThan(10);
  });

  it("stops alarming on a daily job whose start wanders by an hour and height by 15%, not on a spike twice its size", () => {
    const day = 288;
    const rng = new Rng(3);
    const values = Array.from({ length: day * 8 }, () => 5 + rng.normal(0, 0.3));
    const jobRows: number[] = [];
    for (let d = 0; d < 7; d++) {
      const at = d * day + 40 + Math.round((rng.next() - 0.5) * 30);
      values[at] = 5 + 30 * (1 + (rng.next() - 0.5) * 0.3);
      jobRows.push(at);
    }
    const doubled = 7 * day + 40;
    values[doubled] = 5 + 60;
    const s = scores(values);
    const alarms = s.flatMap((v, i) => (v >= DEFAULT_STREAM.alarmScore ? [i] : []));
    // Days 3 to 7 have the two days before them to recognise the job by.
    for (const at of jobRows.slice(2)) expect(alarms).not.toContain(at);
    expect(alarms).toContain(doubled);
  });

  it("treats a non-finite value as a repeat of the last one instead of failing", () => {
    const s = scores([...noisySeries(300, 6), Number.NaN, Number.POSITIVE_INFINITY, -Number.NaN]);
    expect(s.every((v) => Number.isFinite(v) && v >= 0 && v < 1)).toBe(true);
  });

  it("finds a daily period by autocorrelation and flags a broken day, not the daily swing", () => {
    const period = 288;
    const rng = new Rng(7);
    const values = Array.from(
      { length: period * 8 },
      (_, i) => 50 + 30 * Math.sin((2 * Math.PI * i) / period) + rng.normal(0, 1),
    );
    // Day 8: the afternoon peak does not come (flat at the mean). The seasonal measures need a
    // few days of their own history first (the period is known after three days).
    for (let i = period * 7 + 50; i < period * 7 + 120; i++) values[i] = 50 + rng.normal(0, 1);
    const s = scores(values);
    const normalDayMax = Math.max(...s.slice(period * 6, period * 7));
    const brokenMax = Math.max(...s.slice(period * 7 + 50, period * 7 + 120));
    expect(normalDayMax).toBeLessThan(DEFAULT_STREAM.alarmScore);
    expect(brokenMax).toBeGreaterThanOrEqual(DEFAULT_STREAM.alarmScore);
  });
});

describe("quantileSelect", () => {
  it("matches the sorted quantile, ties and all", () => {
    const rng = new Rng(11);
    for (const n of [1, 2, 3, 10, 257, 1000]) {
      for (const ties of [false, true]) {
        const values = Float64Array.from({ length: n }, () =>
          ties ? Math.floor(rng.next() * 3) : rng.normal(0, 1),
        );
        const sorted = values.slice().sort();
        for (const q of [0, 0.01, 0.5, 0.9, 0.99, 0.995, 1]) {
          expect(quantileSelect(values.slice(), q)).toBeCloseTo(quantileSorted(sorted, q), 12);
        }
      }
    }
  });
});

describe("StreamDetector state (what the per-service detector snapshots and gates)", () => {
  /** A series with a seasonal period and a shift, so every ring (seasonal ones included) holds data. */
  function seasonalSeries(n: number): number[] {
    const rng = new Rng(21);
    return Array.from(
      { length: n },
      (_, i) => 50 + 10 * Math.sin((2 * Math.PI * i) / 288) + rng.normal(0, 1) + (i > 1300 ? 8 : 0),
    );
  }

  /** Options without periods (the state is kept only for those), a short history and frequent refreshes. */
  const PERIODLESS = {
    ...DEFAULT_STREAM,
    periods: [],
    historyRows: 120,
    refreshEvery: 50,
    refractoryRows: 20,
  };

  /** A noisy series with a variance change, a shift and spikes, so every kind of measure moves. */
  function eventfulSeries(n: number): number[] {
    const rng = new Rng(8);
    return Array.from({ length: n }, (_, i) => {
      const noise = rng.normal(0, i > 300 && i < 400 ? 6 : 2);
      return 50 + noise + (i > 600 ? 12 : 0) + (i % 97 === 0 ? 30 : 0);
    });
  }

  it.each([
    ["before it has a history", 3],
    ["while its history fills", 100],
    ["with a full history", 451],
    ["one row after a refresh", 551],
    ["in the middle of a shift", 640],
  ])("continues exactly after toState, JSON and fromState, %s", (_name, cut) => {
    const values = eventfulSeries(900);
    const original = new StreamDetector(PERIODLESS);
    values.slice(0, cut).forEach((v, i) => {
      original.next(v);
      // Forgotten rows (as the per-service detector forgets borderline windows) leave no trace.
      if (i % 11 === 5) original.forget();
    });
    const json = JSON.parse(JSON.stringify(original.toState()));
    const restored = StreamDetector.fromState(PERIODLESS, json);
    for (const v of values.slice(cut)) expect(restored.next(v)).toEqual(original.next(v));
    expect(restored.toState()).toEqual(original.toState());
  });

  it("keeps in its state only the values its rings were built from, and the baselines they used", () => {
    const detector = new StreamDetector(PERIODLESS);
    for (const v of eventfulSeries(2000)) detector.next(v);
    const state = detector.toState();
    // The history plus the drift context of its oldest row; a baseline every 50 rows over 120 rows.
    expect(state.values).toHaveLength(PERIODLESS.historyRows + PERIODLESS.driftRows - 1);
    expect(state.baselines.length).toBeLessThanOrEqual(4);
    expect(state.baselines[0]?.[0]).toBeLessThanOrEqual(state.rows - PERIODLESS.historyRows);
  });

  it("forget() takes a row back: the detector continues as one that never saw it", () => {
    const values = seasonalSeries(1400);
    const gated = new StreamDetector();
    const plain = new StreamDetector();
    values.forEach((v, i) => {
      if (i % 7 === 3 || (i > 1300 && i < 1320)) {
        gated.next(v + 40);
        gated.forget();
        gated.forget(); // a second call does nothing
        return;
      }
      expect(gated.next(v)).toEqual(plain.next(v));
    });
  });

  it("fromState refuses a bad state and names the field", () => {
    const good = new StreamDetector(PERIODLESS);
    for (const v of noisySeries(200, 5)) good.next(v);
    const state = good.toState();
    expect(() => StreamDetector.fromState(PERIODLESS, { ...state, scale: "x" })).toThrow(/scale/);
    expect(() => StreamDetector.fromState(PERIODLESS, { ...state, values: new Array(5000).fill(1) })).toThrow(
      /values/,
    );
    expect(() => StreamDetector.fromState(PERIODLESS, { ...state, values: state.values.slice(1) })).toThrow(
      /values/,
    );
    expect(() => StreamDetector.fromState(PERIODLESS, { ...state, tails: [1, 2] })).toThrow(/tails/);
    const unordered = [...state.baselines].reverse();
    expect(() => StreamDetector.fromState(PERIODLESS, { ...state, baselines: unordered })).toThrow(
      /baselines/,
    );
    expect(() => StreamDetector.fromState(PERIODLESS, { ...state, baselines: [] })).toThrow(/baselines/);
    expect(() => StreamDetector.fromState(PERIODLESS, null)).toThrow(/stream state/);
  });

  it("keeps no state for a seasonal detector, whose rings do not follow from its values", () => {
    const seasonal = new StreamDetector();
    expect(() => seasonal.toState()).toThrow(/without periods/);
    expect(() => StreamDetector.fromState(DEFAULT_STREAM, new StreamDetector(PERIODLESS).toState())).toThrow(
      /periods/,
    );
  });
});
