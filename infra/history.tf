# Alert history (functions/aws/history.ts): one on-demand table, partitioned by service and day
# (pk `alerts#<service>#<day>`), with an index by alert fingerprint and TTL on `expires_at`. Incident
# timelines (pk `incident#<id>`) and run-time silences (pk `silences`) share it.

variable "enable_history_table" {
  type        = bool
  description = "Create the DynamoDB alert-history table; the processor records alerts, notifications and silenced alerts into it and reads run-time silences from it (`npm run history`, `npm run silence` with --table)."
  default     = true
}

variable "history_retention_days" {
  type        = number
  description = "Days an alert-history item is kept before DynamoDB's TTL deletes it."
  default     = 90

  validation {
    condition     = var.history_retention_days >= 1 && var.history_retention_days <= 3650
    error_message = "history_retention_days must be between 1 and 3650."
  }
}

locals {
  history_count      = var.enable_history_table ? 1 : 0
  history_table_name = "${var.name_prefix}-history"
  history_table_arn  = "arn:${local.partition}:dynamodb:${local.region}:${local.account_id}:table/${local.history_table_name}"
  # The only calls functions/aws/history.ts makes.
  history_table_actions = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"]
  history_environment = var.enable_history_table ? {
    HISTORY_TABLE_NAME     = local.history_table_name
    HISTORY_RETENTION_DAYS = tostring(var.history_retention_days)
  } : {}
}

resource "aws_dynamodb_table" "history" {
  count        = local.history_count
  name         = local.history_table_name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"
  range_key    = "sk"

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "S"
  }

  attribute {
    name = "fingerprint"
    type = "S"
  }

  attribute {
    name = "starts_at"
    type = "N"
  }

  global_secondary_index {
    name            = "by_fingerprint"
    hash_key        = "fingerprint"
    range_key       = "starts_at"
    projection_type = "ALL"
  }

  ttl {
    attribute_name = local.state_ttl_attribute
    enabled        = true
  }

  server_side_encryption {
    enabled = true
  }

  point_in_time_recovery {
    enabled = true
  }
}

data "aws_iam_policy_document" "processor_history" {
  count = local.processor_count * local.history_count

  statement {
    sid       = "History"
    actions   = local.history_table_actions
    resources = [local.history_table_arn, "${local.history_table_arn}/index/by_fingerprint"]
  }
}

resource "aws_iam_role_policy" "processor_history" {
  count  = local.processor_count * local.history_count
  name   = "processor-history"
  role   = aws_iam_role.lambda["processor"].id
  policy = data.aws_iam_policy_document.processor_history[0].json
}

output "history_table_name" {
  description = "The alert-history table (npm run history -- --table NAME)."
  value       = one(aws_dynamodb_table.history[*].name)
}
