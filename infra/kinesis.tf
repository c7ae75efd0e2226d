# Scale-out (enable_kinesis): log group -> subscription filter -> log stream -> router Lambda ->
# service stream (partition key = service) -> processor, one invocation at a time per shard.
# Every line of a service lands on one shard, so its windows see it in order; state is keyed by
# service (functions/processor/kinesis.ts), so whichever processor owns the shard can load it.

# The log stream (log group -> router) and the service stream (router -> processor), alike.
resource "aws_kinesis_stream" "pipeline" {
  for_each         = local.kinesis_count == 1 ? { logs = local.log_stream_name, services = local.service_stream_name } : {}
  name             = each.value
  shard_count      = var.kinesis_shard_count
  retention_period = 24
  encryption_type  = "KMS"
  kms_key_id       = "alias/aws/kinesis"

  stream_mode_details {
    stream_mode = "PROVISIONED"
  }

  # The default tags are set at creation; moto_server drops them there, and a re-plan would
  # otherwise never settle against it.
  lifecycle {
    ignore_changes = [tags_all]
  }
}

# CloudWatch Logs writes to the log stream with a role of its own.
data "aws_iam_policy_document" "logs_assume" {
  count = local.kinesis_count

  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["logs.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "logs_to_kinesis" {
  count              = local.kinesis_count
  name               = "${var.name_prefix}-logs-to-kinesis"
  description        = "cloud-observability: CloudWatch Logs subscription into the log stream"
  assume_role_policy = data.aws_iam_policy_document.logs_assume[0].json
}

data "aws_iam_policy_document" "logs_to_kinesis" {
  count = local.kinesis_count

  statement {
    sid       = "PutIntoLogStream"
    actions   = ["kinesis:PutRecord"]
    resources = [local.log_stream_arn]
  }
}

resource "aws_iam_role_policy" "logs_to_kinesis" {
  count  = local.kinesis_count
  name   = "logs-to-kinesis"
  role   = aws_iam_role.logs_to_kinesis[0].id
  policy = data.aws_iam_policy_document.logs_to_kinesis[0].json
}

resource "aws_cloudwatch_log_subscription_filter" "kinesis" {
  count           = local.kinesis_count
  name            = "${var.name_prefix}-kinesis"
  log_group_name  = var.processor_source_log_group_name != "" ? var.processor_source_log_group_name : aws_cloudwatch_log_group.generator.name
  filter_pattern  = var.processor_filter_pattern
  destination_arn = aws_kinesis_stream.pipeline["logs"].arn
  role_arn        = aws_iam_role.logs_to_kinesis[0].arn
  # distribution stays ByLogStream: one source log stream's lines keep their order on one shard.

  depends_on = [aws_iam_role_policy.logs_to_kinesis]
}

# ---------------------------------------------------------------------------------------------
# Router: log stream -> service stream, re-keyed by service
# ---------------------------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "router" {
  count             = local.kinesis_count
  name              = "/aws/lambda/${local.router_function_name}"
  retention_in_days = var.log_retention_days
}

# Its policy: data.aws_iam_policy_document.pipeline_lambda["router"] (iam.tf).

# Both mappings: a failing record is retried alone (bisect, ReportBatchItemFailures) and, after its
# retries, described in the dead-letter queue; the shard moves on.
resource "aws_lambda_event_source_mapping" "pipeline" {
  for_each = local.kinesis_count == 1 ? {
    router    = { function = aws_lambda_function.pipeline["router"].arn, stream = "logs" }
    processor = { function = aws_lambda_function.pipeline["processor"].arn, stream = "services" }
  } : {}
  function_name                      = each.value.function
  event_source_arn                   = aws_kinesis_stream.pipeline[each.value.stream].arn
  starting_position                  = "LATEST"
  batch_size                         = 100
  maximum_batching_window_in_seconds = 1
  bisect_batch_on_function_error     = true
  maximum_retry_attempts             = 10
  function_response_types            = ["ReportBatchItemFailures"]

  destination_config {
    on_failure {
      destination_arn = aws_sqs_queue.async_dlq[0].arn
    }
  }

  depends_on = [aws_iam_role_policy.lambda]
}
