/**
 * The rules a detector, the forest or the alert manager would otherwise enforce by throwing when the
 * pipeline is built: each contradictory config is refused by the schema, naming its key, and the
 * nearest config the schema accepts builds a pipeline that runs.
 */
import { describe, expect, it } from "vitest";
import { type Leaf, leaves, sectionDoc, sections } from "../../../local/config-docs.js";
import type { ConfigProblem } from "../../../shared/config/load.js";
import { validateConfig } from "../../../shared/config/load.js";
import type { PipelineConfig } from "../../../shared/config/types.js";
import { Pipeline } from "../../../shared/pipeline.js";
import { Rng } from "../../../shared/random.js";
import { at, makeEvent } from "../detectors/events.js";

type Doc = Record<string, unknown>;
const detectors = (section: string, values: Doc): Doc => ({ detectors: { [section]: values } });

/** [label, refused override, path, problem, message part, accepted neighbour] */
const RULES: [string, Doc, string, ConfigProblem, string, Doc][] = [
  [
    "no CPU smoothing (ThresholdRuleDetector needs a window)",
    detectors("cpu", { smoothing_s: 0 }),
    "detectors.cpu.smoothing_s",
    "out_of_range",
    "must be a number in 1..2678400 (windows are kept in 1-second buckets), got 0",
    detectors("cpu", { smoothing_s: 1 }),
  ],
  [
    "memory smoothing shorter than a bucket",
    detectors("memory", { smoothing_s: 0.5 }),
    "detectors.memory.smoothing_s",
    "out_of_range",
    "got 0.5",
    detectors("memory", { smoothing_s: 1.5 }),
  ],
  [
    "a negative hold time",
    detectors("cpu", { for_s: -1 }),
    "detectors.cpu.for_s",
    "out_of_range",
    "must be a number in 0..2678400, got -1",
    detectors("cpu", { for_s: 0 }),
  ],
  [
    "CPU recovery equal to the threshold",
    detectors("cpu", { threshold_pct: 80, recovery_pct: 80 }),
    "detectors.cpu.recovery_pct",
    "cross_field",
    "must be below threshold_pct (80)",
    detectors("cpu", { threshold_pct: 80, recovery_pct: 79.9 }),
  ],
  [
    "memory threshold lowered under the default recovery",
    detectors("memory", { threshold_pct: 75 }),
    "detectors.memory.recovery_pct",
    "cross_field",
    "must be below threshold_pct (75) so the alert can resolve without flapping, got 80",
    detectors("memory", { threshold_pct: 75, recovery_pct: 60 }),
  ],
  [
    "an error-rate window shorter than a bucket",
    detectors("error_rate", { window_s: 0.25 }),
    "detectors.error_rate.window_s",
    "out_of_range",
    "windows are kept in 1-second buckets",
    detectors("error_rate", { window_s: 1 }),
  ],
  [
    "error-rate recovery at the threshold",
    detectors("error_rate", { threshold_ratio: 0.1, recovery_ratio: 0.1 }),
    "detectors.error_rate.recovery_ratio",
    "cross_field",
    "must be below threshold_ratio (0.1), got 0.1",
    detectors("error_rate", { threshold_ratio: 0.1, recovery_ratio: 0.05 }),
  ],
  [
    "no brute-force window",
    detectors("brute_force", { find_time_s: 0 }),
    "detectors.brute_force.find_time_s",
    "out_of_range",
    "got 0",
    detectors("brute_force", { find_time_s: 1 }),
  ],
  [
    "zero failures to fire on",
    detectors("brute_force", { user_max_failures: 0 }),
    "detectors.brute_force.user_max_failures",
    "out_of_range",
    "must be an integer in 1..1000000, got 0",
    detectors("brute_force", { user_max_failures: 1 }),
  ],
  [
    "a request-flood window in fractions of a second (it counts whole seconds)",
    detectors("request_flood", { window_s: 1.5 }),
    "detectors.request_flood.window_s",
    "out_of_range",
    "must be an integer in 1..3600 (the detector keeps one counter per second per client IP), got 1.5",
    detectors("request_flood", { window_s: 2 }),
  ],
  [
    "a request-flood window of a day (a counter per second per IP)",
    detectors("request_flood", { window_s: 86_400 }),
    "detectors.request_flood.window_s",
    "out_of_range",
    "got 86400",
    detectors("request_flood", { window_s: 3600 }),
  ],
  [
    "no ML window",
    detectors("ml", { window_s: 0 }),
    "detectors.ml.window_s",
    "out_of_range",
    "got 0",
    detectors("ml", { window_s: 0.5 }),
  ],
  [
    "an ML warm-up of one window (a model needs two)",
    detectors("ml", { warmup_windows: 1 }),
    "detectors.ml.warmup_windows",
    "out_of_range",
    "must be an integer in 2..1000000 (a model needs two windows to learn from), got 1",
    detectors("ml", { warmup_windows: 2 }),
  ],
  [
    "an ML warm-up longer than the training set",
    detectors("ml", { warmup_windows: 100, max_training_windows: 50 }),
    "detectors.ml.warmup_windows",
    "cross_field",
    "must be at most detectors.ml.max_training_windows (50)",
    detectors("ml", { warmup_windows: 50, max_training_windows: 50 }),
  ],
  [
    "a forest sample above the isolation forest's limit (InputError at the first training)",
    detectors("ml", { sample_size: 32_769 }),
    "detectors.ml.sample_size",
    "out_of_range",
    "must be an integer in 2..32768 (the isolation forest's limit), got 32769",
    detectors("ml", { sample_size: 32_768 }),
  ],
  [
    "a lock for an alert with no user",
    { remediation: { actions: { high_error_rate: "lock_user" } } },
    "remediation.actions.high_error_rate",
    "cross_field",
    "lock_user needs an user to act on and only fits brute_force_user alerts",
    { remediation: { actions: { high_error_rate: null } } },
  ],
  [
    "an inhibit rule without source matchers (it would inhibit on any alert)",
    { alerting: { inhibit_rules: [{ source_matchers: [], target_matchers: ['type="ml_anomaly"'] }] } },
    "alerting.inhibit_rules[0].source_matchers",
    "invalid_matcher",
    "needs at least one matcher",
    {
      alerting: {
        inhibit_rules: [{ source_matchers: ['type="high_cpu"'], target_matchers: ['type="ml_anomaly"'] }],
      },
    },
  ],
  [
    "an inhibit hold of more than a day",
    {
      alerting: {
        inhibit_rules: [
          { source_matchers: ['type="high_cpu"'], target_matchers: ['type="ml_anomaly"'], hold_s: 90_000 },
        ],
      },
    },
    "alerting.inhibit_rules[0].hold_s",
    "out_of_range",
    "must be a number in 0..86400, got 90000",
    {
      alerting: {
        inhibit_rules: [
          { source_matchers: ['type="high_cpu"'], target_matchers: ['type="ml_anomaly"'], hold_s: 86_400 },
        ],
      },
    },
  ],
  [
    "a silence that would mute everything",
    { alerting: { silences: [{ matchers: {}, expires_at: "2026-02-01T00:00:00Z", reason: "x" }] } },
    "alerting.silences[0].matchers",
    "out_of_range",
    "needs at least one of type, service, entity, severity",
    {
      alerting: {
        silences: [{ matchers: { service: "api" }, expires_at: "2026-02-01T00:00:00Z", reason: "x" }],
      },
    },
  ],
  [
    "a sink with two URL sources",
    { sinks: [{ type: "webhook", url_env: "A", url_file: "/run/b" }] },
    "sinks[0]",
    "cross_field",
    "needs exactly one of url_env",
    { sinks: [{ type: "webhook", url_env: "A" }] },
  ],
  [
    "two sinks with one name",
    {
      sinks: [
        { type: "slack", url_env: "A" },
        { type: "slack", url_env: "B" },
      ],
    },
    "sinks[1].name",
    "cross_field",
    'sink name "slack" is used twice',
    {
      sinks: [
        { type: "slack", url_env: "A" },
        { type: "slack", name: "slack-2", url_env: "B" },
      ],
    },
  ],
  [
    "a source whose mapping preset does not exist",
    { sources: [{ log_group: "/a", format: "json", mapping: "log4j" }] },
    "sources",
    "cross_field",
    "sources[0] (/a): unknown mapping preset",
    { sources: [{ log_group: "/a", format: "json" }] },
  ],
];

/** 20 s of CPU, auth and request traffic over two services: enough to train a model on 1 s windows. */
function exercise(config: PipelineConfig): void {
  const pipeline = new Pipeline({ config });
  for (let s = 0; s < 20; s++) {
    for (const service of ["api", "auth"]) {
      pipeline.ingestEvent(
        makeEvent({
          timeMs: at(s),
          service,
          event_type: s % 7 === 0 ? "auth_failure" : "request",
          status_code: s % 5 === 0 ? 500 : 200,
          metrics: { cpu_pct: 40 + (s % 9), memory_pct: 50, latency_ms: 20 + (s % 4) },
        }),
      );
    }
  }
  pipeline.advance(at(60));
  pipeline.takeFindings();
  pipeline.takeNotifications();
}

describe("config rules between keys and against the detectors", () => {
  it.each(RULES)("%s is refused, naming the key", (_label, bad, path, problem, messagePart) => {
    const result = validateConfig(bad);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const error = result.errors.find((candidate) => candidate.path === path);
    expect(error, JSON.stringify(result.errors)).toBeDefined();
    expect(error?.problem).toBe(problem);
    expect(error?.message).toBe(`${path}: ${error?.message.slice(path.length + 2)}`);
    expect(error?.message).toContain(messagePart);
  });

  it.each(RULES)("%s: the nearest accepted config builds and runs a pipeline", (...row) => {
    const result = validateConfig(row[5]);
    expect(result.ok, JSON.stringify(result)).toBe(true);
    if (result.ok) expect(() => exercise(result.config)).not.toThrow();
  });

  it("trains the model with the largest sample size the schema allows", () => {
    const result = validateConfig(detectors("ml", { sample_size: 32_768, warmup_windows: 2, window_s: 1 }));
    expect(result.ok).toBe(true);
    if (result.ok) expect(() => exercise(result.config)).not.toThrow();
  });
});

/** A value the schema allows for `leaf`, often at an edge of its range (where constructors break). */
function pick(leaf: Leaf, rng: Rng, roll = rng.next()): unknown {
  if (leaf.boolean) return rng.next() < 0.5;
  if (leaf.options) return leaf.options[rng.int(leaf.options.length)];
  const range = leaf.range as NonNullable<Leaf["range"]>;
  const step = range.integer ? 1 : 0.001;
  const low = range.minExclusive ? range.min + step : range.min;
  const high = range.maxExclusive ? range.max - step : range.max;
  const value = roll < 0.3 ? low : roll < 0.5 ? high : rng.uniform(low, high);
  return range.integer ? Math.round(value) : value;
}

function setAt(doc: Doc, path: string, value: unknown): void {
  const keys = path.split(".");
  let node = doc;
  for (const key of keys.slice(0, -1)) {
    node[key] = (node[key] as Doc | undefined) ?? {};
    node = node[key] as Doc;
  }
  node[keys.at(-1) as string] = value;
}

describe("every config the schema accepts builds a pipeline", () => {
  const all = leaves();

  it("knows the scalar keys of every detector", () => {
    const paths = all.map((leaf) => leaf.path);
    expect(paths).toContain("detectors.cpu.smoothing_s");
    expect(paths).toContain("detectors.ml.sample_size");
    expect(paths).toContain("detectors.request_flood.window_s");
  });

  it("runs a pipeline with each key alone at each end of its range", () => {
    for (const leaf of all) {
      const ends = leaf.range
        ? [pick(leaf, new Rng(0), 0), pick(leaf, new Rng(0), 0.4)]
        : [pick(leaf, new Rng(1))];
      for (const value of ends) {
        // With models that train within the 20 s `exercise` runs.
        const doc = detectors("ml", { window_s: 1, warmup_windows: 2 });
        setAt(doc, leaf.path, value);
        const result = validateConfig(doc);
        if (!result.ok) {
          // Only a rule between keys may refuse a value inside its own range (recovery_pct 100).
          expect(result.errors.map((error) => error.problem)).toEqual(result.errors.map(() => "cross_field"));
          continue;
        }
        expect(() => exercise(result.config), `${leaf.path}: ${String(value)}`).not.toThrow();
      }
    }
  });

  it("runs a pipeline for 30 random configs with values at the edges of their ranges (seeded)", () => {
    const rng = new Rng(16);
    let accepted = 0;
    for (let n = 0; n < 30; n++) {
      // Half the configs train their models within the 20 s `exercise` runs.
      const doc: Doc = n % 2 === 0 ? detectors("ml", { window_s: 1, warmup_windows: 2 }) : {};
      // A quarter of the keys per config, so defaults and edges mix.
      for (const leaf of all) if (rng.next() < 0.25) setAt(doc, leaf.path, pick(leaf, rng));
      const result = validateConfig(doc);
      if (!result.ok) {
        // Refused only by a rule between keys, never by a value picked inside its own range.
        expect(result.errors.map((error) => error.problem)).toEqual(result.errors.map(() => "cross_field"));
        continue;
      }
      accepted++;
      expect(() => exercise(result.config), JSON.stringify(doc)).not.toThrow();
    }
    expect(accepted).toBeGreaterThanOrEqual(10);
  });
});

/** `{a: {b: [ {c: value} ]}}` for the path a.b[].c */
function docAt(path: string, value: unknown): Doc {
  const [head, ...rest] = path.split(".");
  const key = head as string;
  const inner = rest.length === 0 ? value : docAt(rest.join("."), value);
  return key.endsWith("[]") ? { [key.slice(0, -2)]: [inner] } : { [key]: inner };
}

describe("validateConfig on hostile values", () => {
  const HOSTILE: unknown[] = [null, 5, -1, 1e308, Number.NaN, "x", "", true, [], [1, "a"], {}, { a: 1 }];

  it("never throws, and refuses a wrong value naming its key, at every key of every section and list", () => {
    let checked = 0;
    for (const [path, node] of sections()) {
      const keys = sectionDoc(path, node as Parameters<typeof sectionDoc>[1]).keys.map((key) => key.key);
      const targets = [path, ...keys.map((key) => `${path}.${key}`)];
      // The list itself too (`sinks: {}`), not only its items.
      if (path.endsWith("[]")) targets.push(path.slice(0, -2));
      for (const target of targets) {
        for (const value of HOSTILE) {
          const result = validateConfig(docAt(target, value));
          checked++;
          if (result.ok) continue;
          for (const error of result.errors) {
            expect(error.message.startsWith(`${error.path || "config"}: `), error.message).toBe(true);
            expect(error.message, error.message).not.toContain("Invalid");
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });
});
