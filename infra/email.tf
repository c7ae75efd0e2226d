# What the alert email says about where an alert comes from and what happens next
# (functions/processor/email-env.ts): the environment's name, and whether remediation is deployed and
# only records (dry run) or acts. Account and region come from the topic ARN.

variable "environment_name" {
  type        = string
  description = "Environment name shown in alert emails (for example prod or staging); empty means name_prefix."
  default     = ""

  validation {
    condition     = length(var.environment_name) <= 64
    error_message = "environment_name must be at most 64 characters."
  }
}

locals {
  email_environment = {
    ENVIRONMENT_NAME    = var.environment_name != "" ? var.environment_name : var.name_prefix
    REMEDIATION_ENABLED = tostring(local.remediation_count == 1)
    REMEDIATION_DRY_RUN = tostring(var.remediation_dry_run)
  }
}
