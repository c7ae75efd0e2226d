# The generator host writes here; the processor subscribes to it (or to
# var.processor_source_log_group_name). CloudWatch Logs encrypts every group at rest with an
# AWS-owned key; a customer-managed KMS key would add about 1 USD a month and a key policy to keep.
resource "aws_cloudwatch_log_group" "generator" {
  name              = var.log_group_name
  retention_in_days = var.log_retention_days
}

resource "aws_cloudwatch_log_group" "processor" {
  count             = local.processor_count
  name              = "/aws/lambda/${local.processor_function_name}"
  retention_in_days = var.log_retention_days
}

# Remediation writes its audit trail here (one "audit" line per record) and to the state table.
resource "aws_cloudwatch_log_group" "remediation" {
  count             = local.remediation_count
  name              = "/aws/lambda/${local.remediation_function_name}"
  retention_in_days = var.log_retention_days
}
