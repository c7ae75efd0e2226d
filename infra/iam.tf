# Least privilege: every statement names its actions and the resources (built in main.tf) it
# acts on. No wildcard actions, no "*" resources; the one exception is opt-in (Session Manager's
# channels, which AWS lets no policy scope by resource) and says so below.

data "aws_iam_policy_document" "ec2_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

# ---------------------------------------------------------------------------------------------
# Generator host
# ---------------------------------------------------------------------------------------------

resource "aws_iam_role" "host" {
  count              = local.host_count
  name               = "${var.name_prefix}-host"
  description        = "cloud-observability generator host: write its log group, read its bundle"
  assume_role_policy = data.aws_iam_policy_document.ec2_assume.json
}

data "aws_iam_policy_document" "host" {
  count = local.host_count

  statement {
    sid       = "WriteGeneratorLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [local.generator_log_arn, "${local.generator_log_arn}:log-stream:*"]
  }

  statement {
    sid       = "ReadGeneratorBundle"
    actions   = ["s3:GetObject"]
    resources = [local.generator_bundle_arn]
  }

  # Parameters under the project's own path only (/<name_prefix>/...), never the account's others.
  statement {
    sid       = "ReadProjectParameters"
    actions   = ["ssm:GetParameter", "ssm:GetParameters"]
    resources = ["arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter/${var.name_prefix}/*"]
  }

  # Session Manager (opt-in): what the SSM agent needs for a shell, in place of the managed
  # AmazonSSMManagedInstanceCore policy, whose statements all grant on "*" (ssm:GetParameter(s)
  # on every parameter included). Registration is scoped to this account's instances.
  dynamic "statement" {
    for_each = var.enable_session_manager ? [1] : []
    content {
      sid       = "SessionManagerRegistersThisInstance"
      actions   = ["ssm:UpdateInstanceInformation"]
      resources = ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:instance/*"]
    }
  }

  # The session channels. AWS defines no resource type for ssmmessages (the service authorization
  # reference lists none), so no policy can name a resource here; the condition keeps the grant
  # to sessions of this account's instances in this region. Off unless enable_session_manager.
  dynamic "statement" {
    for_each = var.enable_session_manager ? [1] : []
    content {
      sid = "SessionManagerChannels"
      actions = [
        "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel",
      ]
      resources = ["*"]
      condition {
        test     = "ArnLike"
        variable = "ec2:SourceInstanceARN"
        values   = ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:instance/*"]
      }
    }
  }
}

resource "aws_iam_role_policy" "host" {
  count  = local.host_count
  name   = "generator-host"
  role   = aws_iam_role.host[0].id
  policy = data.aws_iam_policy_document.host[0].json
}

resource "aws_iam_instance_profile" "host" {
  count = local.host_count
  name  = "${var.name_prefix}-host"
  role  = aws_iam_role.host[0].name
}

# ---------------------------------------------------------------------------------------------
# Processor, remediation and router Lambdas: one policy shape
# ---------------------------------------------------------------------------------------------

# Each writes its own log group, may use the state table and sends failed invocations to the
# dead-letter queue; `grants` and `stream_grants` are what its own concern adds. Statement order:
# own logs, grants, state table, dead-letter queue, stream grants.
locals {
  pipeline_lambda_policies = merge(
    local.processor_count == 1 ? {
      processor = {
        log_arn  = local.processor_own_log_arn
        logs_sid = "OwnLogs"
        grants = var.enable_alert_topic ? [
          { sid = "PublishAlerts", actions = ["sns:Publish"], resources = [local.topic_arn] },
        ] : []
        state_sid = "AlertState"
        dlq_sid   = "FailedInvocationsToDeadLetterQueue"
        stream_grants = var.enable_kinesis ? [
          { sid = "ReadServiceStream", actions = local.stream_read_actions, resources = [local.service_stream_arn] },
        ] : []
      }
    } : {},
    local.remediation_count == 1 ? {
      remediation = {
        log_arn       = local.remediation_log_arn
        logs_sid      = "OwnLogsWithAuditTrail"
        grants        = []
        state_sid     = "CooldownsIdempotencyAndAudit"
        dlq_sid       = "FailedInvocationsToDeadLetterQueue"
        stream_grants = []
      }
    } : {},
    # Router: log stream -> service stream, re-keyed by service (kinesis.tf). No state.
    local.kinesis_count == 1 ? {
      router = {
        log_arn  = local.router_log_arn
        logs_sid = "OwnLogs"
        grants = [
          { sid = "ReadLogStream", actions = local.stream_read_actions, resources = [local.log_stream_arn] },
          { sid = "WriteServiceStream", actions = ["kinesis:PutRecords"], resources = [local.service_stream_arn] },
        ]
        state_sid     = null
        dlq_sid       = "FailedBatchesToDeadLetterQueue"
        stream_grants = []
      }
    } : {},
  )

  pipeline_lambda_statements = {
    for name, p in local.pipeline_lambda_policies : name => concat(
      [{ sid = p.logs_sid, actions = ["logs:CreateLogStream", "logs:PutLogEvents"], resources = ["${p.log_arn}:*"] }],
      p.grants,
      var.enable_state_table && p.state_sid != null ? [
        { sid = p.state_sid, actions = local.state_table_actions, resources = [local.table_arn] },
      ] : [],
      [{ sid = p.dlq_sid, actions = ["sqs:SendMessage"], resources = [local.dlq_arn] }],
      p.stream_grants,
    )
  }
}

data "aws_iam_policy_document" "pipeline_lambda" {
  for_each = local.pipeline_lambda_statements

  dynamic "statement" {
    for_each = each.value
    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = statement.value.resources
    }
  }
}

# ---------------------------------------------------------------------------------------------
# Every pipeline Lambda (lambda.tf): its own role, with the policy of its own concern
# ---------------------------------------------------------------------------------------------

resource "aws_iam_role" "lambda" {
  for_each           = local.lambda_functions
  name               = "${var.name_prefix}-${each.key}"
  description        = each.value.role_description
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

resource "aws_iam_role_policy" "lambda" {
  for_each = local.lambda_functions
  name     = each.key
  role     = aws_iam_role.lambda[each.key].id
  policy   = each.value.policy
}
