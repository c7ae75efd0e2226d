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
# Processor Lambda
# ---------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "processor" {
  count = local.processor_count

  statement {
    sid       = "OwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.processor_own_log_arn}:*"]
  }

  dynamic "statement" {
    for_each = var.enable_alert_topic ? [1] : []
    content {
      sid       = "PublishAlerts"
      actions   = ["sns:Publish"]
      resources = [local.topic_arn]
    }
  }

  dynamic "statement" {
    for_each = var.enable_state_table ? [1] : []
    content {
      sid       = "AlertState"
      actions   = local.state_table_actions
      resources = [local.table_arn]
    }
  }

  statement {
    sid       = "FailedInvocationsToDeadLetterQueue"
    actions   = ["sqs:SendMessage"]
    resources = [local.dlq_arn]
  }

  dynamic "statement" {
    for_each = var.enable_kinesis ? [1] : []
    content {
      sid       = "ReadServiceStream"
      actions   = local.stream_read_actions
      resources = [local.service_stream_arn]
    }
  }
}


# ---------------------------------------------------------------------------------------------
# Remediation Lambda
# ---------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "remediation" {
  count = local.remediation_count

  statement {
    sid       = "OwnLogsWithAuditTrail"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.remediation_log_arn}:*"]
  }

  dynamic "statement" {
    for_each = var.enable_state_table ? [1] : []
    content {
      sid       = "CooldownsIdempotencyAndAudit"
      actions   = local.state_table_actions
      resources = [local.table_arn]
    }
  }

  statement {
    sid       = "FailedInvocationsToDeadLetterQueue"
    actions   = ["sqs:SendMessage"]
    resources = [local.dlq_arn]
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
