# The one-minute tick. On AWS, event time otherwise moves only when logs arrive: with quiet services
# a group wait, a repeat, a no-data resolve or a remediation outcome check could wait for hours.
# Every minute EventBridge invokes the processor (its clock advances to wall time minus the allowed
# lateness: groups flush, silent services resolve with no_data) and the remediation function (due
# outcome checks run). Both recognise EventBridge's default "Scheduled Event" payload, so the
# target needs no input. See docs/architecture.md ("Time") and docs/lambda.md.

resource "aws_cloudwatch_event_rule" "tick" {
  count               = local.processor_count
  name                = "${var.name_prefix}-tick"
  description         = "cloud-observability: let event time pass when no logs arrive"
  schedule_expression = "rate(1 minute)"
}

resource "aws_cloudwatch_event_target" "processor_tick" {
  count     = local.processor_count
  rule      = aws_cloudwatch_event_rule.tick[0].name
  target_id = "processor"
  arn       = aws_lambda_function.pipeline["processor"].arn
}

resource "aws_lambda_permission" "processor_from_tick" {
  count         = local.processor_count
  statement_id  = "AllowEventBridgeTick"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.pipeline["processor"].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.tick[0].arn
}

resource "aws_cloudwatch_event_target" "remediation_tick" {
  count     = local.processor_count * local.remediation_count
  rule      = aws_cloudwatch_event_rule.tick[0].name
  target_id = "remediation"
  arn       = aws_lambda_function.pipeline["remediation"].arn
}

resource "aws_lambda_permission" "remediation_from_tick" {
  count         = local.processor_count * local.remediation_count
  statement_id  = "AllowEventBridgeTick"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.pipeline["remediation"].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.tick[0].arn
}
