# ---------------------------------------------------------------------------------------------
# Where to deploy
# ---------------------------------------------------------------------------------------------

variable "aws_region" {
  type        = string
  description = "AWS region for every resource."
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region must look like us-east-1 or eu-west-2."
  }
}

variable "endpoint" {
  type        = string
  description = "Base URL of a local AWS emulator (for example http://127.0.0.1:5000 for moto_server). Empty (the default) means real AWS. Tests use this; you normally leave it empty."
  default     = ""

  validation {
    condition     = var.endpoint == "" || can(regex("^https?://[^/\\s]+/?$", var.endpoint))
    error_message = "endpoint must be empty or a base URL such as http://127.0.0.1:5000."
  }
}

variable "name_prefix" {
  type        = string
  description = "Prefix for every resource name, so two stacks can live in one account."
  default     = "cloud-observability"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name_prefix))
    error_message = "name_prefix must be 3-31 characters: lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "tags" {
  type        = map(string)
  description = "Extra tags added to every resource (Project and ManagedBy are always set)."
  default     = {}
}

variable "dist_dir" {
  type        = string
  description = "Directory holding generator.zip, processor.zip and remediation.zip from `npm run build`, relative to this directory or absolute."
  default     = "../dist"
}

# ---------------------------------------------------------------------------------------------
# EC2 generator host
# ---------------------------------------------------------------------------------------------

variable "enable_generator_host" {
  type        = bool
  description = "Run the EC2 host that generates simulated service logs into the log group. Turn off when the processor reads your own log group."
  default     = true
}

variable "ssh_allowed_cidr" {
  type        = string
  description = "The only IPv4 range allowed to reach the host on port 22, normally your own address as a /32 (curl -s https://checkip.amazonaws.com)."

  validation {
    condition     = can(regex("^[0-9.]+/[0-9]+$", var.ssh_allowed_cidr)) && try(cidrsubnet(var.ssh_allowed_cidr, 0, 0) == var.ssh_allowed_cidr, false)
    error_message = "ssh_allowed_cidr must be an IPv4 network in CIDR form with no host bits set, such as 203.0.113.7/32 or 198.51.100.0/24."
  }

  validation {
    condition     = !can(regex("/0$", var.ssh_allowed_cidr))
    error_message = "ssh_allowed_cidr must not open SSH to the whole internet (0.0.0.0/0 or any /0): use your own address as a /32, or Session Manager."
  }
}

variable "enable_session_manager" {
  type        = bool
  description = "Let the generator host's SSM agent open Session Manager shells (no open port, no key). Off by default: its four ssmmessages actions admit no resource scoping, so turning it on adds the instance role's only \"*\" resource (docs/deploy.md, \"Security\")."
  default     = false
}

variable "ssh_public_key" {
  type        = string
  description = "OpenSSH public key text (the contents of ~/.ssh/id_ed25519.pub) installed for ec2-user. Empty: no key pair (reach the host with Session Manager, enable_session_manager)."
  default     = ""

  validation {
    condition     = var.ssh_public_key == "" || can(regex("^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/=]+", var.ssh_public_key))
    error_message = "ssh_public_key must be empty or an OpenSSH public key line (ssh-ed25519, ssh-rsa or ecdsa-sha2-*)."
  }
}

variable "instance_type" {
  type        = string
  description = "EC2 instance type for the generator host. Graviton types (t4g.*) get the arm64 AMI automatically."
  default     = "t3.micro"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", var.instance_type))
    error_message = "instance_type must look like t3.micro or t4g.small."
  }
}

variable "ami_id" {
  type        = string
  description = "AMI for the generator host. Empty (the default) looks up the newest Amazon Linux 2023 AMI for the instance's architecture."
  default     = ""

  validation {
    condition     = var.ami_id == "" || can(regex("^ami-[0-9a-f]{8}([0-9a-f]{9})?$", var.ami_id))
    error_message = "ami_id must be empty or an AMI id such as ami-0123456789abcdef0."
  }
}

variable "root_volume_size_gb" {
  type        = number
  description = "Size of the host's encrypted gp3 root volume in GiB (Amazon Linux 2023 needs at least 8)."
  default     = 8

  validation {
    condition     = var.root_volume_size_gb >= 8 && var.root_volume_size_gb <= 100 && floor(var.root_volume_size_gb) == var.root_volume_size_gb
    error_message = "root_volume_size_gb must be a whole number from 8 to 100."
  }
}

variable "vpc_cidr" {
  type        = string
  description = "Address range of the small VPC the host runs in (one public subnet uses the first /24)."
  default     = "10.42.0.0/16"

  validation {
    condition     = can(cidrsubnet(var.vpc_cidr, 8, 0)) && tonumber(split("/", var.vpc_cidr)[1]) <= 24 && tonumber(split("/", var.vpc_cidr)[1]) >= 16
    error_message = "vpc_cidr must be an IPv4 CIDR block from /16 to /24, such as 10.42.0.0/16."
  }
}

variable "generator_environment" {
  type        = map(string)
  description = "Extra environment variables for the generator daemon (for example GENERATOR_SEED). RUN_MODE, LOG_GROUP_NAME and AWS_REGION are always set and cannot be overridden here."
  default     = {}

  validation {
    condition     = alltrue([for k, v in var.generator_environment : can(regex("^[A-Z_][A-Z0-9_]*$", k)) && !contains(["RUN_MODE", "LOG_GROUP_NAME", "AWS_REGION"], k)])
    error_message = "generator_environment keys must be UPPER_SNAKE_CASE and must not be RUN_MODE, LOG_GROUP_NAME or AWS_REGION."
  }

  validation {
    condition     = alltrue([for k, v in var.generator_environment : !can(regex("[\"\\\\\\n$%`]", v))])
    error_message = "generator_environment values must not contain quotes, backslashes, newlines, $, % or backticks (they are written into a systemd unit)."
  }
}

# ---------------------------------------------------------------------------------------------
# Logs
# ---------------------------------------------------------------------------------------------

variable "log_group_name" {
  type        = string
  description = "CloudWatch log group the generator host writes to."
  default     = "/cloud-observability/generator"

  validation {
    condition     = can(regex("^[A-Za-z0-9_./#-]{1,512}$", var.log_group_name)) && !startswith(var.log_group_name, "aws/")
    error_message = "log_group_name may contain letters, digits and _ . / # - (1-512 characters) and must not start with aws/."
  }
}

variable "log_retention_days" {
  type        = number
  description = "Retention of every log group this configuration creates (generator and the Lambda functions, whose logs hold the remediation audit trail)."
  default     = 14

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

# ---------------------------------------------------------------------------------------------
# Serverless path: processor Lambda
# ---------------------------------------------------------------------------------------------

variable "enable_processor" {
  type        = bool
  description = "Deploy the processor Lambda and subscribe it to the log group. Needs enable_alert_topic."
  default     = true

  validation {
    condition     = !var.enable_processor || var.enable_alert_topic
    error_message = "enable_processor needs enable_alert_topic = true: the processor publishes its alerts to the topic (ALERT_TOPIC_ARN is required)."
  }
}

variable "pipeline_config" {
  type        = string
  description = "Pipeline configuration for both Lambdas as JSON (the keys of the local config file, docs/configuration.md; anything left out keeps its default). Passed as PIPELINE_CONFIG. Empty: the defaults."
  default     = ""

  validation {
    condition     = var.pipeline_config == "" || can(keys(jsondecode(var.pipeline_config)))
    error_message = "pipeline_config must be empty or a JSON object."
  }
}

variable "processor_source_log_group_name" {
  type        = string
  description = "An existing log group of your own for the processor to read instead of the generator's. Empty (the default) subscribes to log_group_name. The group must hold log lines in the project's JSON format (docs/log-format.md)."
  default     = ""

  validation {
    condition     = var.processor_source_log_group_name == "" || can(regex("^[A-Za-z0-9_./#-]{1,512}$", var.processor_source_log_group_name))
    error_message = "processor_source_log_group_name must be empty or a log group name (letters, digits and _ . / # -)."
  }
}

variable "processor_extra_log_groups" {
  type        = list(string)
  description = "More existing log groups for the processor to read (nginx, sshd, Lambda groups, ...): each gets its own subscription filter and a Lambda permission scoped to that group alone. Say how each is read in the pipeline config's sources (docs/inputs.md). Without enable_kinesis only: the Kinesis path subscribes the source log group alone."
  default     = []

  validation {
    condition     = alltrue([for name in var.processor_extra_log_groups : can(regex("^[A-Za-z0-9_./#-]{1,512}$", name))])
    error_message = "processor_extra_log_groups must hold log group names (letters, digits and _ . / # -)."
  }
  validation {
    condition     = length(distinct(var.processor_extra_log_groups)) == length(var.processor_extra_log_groups)
    error_message = "processor_extra_log_groups must not name a group twice."
  }
}

variable "processor_filter_pattern" {
  type        = string
  description = "CloudWatch Logs filter pattern for the subscription. Empty (the default) delivers every line; the processor counts and skips lines it cannot parse."
  default     = ""
}

variable "processor_reserved_concurrency" {
  type        = number
  description = "Reserved concurrency of the processor. Unset (null, the default) or -1: no reservation, which works on new accounts whose concurrency quota is 10; concurrent invocations are then ordered by the state's conditional writes (docs/deploy.md, \"Processor concurrency\"). 1 runs one copy at a time (no redone work). With enable_kinesis, at least kinesis_shard_count, or unset."
  default     = null
  nullable    = true

  validation {
    condition     = coalesce(var.processor_reserved_concurrency, -1) == -1 || (coalesce(var.processor_reserved_concurrency, -1) >= 1 && coalesce(var.processor_reserved_concurrency, -1) <= 100 && floor(coalesce(var.processor_reserved_concurrency, -1)) == coalesce(var.processor_reserved_concurrency, -1))
    error_message = "processor_reserved_concurrency must be unset, -1 (unreserved) or a whole number from 1 to 100."
  }

  validation {
    condition     = !var.enable_kinesis || coalesce(var.processor_reserved_concurrency, -1) == -1 || coalesce(var.processor_reserved_concurrency, -1) >= var.kinesis_shard_count
    error_message = "with enable_kinesis, processor_reserved_concurrency must be unset, -1 or at least kinesis_shard_count: Lambda runs one processor per shard, and fewer would throttle whole shards."
  }
}

variable "processor_memory_mb" {
  type        = number
  description = "Memory of the processor Lambda in MB (CPU scales with it; the ML detector is the heaviest part)."
  default     = 512

  validation {
    condition     = var.processor_memory_mb >= 128 && var.processor_memory_mb <= 10240
    error_message = "processor_memory_mb must be between 128 and 10240."
  }
}

variable "processor_timeout_s" {
  type        = number
  description = "Timeout of the processor Lambda in seconds."
  default     = 60

  validation {
    condition     = var.processor_timeout_s >= 3 && var.processor_timeout_s <= 900
    error_message = "processor_timeout_s must be between 3 and 900."
  }
}

# ---------------------------------------------------------------------------------------------
# Serverless path: alert topic and remediation
# ---------------------------------------------------------------------------------------------

variable "enable_alert_topic" {
  type        = bool
  description = "Create the encrypted SNS topic the processor publishes alert notifications to."
  default     = true
}

variable "alert_email" {
  type        = string
  description = "Email address subscribed to the alert topic. Empty: no email subscription. AWS sends a confirmation email that must be clicked before any alert arrives."
  default     = ""

  validation {
    condition     = var.alert_email == "" || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alert_email))
    error_message = "alert_email must be empty or an email address."
  }
}

variable "alert_email_filter_policy" {
  type        = string
  description = "SNS filter policy (JSON) on message attributes for the email subscription, for example {\"severity\":[\"critical\"]}. Empty: every notification is emailed."
  default     = ""

  validation {
    condition     = var.alert_email_filter_policy == "" || can(keys(jsondecode(var.alert_email_filter_policy)))
    error_message = "alert_email_filter_policy must be empty or a JSON object."
  }
}

variable "enable_remediation" {
  type        = bool
  description = "Deploy the remediation Lambda, subscribed to the alert topic. Off by default: it acts on alerts. Needs enable_alert_topic."
  default     = false

  validation {
    condition     = !var.enable_remediation || var.enable_alert_topic
    error_message = "enable_remediation needs enable_alert_topic = true: remediation is triggered by the alert topic."
  }
}

variable "remediation_filter_policy" {
  type        = string
  description = "SNS filter policy (JSON) on message attributes for the remediation subscription. Empty: every notification reaches remediation, whose own policy decides."
  default     = ""

  validation {
    condition     = var.remediation_filter_policy == "" || can(keys(jsondecode(var.remediation_filter_policy)))
    error_message = "remediation_filter_policy must be empty or a JSON object."
  }
}

variable "remediation_dry_run" {
  type        = bool
  description = "Remediation only records what it would do (remediation.dry_run in its PIPELINE_CONFIG, overriding pipeline_config). Set false to let it act."
  default     = true
}

variable "enable_state_table" {
  type        = bool
  description = "Create the DynamoDB table (on-demand, TTL) where the processor keeps alert state and remediation keeps cooldowns and idempotency keys."
  default     = true
}

variable "async_max_retry_attempts" {
  type        = number
  description = "Retries Lambda makes for a failed asynchronous invocation before sending it to the dead-letter queue."
  default     = 2

  validation {
    condition     = contains([0, 1, 2], var.async_max_retry_attempts)
    error_message = "async_max_retry_attempts must be 0, 1 or 2."
  }
}

variable "async_max_event_age_s" {
  type        = number
  description = "Oldest asynchronous event (seconds) Lambda still tries; older ones go to the dead-letter queue."
  default     = 3600

  validation {
    condition     = var.async_max_event_age_s >= 60 && var.async_max_event_age_s <= 21600
    error_message = "async_max_event_age_s must be between 60 and 21600."
  }
}

# ---------------------------------------------------------------------------------------------
# Watching the pipeline itself
# ---------------------------------------------------------------------------------------------

variable "enable_dashboard" {
  type        = bool
  description = "Create a CloudWatch dashboard over the functions' metrics: events, rejected lines by reason, alerts by type, notifications, actions, processor duration and the pipeline alarms."
  default     = true
}

variable "enable_pipeline_alarms" {
  type        = bool
  description = "CloudWatch alarms on the pipeline's own health (function errors and throttles, dead-letter queue depth, a stuck outbox, no events), published to the alert topic. Needs enable_alert_topic."
  default     = true

  validation {
    condition     = !var.enable_pipeline_alarms || var.enable_alert_topic
    error_message = "enable_pipeline_alarms needs enable_alert_topic = true: the alarms publish to the alert topic."
  }
}

variable "no_events_alarm_minutes" {
  type        = number
  description = "Alarm when the processor has accepted no log event for this many minutes (a silent source, a broken subscription). 0 turns this alarm off."
  default     = 15

  validation {
    condition     = var.no_events_alarm_minutes == 0 || (var.no_events_alarm_minutes >= 2 && var.no_events_alarm_minutes <= 1440 && floor(var.no_events_alarm_minutes) == var.no_events_alarm_minutes)
    error_message = "no_events_alarm_minutes must be 0 (off) or a whole number of minutes from 2 to 1440."
  }
}

# ---------------------------------------------------------------------------------------------
# Scale-out: Kinesis between the log group and the processor (docs/deploy.md, "Scaling out")
# ---------------------------------------------------------------------------------------------

variable "enable_kinesis" {
  type        = bool
  description = "Feed the processor through Kinesis: the log group writes to a log stream, a router re-keys lines by service onto a service stream, and one processor per shard reads it. For more log volume than one processor handles."
  default     = false
}

variable "kinesis_shard_count" {
  type        = number
  description = "Shards of each stream (log stream and service stream) when enable_kinesis is on. Each shard takes 1 MB/s or 1,000 records/s in, and gets its own processor."
  default     = 2

  validation {
    condition     = var.kinesis_shard_count >= 1 && var.kinesis_shard_count <= 200 && floor(var.kinesis_shard_count) == var.kinesis_shard_count
    error_message = "kinesis_shard_count must be a whole number from 1 to 200."
  }
}
