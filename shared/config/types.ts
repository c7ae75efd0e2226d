/**
 * The config types, inferred from the schema (schema.ts) so that they cannot drift from what is
 * validated: each is the shape after defaults are filled in.
 */
import type * as v from "valibot";
import type { CONFIG_SCHEMA, INHIBIT_RULE_SCHEMA } from "./schema.js";

/** Remediation verbs the policy can choose; the executor decides how each is carried out. */
export const ACTION_TYPES = [
  "scale_out",
  "restart_service",
  "block_ip",
  "lock_user",
  "rollback_deploy",
] as const;
export type ActionType = (typeof ACTION_TYPES)[number];

export type PipelineConfig = v.InferOutput<typeof CONFIG_SCHEMA>;
type Detectors = PipelineConfig["detectors"];

export type ThresholdRuleConfig = Detectors["cpu"];
export type BruteForceConfig = Detectors["brute_force"];
/** fail2ban's sshd jail over events read from sshd logs (docs/detectors.md). */
export type SshdJailConfig = Detectors["sshd_jail"];
/** crowdsec's http-probing scenario: a leaky bucket of distinct failing paths per client IP. */
export type HttpProbingConfig = Detectors["http_probing"];
/** Too many requests from one client IP within a window. */
export type RequestFloodConfig = Detectors["request_flood"];
export type ErrorRateConfig = Detectors["error_rate"];
export type MlConfig = Detectors["ml"];
export type AlertingConfig = PipelineConfig["alerting"];
export type SilenceConfig = AlertingConfig["silences"][number];
export type InhibitRuleConfig = v.InferOutput<typeof INHIBIT_RULE_SCHEMA>;
export type RemediationConfig = PipelineConfig["remediation"];
export type TimeConfig = PipelineConfig["time"];
export type InputSourceConfig = PipelineConfig["sources"][number];
