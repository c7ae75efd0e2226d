resource "aws_sns_topic" "alerts" {
  count = local.topic_count
  name  = local.topic_name
  # Encrypted at rest with the AWS-managed SNS key; Lambda publishers need no key policy for it.
  kms_master_key_id = "alias/aws/sns"
}

resource "aws_sns_topic_subscription" "email" {
  count     = var.enable_alert_topic && var.alert_email != "" ? 1 : 0
  topic_arn = aws_sns_topic.alerts[0].arn
  protocol  = "email"
  endpoint  = var.alert_email
  # Stays "PendingConfirmation" until the recipient clicks the link AWS emails them.
  filter_policy       = var.alert_email_filter_policy != "" ? var.alert_email_filter_policy : null
  filter_policy_scope = var.alert_email_filter_policy != "" ? "MessageAttributes" : null
}

resource "aws_sns_topic_subscription" "remediation" {
  count     = local.remediation_count
  topic_arn = aws_sns_topic.alerts[0].arn
  protocol  = "lambda"
  endpoint  = aws_lambda_function.remediation[0].arn

  filter_policy       = var.remediation_filter_policy != "" ? var.remediation_filter_policy : null
  filter_policy_scope = var.remediation_filter_policy != "" ? "MessageAttributes" : null

  depends_on = [aws_lambda_permission.remediation_from_sns]
}
