data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = var.aws_region

  dist_dir        = startswith(var.dist_dir, "/") ? var.dist_dir : "${path.module}/${var.dist_dir}"
  generator_zip   = "${local.dist_dir}/generator.zip"
  processor_zip   = "${local.dist_dir}/processor.zip"
  remediation_zip = "${local.dist_dir}/remediation.zip"
  router_zip      = "${local.dist_dir}/router.zip"

  host_count      = var.enable_generator_host ? 1 : 0
  processor_count = var.enable_processor ? 1 : 0
  kinesis_count   = var.enable_processor && var.enable_kinesis ? 1 : 0
  # The source log group feeds either the processor directly or the Kinesis log stream.
  direct_subscription_count = local.processor_count - local.kinesis_count
  topic_count               = var.enable_alert_topic ? 1 : 0
  remediation_count         = var.enable_remediation && var.enable_alert_topic ? 1 : 0
  table_count               = var.enable_state_table ? 1 : 0
  dlq_count                 = var.enable_processor || local.remediation_count == 1 ? 1 : 0

  # Names are fixed up front, and ARNs are built from them rather than read back from the created
  # resources, so every IAM policy is fully known at plan time: `terraform plan` shows the exact
  # permissions before anything exists, and the policy tests check them on the plan.
  processor_function_name   = "${var.name_prefix}-processor"
  remediation_function_name = "${var.name_prefix}-remediation"
  topic_name                = "${var.name_prefix}-alerts"
  table_name                = "${var.name_prefix}-state"
  dlq_name                  = "${var.name_prefix}-async-dlq"
  # Bucket names are global: the account and region make this one unique without a random suffix.
  artifact_bucket_name = "${var.name_prefix}-${local.account_id}-${local.region}"
  generator_bundle_key = "bundles/generator.zip"

  source_log_group_name = var.processor_source_log_group_name != "" ? var.processor_source_log_group_name : var.log_group_name

  log_group_arn_prefix  = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:"
  generator_log_arn     = "${local.log_group_arn_prefix}${var.log_group_name}"
  source_log_arn        = "${local.log_group_arn_prefix}${local.source_log_group_name}"
  processor_own_log_arn = "${local.log_group_arn_prefix}/aws/lambda/${local.processor_function_name}"
  remediation_log_arn   = "${local.log_group_arn_prefix}/aws/lambda/${local.remediation_function_name}"
  topic_arn             = "arn:${local.partition}:sns:${local.region}:${local.account_id}:${local.topic_name}"
  table_arn             = "arn:${local.partition}:dynamodb:${local.region}:${local.account_id}:table/${local.table_name}"
  dlq_arn               = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.dlq_name}"
  processor_role_arn    = "arn:${local.partition}:iam::${local.account_id}:role/${var.name_prefix}-processor"

  router_function_name = "${var.name_prefix}-router"
  log_stream_name      = "${var.name_prefix}-logs"
  service_stream_name  = "${var.name_prefix}-services"
  kinesis_arn_prefix   = "arn:${local.partition}:kinesis:${local.region}:${local.account_id}:stream/"
  log_stream_arn       = "${local.kinesis_arn_prefix}${local.log_stream_name}"
  service_stream_arn   = "${local.kinesis_arn_prefix}${local.service_stream_name}"
  router_log_arn       = "${local.log_group_arn_prefix}/aws/lambda/${local.router_function_name}"
  # What a Lambda event source mapping needs to read a stream (no enhanced fan-out).
  stream_read_actions  = ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"]
  generator_bundle_arn = "arn:${local.partition}:s3:::${local.artifact_bucket_name}/${local.generator_bundle_key}"

  # The DynamoDB item attribute holding the expiry (epoch seconds) that TTL deletes on.
  state_ttl_attribute = "expires_at"
  # The only calls functions/aws/state.ts makes.
  state_table_actions = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:BatchGetItem"]

  # PIPELINE_CONFIG is merged over the defaults by the functions, so a partial document is enough.
  pipeline_config = var.pipeline_config != "" ? jsondecode(var.pipeline_config) : {}
  remediation_pipeline_config = merge(local.pipeline_config, {
    remediation = merge(try(local.pipeline_config.remediation, {}), { dry_run = var.remediation_dry_run })
  })
}
