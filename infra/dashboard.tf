# One CloudWatch dashboard over the metrics the functions emit in Embedded Metric Format (namespace
# CloudObservability, dimension Function; breakdowns add Reason or AlertType) and Lambda's own.
# SEARCH expressions pick up every reason and alert type as they appear, with nothing to keep in
# sync here.

locals {
  dashboard_name  = "${var.name_prefix}-pipeline"
  dashboard_count = var.enable_dashboard && var.enable_processor ? 1 : 0
  metric_ns       = "CloudObservability"

  # Built from names, like every ARN here (main.tf), so the dashboard is known at plan time.
  dashboard_alarms = [for name in local.pipeline_alarm_names : "arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${name}"]

  dashboard_widgets = concat(
    [
      {
        type = "metric", x = 0, y = 0, width = 12, height = 6
        properties = {
          title  = "Log events accepted and rejected (per minute)"
          region = local.region, view = "timeSeries", stat = "Sum", period = 60
          metrics = [
            [local.metric_ns, "events", "Function", "processor", { label = "accepted" }],
            [local.metric_ns, "rejected", "Function", "processor", { label = "rejected" }],
            [local.metric_ns, "payloads_rejected", "Function", "processor", { label = "payloads rejected" }],
          ]
        }
      },
      {
        type = "metric", x = 12, y = 0, width = 12, height = 6
        properties = {
          title   = "Rejected lines by reason"
          region  = local.region, view = "timeSeries", stat = "Sum", period = 60
          metrics = [[{ id = "reasons", expression = "SEARCH('{${local.metric_ns},Function,Reason} Function=\"processor\" MetricName=\"rejected_lines\"', 'Sum', 60)" }]]
        }
      },
      {
        type = "metric", x = 0, y = 6, width = 12, height = 6
        properties = {
          title   = "Alerts fired by type"
          region  = local.region, view = "timeSeries", stat = "Sum", period = 300
          metrics = [[{ id = "types", expression = "SEARCH('{${local.metric_ns},Function,AlertType} Function=\"processor\" MetricName=\"alerts_fired\"', 'Sum', 300)" }]]
        }
      },
      {
        type = "metric", x = 12, y = 6, width = 12, height = 6
        properties = {
          title  = "Notifications: decided, published, waiting in the outbox"
          region = local.region, view = "timeSeries", period = 300
          metrics = [
            [local.metric_ns, "alerts", "Function", "processor", { stat = "Sum", label = "decided" }],
            [local.metric_ns, "published", "Function", "processor", { stat = "Sum", label = "published" }],
            [local.metric_ns, "spooled", "Function", "processor", { stat = "Maximum", label = "outbox (max)" }],
          ]
        }
      },
      {
        type = "metric", x = 0, y = 12, width = 12, height = 6
        properties = {
          title  = "Processor duration (ms) and failures"
          region = local.region, view = "timeSeries", period = 300
          metrics = [
            ["AWS/Lambda", "Duration", "FunctionName", local.processor_function_name, { stat = "p50", label = "p50" }],
            ["AWS/Lambda", "Duration", "FunctionName", local.processor_function_name, { stat = "p99", label = "p99" }],
            ["AWS/Lambda", "Duration", "FunctionName", local.processor_function_name, { stat = "Maximum", label = "max" }],
            ["AWS/Lambda", "Errors", "FunctionName", local.processor_function_name, { stat = "Sum", label = "errors", yAxis = "right" }],
            ["AWS/Lambda", "Throttles", "FunctionName", local.processor_function_name, { stat = "Sum", label = "throttles", yAxis = "right" }],
          ]
        }
      },
    ],
    local.remediation_count == 1 ? [
      {
        type = "metric", x = 12, y = 12, width = 12, height = 6
        properties = {
          title  = "Remediation: actions and their failures"
          region = local.region, view = "timeSeries", stat = "Sum", period = 300
          metrics = [
            [local.metric_ns, "actions", "Function", "remediation", { label = "acted" }],
            [local.metric_ns, "action_failures", "Function", "remediation", { label = "failed" }],
            [local.metric_ns, "skipped", "Function", "remediation", { label = "skipped by guardrails" }],
            [local.metric_ns, "duplicates", "Function", "remediation", { label = "duplicates" }],
          ]
        }
      },
    ] : [],
    length(local.dashboard_alarms) > 0 ? [
      {
        type       = "alarm", x = 0, y = 18, width = 24, height = 3
        properties = { title = "Pipeline alarms", alarms = local.dashboard_alarms }
      },
    ] : [],
  )
}

resource "aws_cloudwatch_dashboard" "pipeline" {
  count          = local.dashboard_count
  dashboard_name = local.dashboard_name
  dashboard_body = jsonencode({ widgets = local.dashboard_widgets })
}
