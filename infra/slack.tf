# Slack for the processor: the incoming-webhook URL lives in an SSM SecureString parameter, read once
# per cold start (functions/aws/slack.ts). Terraform creates the parameter with a placeholder and
# never manages its value, so the secret stays out of the plan, the state and the repository. Put
# the URL in with:
#   aws ssm put-parameter --name <output slack_webhook_parameter> --type SecureString --overwrite --value 'https://hooks.slack.com/services/...'

variable "enable_slack" {
  type        = bool
  description = "Also post alerts to Slack from the processor; the webhook URL is read from an SSM SecureString parameter this creates (value set out of band)."
  default     = false
}

locals {
  slack_count          = var.enable_slack && var.enable_processor ? 1 : 0
  slack_parameter_name = "/${var.name_prefix}/slack-webhook-url"
  slack_parameter_arn  = "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter${local.slack_parameter_name}"
  slack_environment    = local.slack_count == 1 ? { SLACK_WEBHOOK_PARAMETER = local.slack_parameter_name } : {}
}

resource "aws_ssm_parameter" "slack_webhook" {
  count       = local.slack_count
  name        = local.slack_parameter_name
  description = "Slack incoming-webhook URL for cloud-observability alerts ('unset' until an operator sets it)"
  type        = "SecureString"
  value       = "unset"

  lifecycle {
    ignore_changes = [value]
  }
}

data "aws_iam_policy_document" "processor_slack" {
  count = local.slack_count

  statement {
    sid       = "ReadSlackWebhookUrl"
    actions   = ["ssm:GetParameter"]
    resources = [local.slack_parameter_arn]
  }
}

resource "aws_iam_role_policy" "processor_slack" {
  count  = local.slack_count
  name   = "processor-slack"
  role   = aws_iam_role.lambda["processor"].id
  policy = data.aws_iam_policy_document.processor_slack[0].json
}

output "slack_webhook_parameter" {
  description = "The SSM parameter to put the Slack webhook URL in (null unless enable_slack)."
  value       = one(aws_ssm_parameter.slack_webhook[*].name)
}
