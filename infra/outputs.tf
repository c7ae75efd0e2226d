output "ssh_command" {
  description = "How to reach the generator host. Without ssh_public_key, use ssm_command instead."
  value = !var.enable_generator_host ? "generator host disabled (enable_generator_host = false)" : (
    var.ssh_public_key != ""
    ? "ssh -i <path to the private key of ssh_public_key> ec2-user@${aws_instance.generator[0].public_ip}"
    : var.enable_session_manager
    ? "no ssh_public_key set, use Session Manager: aws ssm start-session --region ${local.region} --target ${aws_instance.generator[0].id}"
    : "no ssh_public_key and Session Manager off (enable_session_manager = false): the host has no shell access; it needs none"
  )
}

output "ssm_command" {
  description = "Shell on the generator host through Session Manager (needs the session-manager-plugin and enable_session_manager)."
  value       = var.enable_generator_host && var.enable_session_manager ? "aws ssm start-session --region ${local.region} --target ${aws_instance.generator[0].id}" : null
}

output "instance_id" {
  description = "EC2 instance id of the generator host."
  value       = one(aws_instance.generator[*].id)
}

output "instance_public_ip" {
  description = "Public IPv4 address of the generator host."
  value       = one(aws_instance.generator[*].public_ip)
}

output "log_group_name" {
  description = "CloudWatch log group the generator writes to."
  value       = aws_cloudwatch_log_group.generator.name
}

output "processor_source_log_group_name" {
  description = "Log group the processor is subscribed to."
  value       = var.enable_processor ? local.source_log_group_name : null
}

output "alert_topic_arn" {
  description = "ARN of the SNS alert topic."
  value       = one(aws_sns_topic.alerts[*].arn)
}

output "processor_function_name" {
  description = "Name of the processor Lambda function."
  value       = try(aws_lambda_function.pipeline["processor"].function_name, null)
}

output "remediation_function_name" {
  description = "Name of the remediation Lambda function."
  value       = try(aws_lambda_function.pipeline["remediation"].function_name, null)
}

output "processor_log_group_name" {
  description = "Log group of the processor Lambda (rejections, alerts, metrics)."
  value       = one(aws_cloudwatch_log_group.processor[*].name)
}

output "remediation_log_group_name" {
  description = "Log group of the remediation Lambda, holding the audit trail (lines with \"message\":\"audit\")."
  value       = one(aws_cloudwatch_log_group.remediation[*].name)
}

output "state_table_name" {
  description = "Name of the DynamoDB state table."
  value       = one(aws_dynamodb_table.state[*].name)
}

output "dead_letter_queue_url" {
  description = "SQS queue receiving asynchronous invocations that failed every retry."
  value       = one(aws_sqs_queue.async_dlq[*].url)
}

output "dashboard_url" {
  description = "The pipeline's CloudWatch dashboard in the AWS console."
  value       = local.dashboard_count == 1 ? "https://${local.region}.console.aws.amazon.com/cloudwatch/home?region=${local.region}#dashboards:name=${local.dashboard_name}" : null
}

output "alarm_names" {
  description = "The pipeline's own health alarms (they publish to the alert topic)."
  value       = local.pipeline_alarm_names
}

output "kinesis_stream_names" {
  description = "With enable_kinesis: the log stream the log group writes to and the service stream the processor reads."
  value       = local.kinesis_count == 1 ? { logs = local.log_stream_name, services = local.service_stream_name } : null
}
