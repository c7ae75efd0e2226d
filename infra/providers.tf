locals {
  # An empty var.endpoint means real AWS. Anything else is a local emulator (moto_server,
  # LocalStack) that accepts any credentials and serves every service on one URL.
  use_emulator      = var.endpoint != ""
  emulator_endpoint = local.use_emulator ? var.endpoint : null
}

provider "aws" {
  region = var.aws_region

  access_key = local.use_emulator ? "test" : null
  secret_key = local.use_emulator ? "test" : null

  skip_credentials_validation = local.use_emulator
  skip_metadata_api_check     = local.use_emulator
  skip_requesting_account_id  = local.use_emulator
  s3_use_path_style           = local.use_emulator

  endpoints {
    cloudwatch     = local.emulator_endpoint
    cloudwatchlogs = local.emulator_endpoint
    dynamodb       = local.emulator_endpoint
    ec2            = local.emulator_endpoint
    events         = local.emulator_endpoint
    iam            = local.emulator_endpoint
    kinesis        = local.emulator_endpoint
    kms            = local.emulator_endpoint
    lambda         = local.emulator_endpoint
    s3             = local.emulator_endpoint
    sns            = local.emulator_endpoint
    sqs            = local.emulator_endpoint
    ssm            = local.emulator_endpoint
    sts            = local.emulator_endpoint
  }

  default_tags {
    tags = merge(var.tags, {
      Project   = "cloud-observability"
      ManagedBy = "terraform"
    })
  }
}
