# Alarms on the pipeline's own health, published to the alert topic (and again when they clear):
# a pipeline that watches services must say when it cannot. Every alarm is quiet while there is
# no data, except "no-events", for which missing data is exactly the problem.

locals {
  alarm_topic   = var.enable_alert_topic ? [local.topic_arn] : []
  alarm_runbook = "Runbook: docs/runbook.md, section Pipeline alarms."

  # One entry per alarm, keyed by the suffix of its name; `enabled` says whether this stack has it.
  alarm_specs = {
    "processor-errors" = {
      enabled     = var.enable_pipeline_alarms && var.enable_processor
      description = "The processor failed an invocation: Lambda retries the delivery, then sends it to the dead-letter queue. Its log group has the error."
      namespace   = "AWS/Lambda", metric = "Errors", dimensions = { FunctionName = local.processor_function_name }
      statistic   = "Sum", period = 300, periods = 1, threshold = 0, comparison = "GreaterThanThreshold", missing = "notBreaching"
    }
    # A throttle now and then is normal with reserved concurrency (CloudWatch Logs retries the
    # delivery); throttles in three five-minute periods in a row mean the processor cannot keep up.
    "processor-throttles" = {
      enabled     = var.enable_pipeline_alarms && var.enable_processor
      description = "The processor has been throttled for 15 minutes: deliveries queue up and detection falls behind. Raise processor_reserved_concurrency or memory."
      namespace   = "AWS/Lambda", metric = "Throttles", dimensions = { FunctionName = local.processor_function_name }
      statistic   = "Sum", period = 300, periods = 3, threshold = 0, comparison = "GreaterThanThreshold", missing = "notBreaching"
    }
    "remediation-errors" = {
      enabled     = var.enable_pipeline_alarms && local.remediation_count == 1
      description = "The remediation function failed an invocation: an alert may not have been acted on. Its log group has the error and the audit trail."
      namespace   = "AWS/Lambda", metric = "Errors", dimensions = { FunctionName = local.remediation_function_name }
      statistic   = "Sum", period = 300, periods = 1, threshold = 0, comparison = "GreaterThanThreshold", missing = "notBreaching"
    }
    "dead-letters" = {
      enabled     = var.enable_pipeline_alarms && local.dlq_count == 1
      description = "Invocations gave up after their retries and wait in the dead-letter queue ${local.dlq_name} (kept 14 days) for inspection or replay."
      namespace   = "AWS/SQS", metric = "ApproximateNumberOfMessagesVisible", dimensions = { QueueName = local.dlq_name }
      statistic   = "Maximum", period = 300, periods = 1, threshold = 0, comparison = "GreaterThanThreshold", missing = "notBreaching"
    }
    # `spooled` is the processor's outbox after each invocation: notifications decided but not yet
    # published. A few minutes of it is an SNS blip; fifteen is an outage or a permissions problem.
    "outbox-stuck" = {
      enabled     = var.enable_pipeline_alarms && var.enable_processor
      description = "Alert notifications have waited in the processor's outbox for 15 minutes: publishing to the topic fails."
      namespace   = "CloudObservability", metric = "spooled", dimensions = { Function = "processor" }
      statistic   = "Minimum", period = 300, periods = 3, threshold = 0, comparison = "GreaterThanThreshold", missing = "notBreaching"
    }
    "no-events" = {
      enabled     = var.enable_pipeline_alarms && var.enable_processor && var.no_events_alarm_minutes > 0
      description = "The processor accepted no log event for ${var.no_events_alarm_minutes} minutes: the source is silent, the subscription is broken, or every line is rejected (see the dashboard's rejected lines)."
      namespace   = "CloudObservability", metric = "events", dimensions = { Function = "processor" }
      statistic   = "Sum", period = 60, periods = var.no_events_alarm_minutes, threshold = 0, comparison = "LessThanOrEqualToThreshold", missing = "breaching"
    }
  }

  pipeline_alarms      = { for key, spec in local.alarm_specs : key => spec if spec.enabled }
  pipeline_alarm_names = [for key in keys(local.pipeline_alarms) : "${var.name_prefix}-${key}"]
}

resource "aws_cloudwatch_metric_alarm" "pipeline" {
  for_each            = local.pipeline_alarms
  alarm_name          = "${var.name_prefix}-${each.key}"
  alarm_description   = "${each.value.description} ${local.alarm_runbook}"
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = each.value.period
  evaluation_periods  = each.value.periods
  datapoints_to_alarm = each.value.periods
  threshold           = each.value.threshold
  comparison_operator = each.value.comparison
  treat_missing_data  = each.value.missing
  alarm_actions       = local.alarm_topic
  ok_actions          = local.alarm_topic
}
