import type { PipelineConfig } from "../config/types.js";
import { BruteForceDetector } from "./brute-force.js";
import type { Detector } from "./detector.js";
import { ErrorRateDetector } from "./error-rate.js";
import { HttpProbingDetector, RequestFloodDetector } from "./http-abuse.js";
import { SshdJailDetector } from "./sshd-jail.js";
import { createCpuDetector, createMemoryDetector } from "./threshold.js";

export { BruteForceDetector } from "./brute-force.js";
export { ErrorRateDetector } from "./error-rate.js";
export { createCpuDetector, createMemoryDetector, ThresholdRuleDetector } from "./threshold.js";

/**
 * The rule detectors a pipeline runs, built from its config. Names are unique ("high_cpu",
 * "high_memory", "brute_force", "high_error_rate") because snapshots are keyed by them.
 */
export function createRuleDetectors(config: PipelineConfig): Detector[] {
  const { detectors } = config;
  return [
    createCpuDetector(detectors.cpu),
    createMemoryDetector(detectors.memory),
    new BruteForceDetector(detectors.brute_force, { sshdJail: detectors.sshd_jail.enabled }),
    new ErrorRateDetector(detectors.error_rate),
    ...(detectors.sshd_jail.enabled ? [new SshdJailDetector(detectors.sshd_jail)] : []),
    ...(detectors.http_probing.enabled ? [new HttpProbingDetector(detectors.http_probing)] : []),
    ...(detectors.request_flood.enabled ? [new RequestFloodDetector(detectors.request_flood)] : []),
  ];
}
