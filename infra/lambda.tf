# The functions run the esbuild bundles from `npm run build` (CommonJS index.js, handler
# index.handler). nodejs22.x: AWS deprecated nodejs20.x on 2026-04-30 and provider 5.100 accepts
# nothing newer; the bundles target node20 so they run on both. arm64 costs about 20% less.

locals {
  lambda_runtime       = "nodejs22.x"
  lambda_architectures = ["arm64"]

  # The pipeline's functions, one entry each while enabled. Each gets its role (iam.tf), its policy
  # (the policy document of its own concern), the function and, when it is invoked asynchronously,
  # its retry and dead-letter settings: one resource of each kind for all of them.
  lambda_functions = merge(
    local.processor_count == 1 ? {
      processor = {
        description      = "cloud-observability: parse log lines, detect anomalies, publish alerts"
        role_description = "cloud-observability processor Lambda"
        policy           = data.aws_iam_policy_document.pipeline_lambda["processor"].json
        function_name    = local.processor_function_name
        zip              = local.processor_zip
        memory_mb        = var.processor_memory_mb
        timeout_s        = var.processor_timeout_s
        async            = true
        # Unset by default (null: no reservation), so accounts whose concurrency quota is 10 can
        # deploy. Concurrent copies are then ordered by the state's conditional writes: a copy that
        # loses the race redoes its batch on the winner's state and publishes nothing it decided
        # before (the outbox). 1 serialises the copies instead, so no work is redone (docs/deploy.md).
        reserved_concurrency = var.processor_reserved_concurrency
        environment = merge(
          {
            ALERT_TOPIC_ARN = local.topic_arn
            # Notifications the outbox gives up on (full, or refused by SNS) go here in full.
            DEAD_LETTER_QUEUE_URL = aws_sqs_queue.async_dlq[0].url
            # Not read by the handler: it names the source for whoever inspects the function.
            LOG_GROUP_NAME = local.source_log_group_name
          },
          var.enable_state_table ? { STATE_TABLE_NAME = local.table_name } : {},
          var.pipeline_config != "" ? { PIPELINE_CONFIG = jsonencode(local.pipeline_config) } : {},
          local.history_environment,
          local.slack_environment,
          local.email_environment,
        )
      }
    } : {},
    local.remediation_count == 1 ? {
      remediation = {
        description          = "cloud-observability: guarded remediation of alerts, with an audit trail"
        role_description     = "cloud-observability remediation Lambda"
        policy               = data.aws_iam_policy_document.pipeline_lambda["remediation"].json
        function_name        = local.remediation_function_name
        zip                  = local.remediation_zip
        memory_mb            = 256
        timeout_s            = 30
        async                = true
        reserved_concurrency = null
        environment = merge(
          { PIPELINE_CONFIG = jsonencode(local.remediation_pipeline_config) },
          var.enable_state_table ? { STATE_TABLE_NAME = local.table_name } : {},
        )
      }
    } : {},
    local.kinesis_count == 1 ? {
      router = {
        description          = "cloud-observability: re-key log lines by service for the processor's shards"
        role_description     = "cloud-observability router Lambda: log stream to service stream"
        policy               = data.aws_iam_policy_document.pipeline_lambda["router"].json
        function_name        = local.router_function_name
        zip                  = local.router_zip
        memory_mb            = 256
        timeout_s            = 60
        async                = false
        reserved_concurrency = null
        environment          = { SERVICE_STREAM_NAME = local.service_stream_name }
      }
    } : {},
  )
}

resource "aws_lambda_function" "pipeline" {
  for_each         = local.lambda_functions
  function_name    = each.value.function_name
  description      = each.value.description
  role             = aws_iam_role.lambda[each.key].arn
  runtime          = local.lambda_runtime
  architectures    = local.lambda_architectures
  handler          = "index.handler"
  filename         = each.value.zip
  source_code_hash = filebase64sha256(each.value.zip)
  memory_size      = each.value.memory_mb
  timeout          = each.value.timeout_s

  reserved_concurrent_executions = each.value.reserved_concurrency

  environment {
    # The zips carry source maps: stack traces in TypeScript terms.
    # The processor's young generation may grow to 32 MB semi-spaces: short-lived parse and window
    # objects then die young instead of being promoted, so full collections are rarer and shorter
    # (at 1,000 services with ML the longest event fell from up to 90 ms to under 40 ms;
    # docs/benchmarks.md, `npm run bench -- ml`, which runs under the same flag).
    variables = merge(each.value.environment, {
      NODE_OPTIONS = each.key == "processor" ? "--enable-source-maps --max-semi-space-size=32" : "--enable-source-maps"
    })
  }

  depends_on = [
    aws_cloudwatch_log_group.processor,
    aws_cloudwatch_log_group.remediation,
    aws_cloudwatch_log_group.router,
    aws_iam_role_policy.lambda,
  ]
}

# The asynchronously invoked functions: retries, then the dead-letter queue.
resource "aws_lambda_function_event_invoke_config" "pipeline" {
  for_each                     = { for name, fn in local.lambda_functions : name => fn if fn.async }
  function_name                = aws_lambda_function.pipeline[each.key].function_name
  maximum_retry_attempts       = var.async_max_retry_attempts
  maximum_event_age_in_seconds = var.async_max_event_age_s

  destination_config {
    on_failure {
      destination = aws_sqs_queue.async_dlq[0].arn
    }
  }
}

# ---------------------------------------------------------------------------------------------
# Processor: CloudWatch Logs subscription -> detectors -> SNS
# ---------------------------------------------------------------------------------------------

# Without Kinesis, the log group delivers straight to the processor (with Kinesis: kinesis.tf).
resource "aws_lambda_permission" "processor_from_logs" {
  count          = local.direct_subscription_count
  statement_id   = "AllowCloudWatchLogsSubscription"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.pipeline["processor"].function_name
  principal      = "logs.amazonaws.com"
  source_arn     = "${local.source_log_arn}:*"
  source_account = local.account_id
}

resource "aws_cloudwatch_log_subscription_filter" "processor" {
  count           = local.direct_subscription_count
  name            = "${var.name_prefix}-processor"
  log_group_name  = var.processor_source_log_group_name != "" ? var.processor_source_log_group_name : aws_cloudwatch_log_group.generator.name
  filter_pattern  = var.processor_filter_pattern
  destination_arn = aws_lambda_function.pipeline["processor"].arn

  depends_on = [aws_lambda_permission.processor_from_logs]
}

# Extra log groups of your own (processor_extra_log_groups): one permission per group, scoped to that
# group's ARN, and one subscription filter each, so the processor is invoked by exactly those groups.
resource "aws_lambda_permission" "processor_from_extra_logs" {
  for_each       = local.direct_subscription_count == 1 ? toset(var.processor_extra_log_groups) : toset([])
  statement_id   = "AllowLogs-${substr(sha1(each.value), 0, 16)}"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.pipeline["processor"].function_name
  principal      = "logs.amazonaws.com"
  source_arn     = "${local.log_group_arn_prefix}${each.value}:*"
  source_account = local.account_id
}

resource "aws_cloudwatch_log_subscription_filter" "processor_extra" {
  for_each        = local.direct_subscription_count == 1 ? toset(var.processor_extra_log_groups) : toset([])
  name            = "${var.name_prefix}-processor"
  log_group_name  = each.value
  filter_pattern  = var.processor_filter_pattern
  destination_arn = aws_lambda_function.pipeline["processor"].arn

  depends_on = [aws_lambda_permission.processor_from_extra_logs]
}

# ---------------------------------------------------------------------------------------------
# Remediation: SNS alert topic -> guardrails -> actions, audit trail
# ---------------------------------------------------------------------------------------------

resource "aws_lambda_permission" "remediation_from_sns" {
  count         = local.remediation_count
  statement_id  = "AllowAlertTopic"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.pipeline["remediation"].function_name
  principal     = "sns.amazonaws.com"
  source_arn    = aws_sns_topic.alerts[0].arn
}
