# Alarms on the pipeline's own health, published to the alert topic (and again when they clear):
# a pipeline that watches services must say when it cannot. Every alarm is quiet while there is
# no data, except "no events", for which missing data is exactly the problem.

locals {
  processor_alarm_count   = var.enable_pipeline_alarms && var.enable_processor ? 1 : 0
  remediation_alarm_count = var.enable_pipeline_alarms ? local.remediation_count : 0
  no_events_alarm_count   = var.no_events_alarm_minutes > 0 ? local.processor_alarm_count : 0
  dlq_alarm_count         = var.enable_pipeline_alarms ? local.dlq_count : 0
  alarm_topic             = var.enable_alert_topic ? [local.topic_arn] : []
  alarm_runbook           = "Runbook: docs/runbook.md, section Pipeline alarms."

  pipeline_alarm_names = concat(
    aws_cloudwatch_metric_alarm.processor_errors[*].alarm_name,
    aws_cloudwatch_metric_alarm.processor_throttles[*].alarm_name,
    aws_cloudwatch_metric_alarm.remediation_errors[*].alarm_name,
    aws_cloudwatch_metric_alarm.dead_letters[*].alarm_name,
    aws_cloudwatch_metric_alarm.outbox_stuck[*].alarm_name,
    aws_cloudwatch_metric_alarm.no_events[*].alarm_name,
  )
}

resource "aws_cloudwatch_metric_alarm" "processor_errors" {
  count               = local.processor_alarm_count
  alarm_name          = "${var.name_prefix}-processor-errors"
  alarm_description   = "The processor failed an invocation: Lambda retries the delivery, then sends it to the dead-letter queue. Its log group has the error. ${local.alarm_runbook}"
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = local.processor_function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_topic
  ok_actions          = local.alarm_topic
}

# A throttle now and then is normal with reserved concurrency (CloudWatch Logs retries the
# delivery); throttles in three five-minute periods in a row mean the processor cannot keep up.
resource "aws_cloudwatch_metric_alarm" "processor_throttles" {
  count               = local.processor_alarm_count
  alarm_name          = "${var.name_prefix}-processor-throttles"
  alarm_description   = "The processor has been throttled for 15 minutes: deliveries queue up and detection falls behind. Raise processor_reserved_concurrency or memory. ${local.alarm_runbook}"
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = local.processor_function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 3
  datapoints_to_alarm = 3
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_topic
  ok_actions          = local.alarm_topic
}

resource "aws_cloudwatch_metric_alarm" "remediation_errors" {
  count               = local.remediation_alarm_count
  alarm_name          = "${var.name_prefix}-remediation-errors"
  alarm_description   = "The remediation function failed an invocation: an alert may not have been acted on. Its log group has the error and the audit trail. ${local.alarm_runbook}"
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = local.remediation_function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_topic
  ok_actions          = local.alarm_topic
}

resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  count               = local.dlq_alarm_count
  alarm_name          = "${var.name_prefix}-dead-letters"
  alarm_description   = "Invocations gave up after their retries and wait in the dead-letter queue ${local.dlq_name} (kept 14 days) for inspection or replay. ${local.alarm_runbook}"
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = local.dlq_name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_topic
  ok_actions          = local.alarm_topic
}

# `spooled` is the processor's outbox after each invocation: notifications decided but not yet
# published. A few minutes of it is an SNS blip; fifteen is an outage or a permissions problem.
resource "aws_cloudwatch_metric_alarm" "outbox_stuck" {
  count               = local.processor_alarm_count
  alarm_name          = "${var.name_prefix}-outbox-stuck"
  alarm_description   = "Alert notifications have waited in the processor's outbox for 15 minutes: publishing to the topic fails. ${local.alarm_runbook}"
  namespace           = "CloudObservability"
  metric_name         = "spooled"
  dimensions          = { Function = "processor" }
  statistic           = "Minimum"
  period              = 300
  evaluation_periods  = 3
  datapoints_to_alarm = 3
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_topic
  ok_actions          = local.alarm_topic
}

resource "aws_cloudwatch_metric_alarm" "no_events" {
  count               = local.no_events_alarm_count
  alarm_name          = "${var.name_prefix}-no-events"
  alarm_description   = "The processor accepted no log event for ${var.no_events_alarm_minutes} minutes: the source is silent, the subscription is broken, or every line is rejected (see the dashboard's rejected lines). ${local.alarm_runbook}"
  namespace           = "CloudObservability"
  metric_name         = "events"
  dimensions          = { Function = "processor" }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = var.no_events_alarm_minutes
  datapoints_to_alarm = var.no_events_alarm_minutes
  threshold           = 0
  comparison_operator = "LessThanOrEqualToThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = local.alarm_topic
  ok_actions          = local.alarm_topic
}
