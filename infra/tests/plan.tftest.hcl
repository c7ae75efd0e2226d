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

  # The key's ARN is known only once it exists; give it one at plan time.
  override_resource {
    target          = aws_kms_key.alerts
    override_during = plan
    values          = { arn = "arn:aws:kms:us-east-1:123456789012:key/0f0e0d0c-0b0a-0908-0706-050403020100" }
  }

  assert {
    condition     = aws_instance.generator[0].root_block_device[0].encrypted && aws_instance.generator[0].metadata_options[0].http_tokens == "required" && aws_instance.generator[0].metadata_options[0].http_put_response_hop_limit == 1
    error_message = "the host must have an encrypted root volume and require IMDSv2 with hop limit 1"
  }
  assert {
    condition     = aws_sns_topic.alerts[0].kms_master_key_id == aws_kms_key.alerts[0].arn && aws_kms_key.alerts[0].enable_key_rotation
    error_message = "the alert topic must be encrypted with its own rotating key (CloudWatch alarms cannot publish under aws/sns)"
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
    condition     = aws_lambda_function.pipeline["processor"].runtime == "nodejs22.x" && aws_lambda_function.pipeline["remediation"].runtime == "nodejs22.x"
    error_message = "both functions run nodejs22.x"
  }
  assert {
    condition     = aws_lambda_function.pipeline["processor"].handler == "index.handler" && aws_lambda_function.pipeline["remediation"].handler == "index.handler"
    error_message = "both functions use the bundles' index.handler"
  }
  assert {
    condition     = coalesce(aws_lambda_function.pipeline["processor"].reserved_concurrent_executions, -1) == -1
    error_message = "the processor reserves no concurrency by default (accounts with a quota of 10 must deploy); the conditional writes order concurrent copies"
  }
  assert {
    condition     = contains(keys(aws_lambda_function.pipeline["processor"].environment[0].variables), "DEAD_LETTER_QUEUE_URL")
    error_message = "the processor sends what its outbox gives up on to the dead-letter queue"
  }
  assert {
    condition     = aws_lambda_function.pipeline["processor"].environment[0].variables["STATE_TABLE_NAME"] == "cloud-observability-state" && aws_lambda_function.pipeline["processor"].environment[0].variables["NODE_OPTIONS"] == "--enable-source-maps --max-semi-space-size=32"
    error_message = "the processor gets the state table and source maps"
  }
  assert {
    condition     = jsondecode(aws_lambda_function.pipeline["remediation"].environment[0].variables["PIPELINE_CONFIG"]) == { remediation = { dry_run = true } }
    error_message = "remediation_dry_run (default true) reaches the function as remediation.dry_run"
  }
  assert {
    condition     = alltrue([for config in [aws_lambda_function_event_invoke_config.pipeline["processor"], aws_lambda_function_event_invoke_config.pipeline["remediation"]] : config.maximum_retry_attempts == 2 && length(config.destination_config[0].on_failure) == 1])
    error_message = "failed asynchronous invocations retry twice, then go to the dead-letter queue"
  }
}

run "a_one_minute_tick_invokes_the_processor_and_remediation" {
  command = plan

  assert {
    condition     = aws_cloudwatch_event_rule.tick[0].schedule_expression == "rate(1 minute)" && aws_cloudwatch_event_rule.tick[0].name == "cloud-observability-tick"
    error_message = "the tick rule runs every minute"
  }
  assert {
    condition     = aws_cloudwatch_event_target.processor_tick[0].rule == "cloud-observability-tick" && aws_cloudwatch_event_target.remediation_tick[0].rule == "cloud-observability-tick"
    error_message = "the tick targets the processor and the remediation function"
  }
  assert {
    condition     = alltrue([for permission in [aws_lambda_permission.processor_from_tick[0], aws_lambda_permission.remediation_from_tick[0]] : permission.principal == "events.amazonaws.com" && permission.action == "lambda:InvokeFunction"])
    error_message = "EventBridge may invoke both functions"
  }
}

run "remediation_can_be_switched_to_act" {
  command = plan

  variables {
    remediation_dry_run = false
  }

  assert {
    condition     = jsondecode(aws_lambda_function.pipeline["remediation"].environment[0].variables["PIPELINE_CONFIG"]) == { remediation = { dry_run = false } }
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
    condition     = !contains(keys(aws_lambda_function.pipeline), "remediation") && length(aws_sns_topic_subscription.remediation) == 0 && length(aws_sns_topic_subscription.email) == 0
    error_message = "no remediation function and no subscriptions"
  }
  assert {
    condition     = length(aws_cloudwatch_event_rule.tick) == 1 && length(aws_cloudwatch_event_target.remediation_tick) == 0 && length(aws_lambda_permission.remediation_from_tick) == 0
    error_message = "without remediation the tick reaches the processor only"
  }
}

run "pipeline_alarms_publish_to_the_alert_topic_and_the_dashboard_shows_them" {
  command = plan

  assert {
    condition = toset(local.pipeline_alarm_names) == toset([
      "cloud-observability-processor-errors", "cloud-observability-processor-throttles",
      "cloud-observability-remediation-errors", "cloud-observability-dead-letters",
      "cloud-observability-outbox-stuck", "cloud-observability-no-events",
    ])
    error_message = "every pipeline alarm is created"
  }
  assert {
    condition = length(aws_cloudwatch_metric_alarm.pipeline) == 6 && alltrue([for alarm in values(aws_cloudwatch_metric_alarm.pipeline) :
    alarm.alarm_actions == toset([local.topic_arn]) && alarm.ok_actions == toset([local.topic_arn])])
    error_message = "every alarm publishes to the alert topic when it fires and when it clears"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.pipeline["no-events"].treat_missing_data == "breaching" && aws_cloudwatch_metric_alarm.pipeline["no-events"].evaluation_periods == 15 && aws_cloudwatch_metric_alarm.pipeline["no-events"].period == 60
    error_message = "no events for 15 minutes (missing data included) raises the no-events alarm"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.pipeline["dead-letters"].dimensions["QueueName"] == "cloud-observability-async-dlq"
    error_message = "the dead-letter alarm watches the dead-letter queue"
  }
  assert {
    condition     = strcontains(aws_cloudwatch_dashboard.pipeline[0].dashboard_body, "{CloudObservability,Function,Reason}") && strcontains(aws_cloudwatch_dashboard.pipeline[0].dashboard_body, "{CloudObservability,Function,AlertType}")
    error_message = "the dashboard breaks rejected lines down by reason and alerts by type"
  }
  assert {
    condition     = [for widget in jsondecode(aws_cloudwatch_dashboard.pipeline[0].dashboard_body).widgets : length(try(widget.properties.alarms, [])) if widget.type == "alarm"] == [6]
    error_message = "the dashboard shows the state of all six alarms"
  }
}

run "alarms_and_dashboard_can_be_turned_off" {
  command = plan

  variables {
    enable_dashboard        = false
    enable_pipeline_alarms  = false
    no_events_alarm_minutes = 0
  }

  assert {
    condition     = length(local.pipeline_alarm_names) == 0 && length(aws_cloudwatch_dashboard.pipeline) == 0
    error_message = "no alarms and no dashboard"
  }
}

run "extra_log_groups_get_one_filter_and_one_scoped_permission_each" {
  command = plan

  variables {
    processor_extra_log_groups = ["/web/nginx/access", "/hosts/auth"]
  }

  assert {
    condition     = toset(keys(aws_cloudwatch_log_subscription_filter.processor_extra)) == toset(["/web/nginx/access", "/hosts/auth"])
    error_message = "each extra log group needs exactly one subscription filter"
  }
  assert {
    condition     = alltrue([for name, filter in aws_cloudwatch_log_subscription_filter.processor_extra : filter.log_group_name == name])
    error_message = "each filter must be on its own group"
  }
  assert {
    condition = toset([for p in aws_lambda_permission.processor_from_extra_logs : p.source_arn]) == toset([
      "arn:aws:logs:us-east-1:123456789012:log-group:/web/nginx/access:*",
      "arn:aws:logs:us-east-1:123456789012:log-group:/hosts/auth:*",
    ])
    error_message = "the processor may be invoked by exactly the extra groups named, each by its own ARN"
  }
  assert {
    condition     = alltrue([for p in aws_lambda_permission.processor_from_extra_logs : p.principal == "logs.amazonaws.com" && p.source_account == "123456789012"])
    error_message = "only CloudWatch Logs of this account may invoke the processor"
  }
}

run "without_kinesis_the_log_group_feeds_the_processor_directly" {
  command = plan

  assert {
    condition     = length(aws_cloudwatch_log_subscription_filter.processor) == 1 && length(aws_lambda_permission.processor_from_logs) == 1
    error_message = "the source log group subscribes the processor"
  }
  assert {
    condition     = length(aws_kinesis_stream.pipeline) == 0 && !contains(keys(aws_lambda_function.pipeline), "router") && length(aws_lambda_event_source_mapping.pipeline) == 0
    error_message = "no streams, no router"
  }
}

run "kinesis_scale_out_routes_by_service_to_one_processor_per_shard" {
  command = plan

  variables {
    enable_kinesis                 = true
    kinesis_shard_count            = 4
    processor_reserved_concurrency = -1
  }

  assert {
    condition     = length(aws_cloudwatch_log_subscription_filter.processor) == 0 && length(aws_cloudwatch_log_subscription_filter.kinesis) == 1
    error_message = "the source log group writes to the log stream instead of invoking the processor"
  }
  assert {
    condition     = alltrue([for stream in values(aws_kinesis_stream.pipeline) : stream.shard_count == 4 && stream.encryption_type == "KMS"])
    error_message = "both streams have kinesis_shard_count shards and are encrypted"
  }
  assert {
    condition     = aws_lambda_function.pipeline["router"].environment[0].variables["SERVICE_STREAM_NAME"] == "cloud-observability-services"
    error_message = "the router writes to the service stream"
  }
  assert {
    condition = alltrue([for mapping in values(aws_lambda_event_source_mapping.pipeline) :
      mapping.bisect_batch_on_function_error && contains(mapping.function_response_types, "ReportBatchItemFailures") && length(mapping.destination_config[0].on_failure) == 1
    ])
    error_message = "a failing record is bisected out, reported alone, and finally kept by the dead-letter destination"
  }
}

run "the_instance_role_grants_no_star_resource_and_reads_only_the_projects_parameters" {
  command = plan

  assert {
    condition     = alltrue([for s in data.aws_iam_policy_document.host[0].statement : !contains(s.resources, "*")])
    error_message = "by default no statement of the instance role has a \"*\" resource"
  }
  assert {
    condition = [for s in data.aws_iam_policy_document.host[0].statement : s.resources if s.sid == "ReadProjectParameters"] == [
      toset(["arn:aws:ssm:us-east-1:123456789012:parameter/cloud-observability/*"])
    ]
    error_message = "parameters are readable under the project's path only"
  }
  assert {
    condition     = length([for s in data.aws_iam_policy_document.host[0].statement : s if startswith(coalesce(s.sid, ""), "SessionManager")]) == 0
    error_message = "Session Manager is off by default"
  }
}

run "session_manager_adds_only_the_unscopable_channel_actions" {
  command = plan

  variables {
    enable_session_manager = true
  }

  assert {
    condition     = [for s in data.aws_iam_policy_document.host[0].statement : s.sid if contains(s.resources, "*")] == ["SessionManagerChannels"]
    error_message = "the only \"*\" resource is the session channels statement"
  }
  assert {
    condition     = alltrue([for s in data.aws_iam_policy_document.host[0].statement : alltrue([for a in s.actions : startswith(a, "ssmmessages:")]) if s.sid == "SessionManagerChannels"])
    error_message = "the \"*\" statement holds ssmmessages actions only"
  }
  assert {
    condition = [for s in data.aws_iam_policy_document.host[0].statement : s.resources if s.sid == "SessionManagerRegistersThisInstance"] == [
      toset(["arn:aws:ec2:us-east-1:123456789012:instance/*"])
    ]
    error_message = "instance registration is scoped to this account's instances"
  }
}

run "refuses_a_reserved_concurrency_below_the_shard_count" {
  command = plan

  variables {
    enable_kinesis                 = true
    kinesis_shard_count            = 4
    processor_reserved_concurrency = 2
  }

  expect_failures = [var.processor_reserved_concurrency]
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
    var.enable_pipeline_alarms,
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
    no_events_alarm_minutes        = 1
    processor_extra_log_groups     = ["/ok", "bad group:*", "/ok"]
  }

  expect_failures = [
    var.ssh_allowed_cidr,
    var.name_prefix,
    var.aws_region,
    var.processor_reserved_concurrency,
    var.processor_timeout_s,
    var.pipeline_config,
    var.async_max_retry_attempts,
    var.no_events_alarm_minutes,
    var.processor_extra_log_groups,
  ]
}
