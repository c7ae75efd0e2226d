locals {
  # Graviton families carry a "g" after the generation digit (t4g, m7g, c7gn, x2gd); a1 is the first.
  host_architecture = can(regex("^[a-z]+[0-9]+[a-z]*g[a-z]*\\.", var.instance_type)) || startswith(var.instance_type, "a1.") ? "arm64" : "x86_64"
  host_ami_id       = var.ami_id != "" ? var.ami_id : try(data.aws_ami.al2023[0].id, "")
  # EC2 refuses user data over 16 KB; checked in a precondition so plan fails with a clear message.
  user_data_limit_bytes = 16384

  # Zero or one rendered script, one per bundle object (a list so a disabled host renders nothing).
  host_user_data = [for bundle in aws_s3_object.generator_bundle : templatefile("${path.module}/templates/user_data.sh.tftpl", {
    region                = local.region
    log_group_name        = var.log_group_name
    bundle_bucket         = bundle.bucket
    bundle_key            = bundle.key
    bundle_sha256_base64  = bundle.source_hash
    generator_environment = var.generator_environment
  })]
}

data "aws_ami" "al2023" {
  count       = var.enable_generator_host && var.ami_id == "" ? 1 : 0
  most_recent = true
  owners      = ["amazon"]

  filter {
    # The standard image (SSM agent and AWS CLI included), not al2023-ami-minimal-*.
    name   = "name"
    values = ["al2023-ami-2023.*-kernel-*-${local.host_architecture}"]
  }

  filter {
    name   = "architecture"
    values = [local.host_architecture]
  }

  filter {
    name   = "virtualization-type"
    values = ["hvm"]
  }
}

resource "aws_key_pair" "operator" {
  count      = var.enable_generator_host && var.ssh_public_key != "" ? 1 : 0
  key_name   = "${var.name_prefix}-operator"
  public_key = var.ssh_public_key
}

resource "aws_instance" "generator" {
  count = local.host_count

  ami                    = local.host_ami_id
  instance_type          = var.instance_type
  subnet_id              = aws_subnet.public[0].id
  vpc_security_group_ids = [aws_security_group.host[0].id]
  iam_instance_profile   = aws_iam_instance_profile.host[0].name
  key_name               = var.ssh_public_key != "" ? aws_key_pair.operator[0].key_name : null

  user_data = local.host_user_data[0]
  # A new bundle (its hash is in the user data) replaces the host: it is stateless and boots in
  # about two minutes, and every host then runs exactly the code its user data names.
  user_data_replace_on_change = true

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required" # IMDSv2 only
    http_put_response_hop_limit = 1
    instance_metadata_tags      = "disabled"
  }

  root_block_device {
    volume_type           = "gp3"
    volume_size           = var.root_volume_size_gb
    encrypted             = true
    delete_on_termination = true
  }

  # Burstable types default to "unlimited" credits, which can bill surplus CPU; the generator is
  # light, so a fixed price matters more than bursting.
  dynamic "credit_specification" {
    for_each = startswith(var.instance_type, "t") ? [1] : []
    content {
      cpu_credits = "standard"
    }
  }

  tags = { Name = "${var.name_prefix}-generator" }

  lifecycle {
    precondition {
      condition     = local.host_ami_id != ""
      error_message = "No Amazon Linux 2023 AMI for ${local.host_architecture} was found in ${local.region}: set ami_id."
    }
    precondition {
      condition     = length(local.host_user_data[0]) <= local.user_data_limit_bytes
      error_message = "The rendered user data is over EC2's 16 KB limit: move the extra settings out of generator_environment."
    }
  }

  depends_on = [
    aws_cloudwatch_log_group.generator,
    aws_iam_role_policy.host,
    aws_route_table_association.public,
  ]
}
