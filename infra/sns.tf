# The topic is encrypted with a key of its own rather than the AWS-managed aws/sns key: CloudWatch
# alarms (alarms.tf) cannot publish to a topic under aws/sns, whose key policy nobody can extend.
# The key costs about 1 USD a month; its policy names exactly who may encrypt to the topic.
resource "aws_kms_key" "alerts" {
  count                   = local.topic_count
  description             = "${var.name_prefix}: encrypts the alert topic"
  enable_key_rotation     = true
  deletion_window_in_days = 7
  policy                  = data.aws_iam_policy_document.alerts_key[0].json
}

resource "aws_kms_alias" "alerts" {
  count         = local.topic_count
  name          = "alias/${var.name_prefix}-alerts"
  target_key_id = aws_kms_key.alerts[0].key_id
}

data "aws_iam_policy_document" "alerts_key" {
  count = local.topic_count

  # Without this statement the key could not be managed (or deleted) by the account at all.
  statement {
    sid       = "AccountAdministersTheKey"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  # Publishing to an encrypted topic needs a data key; these are the topic's publishers.
  dynamic "statement" {
    for_each = var.enable_processor ? [1] : []
    content {
      sid       = "ProcessorPublishesAlerts"
      actions   = ["kms:GenerateDataKey*", "kms:Decrypt"]
      resources = ["*"]
      principals {
        type        = "AWS"
        identifiers = [local.processor_role_arn]
      }
    }
  }

  dynamic "statement" {
    for_each = var.enable_pipeline_alarms ? [1] : []
    content {
      sid       = "PipelineAlarmsPublish"
      actions   = ["kms:GenerateDataKey*", "kms:Decrypt"]
      resources = ["*"]
      principals {
        type        = "Service"
        identifiers = ["cloudwatch.amazonaws.com"]
      }
      condition {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [local.account_id]
      }
    }
  }
}

resource "aws_sns_topic" "alerts" {
  count             = local.topic_count
  name              = local.topic_name
  kms_master_key_id = aws_kms_key.alerts[0].arn

  # The key policy names the processor role, which must exist first.
  depends_on = [aws_iam_role.lambda]
}

# Who may publish: the processor, and this account's CloudWatch alarms (alarms.tf). The explicit
# deny matters: in the same account an IAM identity policy alone would otherwise let any user or
# role publish a forged alert that remediation then acts on.
data "aws_iam_policy_document" "alerts_topic" {
  count = local.topic_count

  statement {
    sid = "AccountManagesTheTopic"
    actions = [
      "sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:AddPermission", "sns:RemovePermission",
      "sns:DeleteTopic", "sns:Subscribe", "sns:ListSubscriptionsByTopic",
    ]
    resources = [local.topic_arn]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  dynamic "statement" {
    for_each = var.enable_processor ? [1] : []
    content {
      sid       = "ProcessorPublishesAlerts"
      actions   = ["sns:Publish"]
      resources = [local.topic_arn]
      principals {
        type        = "AWS"
        identifiers = [local.processor_role_arn]
      }
    }
  }

  dynamic "statement" {
    for_each = var.enable_pipeline_alarms ? [1] : []
    content {
      sid       = "PipelineAlarmsPublish"
      actions   = ["sns:Publish"]
      resources = [local.topic_arn]
      principals {
        type        = "Service"
        identifiers = ["cloudwatch.amazonaws.com"]
      }
      condition {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [local.account_id]
      }
    }
  }

  statement {
    sid       = "NobodyElsePublishes"
    effect    = "Deny"
    actions   = ["sns:Publish"]
    resources = [local.topic_arn]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    # Both must hold to deny: not the processor role, and not the CloudWatch alarm service.
    condition {
      test     = "ArnNotEquals"
      variable = "aws:PrincipalArn"
      values   = [local.processor_role_arn]
    }
    condition {
      test     = "StringNotEquals"
      variable = "aws:PrincipalServiceName"
      values   = ["cloudwatch.amazonaws.com"]
    }
  }
}

resource "aws_sns_topic_policy" "alerts" {
  count  = local.topic_count
  arn    = aws_sns_topic.alerts[0].arn
  policy = data.aws_iam_policy_document.alerts_topic[0].json
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
  endpoint  = aws_lambda_function.pipeline["remediation"].arn

  filter_policy       = var.remediation_filter_policy != "" ? var.remediation_filter_policy : null
  filter_policy_scope = var.remediation_filter_policy != "" ? "MessageAttributes" : null

  depends_on = [aws_lambda_permission.remediation_from_sns]
}
