# Alert state (processor) plus cooldowns and idempotency keys (remediation) in one on-demand table.
# Items carry an epoch-seconds `expires_at`; DynamoDB's TTL deletes them for free after that.
resource "aws_dynamodb_table" "state" {
  count        = local.table_count
  name         = local.table_name
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

  ttl {
    attribute_name = local.state_ttl_attribute
    enabled        = true
  }

  server_side_encryption {
    enabled = true # AWS-managed KMS key (aws/dynamodb) rather than the default AWS-owned key
  }

  point_in_time_recovery {
    enabled = true
  }
}
