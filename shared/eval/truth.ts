import type { AlertType } from "../alerts/types.js";
import type { IncidentTruth, ScenarioType } from "../generator/types.js";
import { SCENARIO_TYPES } from "../generator/types.js";

/** One firing episode of an alert (a new firing, not its repeats), as the evaluation sees it. */
export interface AlertEpisode {
  type: AlertType;
  service: string;
  entity: string;
  startsAtMs: number;
}

export interface ScenarioScore {
  type: ScenarioType;
  injected: number;
  detected: number;
  /** Median of (first matching episode start - incident start) over detected incidents. */
  median_time_to_detect_s: number | null;
}

export interface FamilyScore {
  injected: number;
  detected: number;
  /** detected / injected; null when nothing of this family was injected. */
  recall: number | null;
}

export interface Evaluation {
  /** One row per scenario that expects an alert and was injected at least once (benign is apart). */
  scenarios: ScenarioScore[];
  /** Matched episodes / scored episodes (all but `ignoredEpisodes`); 1 when there were none. */
  precision: number;
  /** Detected / injected incidents that expect an alert; 1 when there were none. */
  recall: number;
  /** Episodes that detected an incident or were an ML anomaly during a real incident. */
  truePositives: number;
  /** Episodes about incidents left out by `unscoredFromMs`; not in precision either way. */
  ignoredEpisodes: number;
  falsePositives: number;
  missed: IncidentTruth[];
  falseAlarms: AlertEpisode[];
  /** Recall split by the detector family meant to catch each incident. */
  byFamily: { rule: FamilyScore; ml: FamilyScore };
  /**
   * Benign spikes injected, and how many had a false alarm start on their service during them or in
   * the grace after (an alert that belongs to a real incident next to the spike does not count).
   */
  benign: { injected: number; alerted: number };
}

export interface EvaluateOptions {
  /** How long after an incident's end an episode still counts for it (detectors need time). */
  graceMs?: number;
  /**
   * Incidents starting at or after this instant are left out of the score (a run's last minutes give
   * a detector no fair chance), and so are the episodes they explain: an alert about such an incident
   * is neither a hit nor a false alarm. Pass the full truth; do not pre-filter it.
   */
  unscoredFromMs?: number;
}

export const DEFAULT_GRACE_MS = 120_000;

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const upper = sorted[mid] as number;
  return sorted.length % 2 === 1 ? upper : ((sorted[mid - 1] as number) + upper) / 2;
}

function within(episode: AlertEpisode, incident: IncidentTruth, graceMs: number): boolean {
  return episode.startsAtMs >= incident.startMs && episode.startsAtMs <= incident.endMs + graceMs;
}

function entityMatches(episode: AlertEpisode, incident: IncidentTruth): boolean {
  return episode.entity === "" || incident.entity === "" || episode.entity === incident.entity;
}

/**
 * Scores alert episodes against the generator's ground truth. An episode detects an incident when
 * the service and (if both are set) the entity match, its type is one the incident expects, and it
 * starts between the incident's start and its end plus the grace. When several incidents qualify
 * (back-to-back incidents on one service), the one that started last gets the credit: the episode
 * is most plausibly about it.
 *
 * An `ml_anomaly` episode during any real incident on its service is a true anomaly, so it is not a
 * false alarm; it only detects incidents that list `ml_anomaly`, though. Every other episode is a
 * false alarm, including any alert during a benign spike.
 */
export function evaluateDetections(
  truth: readonly IncidentTruth[],
  alerts: readonly AlertEpisode[],
  opts: EvaluateOptions = {},
): Evaluation {
  const graceMs = opts.graceMs ?? DEFAULT_GRACE_MS;
  const unscoredFromMs = opts.unscoredFromMs ?? Number.POSITIVE_INFINITY;
  const scored = (incident: IncidentTruth) => incident.startMs < unscoredFromMs;
  const firstDetectionMs = new Map<IncidentTruth, number>();
  const falseAlarms: AlertEpisode[] = [];
  let truePositives = 0;
  let ignoredEpisodes = 0;

  for (const episode of alerts) {
    let best: IncidentTruth | null = null;
    let explainedBy: IncidentTruth | null = null;
    for (const incident of truth) {
      if (incident.service !== episode.service || !within(episode, incident, graceMs)) continue;
      if (incident.expectedAlerts.length > 0 && episode.type === "ml_anomaly") {
        if (explainedBy === null || !scored(explainedBy)) explainedBy = incident;
      }
      if (!incident.expectedAlerts.includes(episode.type) || !entityMatches(episode, incident)) continue;
      if (best === null || incident.startMs > best.startMs) best = incident;
    }
    if ((best !== null && !scored(best)) || (best === null && explainedBy !== null && !scored(explainedBy))) {
      ignoredEpisodes++;
    } else if (best !== null) {
      truePositives++;
      const seen = firstDetectionMs.get(best);
      if (seen === undefined || episode.startsAtMs < seen) firstDetectionMs.set(best, episode.startsAtMs);
    } else if (explainedBy !== null) {
      truePositives++;
    } else {
      falseAlarms.push(episode);
    }
  }

  const scenarios: ScenarioScore[] = [];
  for (const type of SCENARIO_TYPES) {
    const incidents = truth.filter((t) => t.scenario === type && t.expectedAlerts.length > 0 && scored(t));
    if (incidents.length === 0) continue;
    const delays: number[] = [];
    for (const incident of incidents) {
      const at = firstDetectionMs.get(incident);
      if (at !== undefined) delays.push((at - incident.startMs) / 1000);
    }
    scenarios.push({
      type,
      injected: incidents.length,
      detected: delays.length,
      median_time_to_detect_s: median(delays),
    });
  }

  const expecting = truth.filter((t) => t.expectedAlerts.length > 0 && scored(t));
  const missed = expecting.filter((t) => !firstDetectionMs.has(t));
  const benign = truth.filter((t) => t.expectedAlerts.length === 0 && scored(t));
  const family = (name: "rule" | "ml"): FamilyScore => {
    const members = expecting.filter((t) => t.detectedBy === name);
    const detected = members.filter((t) => firstDetectionMs.has(t)).length;
    return {
      injected: members.length,
      detected,
      recall: members.length === 0 ? null : detected / members.length,
    };
  };

  return {
    scenarios,
    precision:
      truePositives + falseAlarms.length === 0 ? 1 : truePositives / (truePositives + falseAlarms.length),
    recall: expecting.length === 0 ? 1 : (expecting.length - missed.length) / expecting.length,
    truePositives,
    ignoredEpisodes,
    falsePositives: falseAlarms.length,
    missed,
    falseAlarms,
    byFamily: { rule: family("rule"), ml: family("ml") },
    benign: {
      injected: benign.length,
      alerted: benign.filter((b) => falseAlarms.some((a) => a.service === b.service && within(a, b, graceMs)))
        .length,
    },
  };
}

/** Recall for the incidents one detector family is meant to catch (for example ML-only scenarios). */
export function evaluateFor(
  family: "rule" | "ml",
  truth: readonly IncidentTruth[],
  alerts: readonly AlertEpisode[],
  opts: EvaluateOptions = {},
): FamilyScore {
  return evaluateDetections(truth, alerts, opts).byFamily[family];
}
