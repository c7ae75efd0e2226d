# `terraform test` with a mocked AWS provider: the policy and variable checks need no endpoint and
# no credentials, so they run in seconds (`cd infra && terraform init && terraform test`, or
# `npm run test:infra`). The full apply, re-plan and destroy against moto_server stays in
# tests/infra/terraform.test.ts, which also checks the rendered IAM policy documents (a mock cannot
# render them).

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws", dns_suffix = "amazonaws.com" }
  }
  mock_data "aws_ami" {
    defaults = { id = "ami-0123456789abcdef0" }
  }
  mock_data "aws_ec2_instance_type_offerings" {
    defaults = { locations = ["us-east-1b", "us-east-1a"] }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

variables {
  ssh_allowed_cidr   = "203.0.113.7/32"
  dist_dir           = "tests/fixtures/bundles"
  enable_remediation = true
  alert_email        = "oncall@example.com"
}

run "ssh_is_open_only_to_the_operator" {
  command = plan

  assert {
    condition     = length(aws_security_group.host[0].ingress) == 1
    error_message = "the host security group must have exactly one inbound rule"
  }
  assert {
    condition     = alltrue([for rule in aws_security_group.host[0].ingress : rule.from_port == 22 && rule.to_port == 22 && rule.protocol == "tcp" && rule.cidr_blocks == tolist(["203.0.113.7/32"])])
    error_message = "inbound SSH must come from ssh_allowed_cidr only"
  }
  assert {
    condition     = alltrue([for rule in aws_security_group.host[0].ingress : !contains(rule.cidr_blocks, "0.0.0.0/0") && !contains(coalesce(rule.ipv6_cidr_blocks, []), "::/0")])
    error_message = "nothing may be open to the world inbound"
  }
}

run "storage_and_messaging_are_encrypted_and_the_host_requires_imdsv2" {
  command = plan

  assert {
    condition     = aws_instance.generator[0].root_block_device[0].encrypted && aws_instance.generator[0].metadata_options[0].http_tokens == "required" && aws_instance.generator[0].metadata_options[0].http_put_response_hop_limit == 1
    error_message = "the host must have an encrypted root volume and require IMDSv2 with hop limit 1"
  }
  assert {
    condition     = aws_sns_topic.alerts[0].kms_master_key_id == "alias/aws/sns"
    error_message = "the alert topic must be encrypted"
  }
  assert {
    condition     = aws_dynamodb_table.state[0].server_side_encryption[0].enabled && aws_dynamodb_table.state[0].ttl[0].enabled && aws_dynamodb_table.state[0].ttl[0].attribute_name == "expires_at"
    error_message = "the state table must be encrypted with TTL on expires_at"
  }
  assert {
    condition     = aws_sqs_queue.async_dlq[0].sqs_managed_sse_enabled
    error_message = "the dead-letter queue must be encrypted"
  }
  assert {
    condition     = length(aws_s3_bucket_server_side_encryption_configuration.artifacts) == length(aws_s3_bucket.artifacts)
    error_message = "every bucket must have server-side encryption"
  }
  assert {
    condition     = alltrue([for group in [aws_cloudwatch_log_group.generator, aws_cloudwatch_log_group.processor[0], aws_cloudwatch_log_group.remediation[0]] : group.retention_in_days == 14])
    error_message = "every log group keeps log_retention_days (14 by default)"
  }
}

run "lambdas_run_node22_with_dead_letter_destinations" {
  command = plan

  assert {
    condition     = aws_lambda_function.processor[0].runtime == "nodejs22.x" && aws_lambda_function.remediation[0].runtime == "nodejs22.x"
    error_message = "both functions run nodejs22.x"
  }
  assert {
    condition     = aws_lambda_function.processor[0].handler == "index.handler" && aws_lambda_function.remediation[0].handler == "index.handler"
    error_message = "both functions use the bundles' index.handler"
  }
  assert {
    condition     = aws_lambda_function.processor[0].reserved_concurrent_executions == 1
    error_message = "the processor is serialised by default"
  }
  assert {
    condition     = aws_lambda_function.processor[0].environment[0].variables["STATE_TABLE_NAME"] == "cloud-observability-state" && aws_lambda_function.processor[0].environment[0].variables["NODE_OPTIONS"] == "--enable-source-maps"
    error_message = "the processor gets the state table and source maps"
  }
  assert {
    condition     = jsondecode(aws_lambda_function.remediation[0].environment[0].variables["PIPELINE_CONFIG"]) == { remediation = { dry_run = true } }
    error_message = "remediation_dry_run (default true) reaches the function as remediation.dry_run"
  }
  assert {
    condition     = alltrue([for config in [aws_lambda_function_event_invoke_config.processor[0], aws_lambda_function_event_invoke_config.remediation[0]] : config.maximum_retry_attempts == 2 && length(config.destination_config[0].on_failure) == 1])
    error_message = "failed asynchronous invocations retry twice, then go to the dead-letter queue"
  }
}

run "remediation_can_be_switched_to_act" {
  command = plan

  variables {
    remediation_dry_run = false
  }

  assert {
    condition     = jsondecode(aws_lambda_function.remediation[0].environment[0].variables["PIPELINE_CONFIG"]) == { remediation = { dry_run = false } }
    error_message = "remediation_dry_run = false reaches the function"
  }
}

run "optional_parts_off_create_nothing_of_theirs" {
  command = plan

  variables {
    enable_generator_host = false
    enable_remediation    = false
    alert_email           = ""
  }

  assert {
    condition     = length(aws_instance.generator) == 0 && length(aws_vpc.main) == 0 && length(aws_security_group.host) == 0
    error_message = "no host, no network"
  }
  assert {
    condition     = length(aws_lambda_function.remediation) == 0 && length(aws_sns_topic_subscription.remediation) == 0 && length(aws_sns_topic_subscription.email) == 0
    error_message = "no remediation function and no subscriptions"
  }
}

run "refuses_ssh_open_to_the_world_and_contradictory_switches" {
  command = plan

  variables {
    ssh_allowed_cidr   = "0.0.0.0/0"
    enable_alert_topic = false
    enable_remediation = true
    log_retention_days = 10
    alert_email        = "not-an-email"
  }

  expect_failures = [
    var.ssh_allowed_cidr,
    var.enable_remediation,
    var.enable_processor,
    var.log_retention_days,
    var.alert_email,
  ]
}

run "refuses_malformed_names_and_numbers" {
  command = plan

  variables {
    ssh_allowed_cidr               = "203.0.113.7/24"
    name_prefix                    = "Bad_Prefix"
    aws_region                     = "moon-1"
    processor_reserved_concurrency = 0
    processor_timeout_s            = 1000
    pipeline_config                = "[1, 2]"
    async_max_retry_attempts       = 5
  }

  expect_failures = [
    var.ssh_allowed_cidr,
    var.name_prefix,
    var.aws_region,
    var.processor_reserved_concurrency,
    var.processor_timeout_s,
    var.pipeline_config,
    var.async_max_retry_attempts,
  ]
}
