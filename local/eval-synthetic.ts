/**
 * `npm run eval:synthetic`: the labelled synthetic benchmark (shared/eval/synthetic.ts) through the
 * streaming detector core, scored as `eval:nab` scores NAB (normalised standard profile) and by
 * plain counts: detection rate per anomaly kind and false alarms per 1,000 rows, at the detector's
 * own alarm level (no threshold tuned on these labels).
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  NAB_PROFILES,
  type NabProfile,
  optimiseThreshold,
  prepareSeries,
  scoreAtThreshold,
} from "../shared/eval/nab-scorer.js";
import {
  countDetections,
  type DetectionCounts,
  SYNTHETIC_KINDS,
  syntheticBenchmark,
  syntheticTimestamps,
} from "../shared/eval/synthetic.js";
import { DEFAULT_STREAM, StreamDetector, type StreamOptions } from "../shared/ml/stream.js";

/** Goals: every kind detected in at least this share of its series... */
export const MIN_DETECTION_RATE = 0.9;
/** ...with fewer false alarms than this per 1,000 rows on clean series. */
export const MAX_CLEAN_FALSE_ALARMS_PER_1000 = 1;

export interface SyntheticReport {
  counts: DetectionCounts;
  nabAtAlarm: number;
  nabOptimised: number;
  met: boolean;
}

export function runSynthetic(
  options: StreamOptions = DEFAULT_STREAM,
  seedsPerCase = 5,
  log: (line: string) => void = console.log,
): SyntheticReport {
  const series = syntheticBenchmark(seedsPerCase);
  const scores = series.map((s) => {
    const detector = new StreamDetector(options);
    return s.values.map((v) => detector.next(v).score);
  });
  const counts = countDetections(series, scores, options.alarmScore, options.minRows);
  const prepared = series.map((s, i) => {
    const timestamps = syntheticTimestamps(s.values.length);
    const window = [timestamps[s.window[0]] as string, timestamps[s.window[1]] as string] as const;
    return prepareSeries({ name: s.name, timestamps, scores: scores[i] as number[], windows: [window] });
  });
  const standard = NAB_PROFILES[0] as NabProfile;
  const nabAtAlarm = scoreAtThreshold(prepared, standard, options.alarmScore).normalised;
  const nabOptimised = optimiseThreshold(prepared, standard).normalised;
  let met = true;
  log(
    `${series.length} series x ${series[0]?.values.length ?? 0} rows, alarm at score >= ${options.alarmScore}`,
  );
  for (const kind of SYNTHETIC_KINDS) {
    const { hit, total } = counts.detected[kind];
    const ok = hit >= MIN_DETECTION_RATE * total;
    met &&= ok;
    log(
      `${kind.padEnd(16)} detected ${hit}/${total} (${((100 * hit) / total).toFixed(0)}%)${ok ? "" : "  below 90%"}`,
    );
  }
  const perThousand = (t: { falseAlarms: number; rows: number }) =>
    (1000 * t.falseAlarms) / Math.max(1, t.rows);
  const cleanRate = perThousand(counts.clean);
  met &&= cleanRate < MAX_CLEAN_FALSE_ALARMS_PER_1000;
  log(
    `false alarms per 1,000 rows: clean ${cleanRate.toFixed(3)} (${counts.clean.falseAlarms} in ${counts.clean.rows}), noisy ${perThousand(counts.noisy).toFixed(3)} (${counts.noisy.falseAlarms} in ${counts.noisy.rows}); late alarms on persisting changes ${counts.lateAlarms}`,
  );
  log(
    `NAB standard profile: ${nabAtAlarm.toFixed(1)} at the alarm level, ${nabOptimised.toFixed(1)} with the threshold optimised`,
  );
  log(
    `RESULT synthetic met=${met ? 1 : 0} clean_fa_per_1000=${cleanRate.toFixed(3)} nab_at_alarm=${nabAtAlarm.toFixed(1)}`,
  );
  return { counts, nabAtAlarm, nabOptimised, met };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const report = runSynthetic();
  process.exit(report.met ? 0 : 1);
}
