import { DEFAULT_INHIBIT_RULES } from "../alerts/inhibit.js";
import type { PipelineConfig } from "./types.js";

/** The documented defaults (docs/configuration.md). A config file overrides any subset of keys. */
export const DEFAULT_CONFIG: PipelineConfig = {
  detectors: {
    cpu: { threshold_pct: 85, recovery_pct: 70, for_s: 30, smoothing_s: 15, severity: "warning" },
    memory: { threshold_pct: 90, recovery_pct: 80, for_s: 30, smoothing_s: 15, severity: "warning" },
    brute_force: {
      ip_max_failures: 8,
      user_max_failures: 10,
      user_min_ips: 3,
      find_time_s: 60,
      severity: "critical",
    },
    error_rate: {
      window_s: 60,
      threshold_ratio: 0.2,
      recovery_ratio: 0.08,
      min_requests: 30,
      severity: "critical",
    },
    ml: {
      enabled: true,
      window_s: 10,
      warmup_windows: 60,
      retrain_every_windows: 60,
      max_training_windows: 512,
      threshold_quantile: 0.995,
      score_margin: 0.02,
      for_windows: 3,
      trees: 100,
      sample_size: 256,
      seed: 1,
      severity: "warning",
    },
  },
  alerting: {
    group_wait_s: 10,
    group_interval_s: 60,
    repeat_interval_s: 3600,
    silences: [],
    inhibit_rules: structuredClone([...DEFAULT_INHIBIT_RULES]),
  },
  remediation: {
    dry_run: false,
    kill_switch: false,
    cooldown_s: 300,
    max_actions: 10,
    max_actions_window_s: 600,
    verify_after_s: 120,
    ban_duration_s: 3600,
    actions: {
      high_cpu: "scale_out",
      high_memory: "restart_service",
      brute_force_ip: "block_ip",
      brute_force_user: "lock_user",
      high_error_rate: "rollback_deploy",
    },
  },
  sinks: [],
  time: { max_future_skew_s: 300, allowed_lateness_s: 60 },
};
