import type { AlertType, Severity } from "../alerts/types.js";
import type { SinkConfig } from "./sinks.js";

/** Remediation verbs the policy can choose; the executor decides how each is carried out. */
export const ACTION_TYPES = [
  "scale_out",
  "restart_service",
  "block_ip",
  "lock_user",
  "rollback_deploy",
] as const;
export type ActionType = (typeof ACTION_TYPES)[number];

export interface ThresholdRuleConfig {
  /** Fire when the smoothed value stays at or above this for `for_s`. */
  threshold_pct: number;
  /** Resolve only when the smoothed value falls below this (hysteresis, so alerts do not flap). */
  recovery_pct: number;
  /** Hold duration before pending becomes firing (Prometheus `for`). */
  for_s: number;
  /** Smoothing window for the per-service value. */
  smoothing_s: number;
  severity: Severity;
  /** Services tracked at once; past it new services are refused and `pipeline_capacity` fires. */
  max_services?: number;
}

export interface BruteForceConfig {
  /** fail2ban's maxretry: failures from one IP within `find_time_s`. */
  ip_max_failures: number;
  /** Failures against one user, from any IPs, within `find_time_s`. */
  user_max_failures: number;
  /** Also require this many distinct IPs for the per-user rule (credential stuffing). */
  user_min_ips: number;
  find_time_s: number;
  severity: Severity;
  /** IPs (and, separately, users) tracked at once; past it new ones are refused and `pipeline_capacity` fires. */
  max_keys?: number;
}

/** fail2ban's sshd jail over events read from sshd logs (docs/detectors.md). */
export interface SshdJailConfig {
  enabled: boolean;
  /** fail2ban's maxretry: failures of one host within `find_time_s` that ban it. */
  max_retry: number;
  find_time_s: number;
  /** How long the ban (block_ip) lasts; the alert resolves when it ends. */
  ban_time_s: number;
  /** fail2ban's ignoreip: addresses, CIDR ranges or host names never banned. */
  ignore_ips: string[];
  severity: Severity;
}

/** crowdsec's http-probing scenario: a leaky bucket of distinct failing paths per client IP. */
export interface HttpProbingConfig {
  enabled: boolean;
  /** The bucket holds this many distinct paths; one more overflows it. */
  capacity: number;
  /** One path leaks out every this many seconds. */
  leak_s: number;
  /** After an overflow the IP is not alerted on again for this long. */
  blackhole_s: number;
  severity: Severity;
}

/** Too many requests from one client IP within a window. */
export interface RequestFloodConfig {
  enabled: boolean;
  max_requests: number;
  window_s: number;
  severity: Severity;
}

export interface ErrorRateConfig {
  window_s: number;
  /** Errors over requests in the window at or above this fires. */
  threshold_ratio: number;
  recovery_ratio: number;
  /** No verdict on fewer requests than this in the window. */
  min_requests: number;
  severity: Severity;
  /** Services tracked at once; past it new services are refused and `pipeline_capacity` fires. */
  max_services?: number;
}

export interface MlConfig {
  enabled: boolean;
  /** Length of the feature window per service. */
  window_s: number;
  /** No ML alerts before this many windows per service. */
  warmup_windows: number;
  /** Retrain after this many new windows. */
  retrain_every_windows: number;
  /** At most this many recent normal windows kept for training. */
  max_training_windows: number;
  /** Threshold = this quantile of the service's training scores, plus `score_margin`. */
  threshold_quantile: number;
  score_margin: number;
  /** Consecutive anomalous windows before firing. */
  for_windows: number;
  trees: number;
  sample_size: number;
  seed: number;
  severity: Severity;
  /** Services modelled at once; past it new services are refused and `pipeline_capacity` fires. */
  max_services?: number;
}

export interface SilenceConfig {
  /** Label matchers: every key given must equal the alert's value. */
  matchers: Partial<Record<"type" | "service" | "entity" | "severity", string>>;
  /** ISO 8601; the silence stops applying after this instant. */
  expires_at: string;
  reason: string;
}

export interface AlertingConfig {
  /** Wait this long after the first alert of a group before notifying, to gather its burst. */
  group_wait_s: number;
  /** Minimum gap between notifications about changes to one group. */
  group_interval_s: number;
  /** Re-notify a still-firing group after this long. */
  repeat_interval_s: number;
  silences: SilenceConfig[];
  /**
   * Alertmanager-style inhibit rules (shared/alerts/inhibit.ts). Absent: the default, any rule
   * alert on a service inhibits that service's ml_anomaly. An empty list turns inhibition off.
   */
  inhibit_rules?: InhibitRuleConfig[];
}

export interface InhibitRuleConfig {
  /** Matchers like `type!="ml_anomaly"`: all must hold for a firing alert to inhibit. */
  source_matchers: string[];
  /** Matchers an alert must meet to be inhibited. */
  target_matchers: string[];
  /** Labels (type, service, entity, severity) source and target must share. */
  equal: string[];
  /**
   * Our addition to Alertmanager's form: a new target alert waits this long before it may page,
   * so a source that is about to fire (the CPU rule needs its `for_s`, the ML detector is often
   * quicker) can still inhibit it. Default 0.
   */
  hold_s?: number;
}

export interface RemediationConfig {
  /** Log what would be done; execute nothing. */
  dry_run: boolean;
  /** Emergency stop: no actions at all while true. */
  kill_switch: boolean;
  /** Per target (service, IP or user): no second action within this many seconds. */
  cooldown_s: number;
  /** Circuit breaker: at most `max_actions` within `max_actions_window_s` across all targets. */
  max_actions: number;
  max_actions_window_s: number;
  /** After acting, check this long later whether the alert resolved. */
  verify_after_s: number;
  /** Expiry of a block_ip / lock_user action. */
  ban_duration_s: number;
  /** Which action each alert type triggers; a type not listed is notify-only. */
  actions: Partial<Record<AlertType, ActionType>>;
}

export interface TimeConfig {
  /**
   * An event dated more than this ahead of the reference clock (the wall clock live and on Lambda,
   * the stream's own corroborated progress in a replay) is rejected as `timestamp_in_future`.
   */
  max_future_skew_s: number;
  /**
   * Events up to this far behind their source's clock are ordinary out-of-order arrivals; older ones
   * are counted `late`. The Lambda tick advances the clock to wall time minus this, leaving room for
   * delayed deliveries.
   */
  allowed_lateness_s: number;
}

export interface PipelineConfig {
  detectors: {
    cpu: ThresholdRuleConfig;
    memory: ThresholdRuleConfig;
    brute_force: BruteForceConfig;
    sshd_jail: SshdJailConfig;
    error_rate: ErrorRateConfig;
    http_probing: HttpProbingConfig;
    request_flood: RequestFloodConfig;
    ml: MlConfig;
  };
  alerting: AlertingConfig;
  remediation: RemediationConfig;
  /** Webhook, Slack and Alertmanager receivers (URLs from the environment or files). */
  sinks: SinkConfig[];
  time: TimeConfig;
  /**
   * How the processor Lambda reads each log group it is subscribed to: the first source whose
   * pattern matches the group decides (docs/inputs.md). Empty: every group is read with `auto`.
   */
  sources: InputSourceConfig[];
}

export interface InputSourceConfig {
  /** A log group name; `*` matches any run of characters ("/aws/lambda/*"). */
  log_group: string;
  /** auto, json, nginx, apache, sshd, lambda or metric-csv. */
  format: string;
  /** Service name for formats that carry none; default: the log group's last path part. */
  service?: string;
  /** A mapping preset name or an inline mapping (json format), see docs/inputs.md. */
  mapping?: string | Record<string, unknown>;
  /** sshd: normal, ddos, extra or aggressive. */
  mode?: string;
  /** Time zone of zone-less timestamps. */
  timezone?: string;
  /** nginx/apache: a log_format string for a custom layout. */
  log_format?: string;
  /** metric-csv: the series is cpu_pct or memory_pct. */
  metric_field?: string;
}
