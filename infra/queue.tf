# Asynchronous invocations (CloudWatch Logs -> processor, SNS -> remediation) that still fail
# after async_max_retry_attempts land here with the request and error, for replay or inspection.
resource "aws_sqs_queue" "async_dlq" {
  count                     = local.dlq_count
  name                      = local.dlq_name
  message_retention_seconds = 1209600 # 14 days, the SQS maximum
  sqs_managed_sse_enabled   = true
}
