import type { PipelineConfig } from "../../shared/config/types.js";
import type { EmailContext } from "../../shared/sinks/email.js";
import { emailContextFromTopic } from "../aws/sns.js";
import { booleanEnv, type Env, optionalEnv } from "../lambda/env.js";

/**
 * What the alert email says about where it comes from and what happens next, from the processor's
 * environment (infra/email.tf sets these): `ENVIRONMENT_NAME`, `LOG_GROUP_NAME`, `HISTORY_TABLE_NAME`,
 * `REMEDIATION_ENABLED` and `REMEDIATION_DRY_RUN` (the remediation Lambda's own dry-run switch).
 */
export function emailContextFromEnv(env: Env, topicArn: string, config: PipelineConfig): EmailContext {
  const base = emailContextFromTopic(topicArn);
  return {
    ...base,
    environment: optionalEnv(env, "ENVIRONMENT_NAME") ?? base.environment,
    logGroup: optionalEnv(env, "LOG_GROUP_NAME") ?? "",
    historyTable: optionalEnv(env, "HISTORY_TABLE_NAME") ?? "",
    remediation: {
      ...config.remediation,
      dry_run: booleanEnv(env, "REMEDIATION_DRY_RUN", config.remediation.dry_run),
    },
    remediationEnabled: booleanEnv(env, "REMEDIATION_ENABLED", false),
  };
}
