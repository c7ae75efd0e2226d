# A small dedicated VPC with one public subnet: the host needs outbound HTTPS (packages, S3,
# CloudWatch Logs, Session Manager) and optional inbound SSH from one address. It does not rely on
# the account having a default VPC.

data "aws_ec2_instance_type_offerings" "host" {
  count         = local.host_count
  location_type = "availability-zone"

  filter {
    name   = "instance-type"
    values = [var.instance_type]
  }
}

locals {
  # Not every zone offers every instance type (t3.micro is missing from us-east-1e, for example).
  host_availability_zone = var.enable_generator_host ? sort(data.aws_ec2_instance_type_offerings.host[0].locations)[0] : null
}

resource "aws_vpc" "main" {
  count                = local.host_count
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = { Name = var.name_prefix }
}

resource "aws_internet_gateway" "main" {
  count  = local.host_count
  vpc_id = aws_vpc.main[0].id

  tags = { Name = var.name_prefix }
}

resource "aws_subnet" "public" {
  count             = local.host_count
  vpc_id            = aws_vpc.main[0].id
  cidr_block        = cidrsubnet(var.vpc_cidr, 24 - tonumber(split("/", var.vpc_cidr)[1]), 0)
  availability_zone = local.host_availability_zone
  # The subnet exists only for the generator host, which needs a public address for outbound HTTPS
  # (no NAT gateway at about 32 USD a month) and for SSH.
  map_public_ip_on_launch = true

  tags = { Name = "${var.name_prefix}-public" }
}

resource "aws_route_table" "public" {
  count  = local.host_count
  vpc_id = aws_vpc.main[0].id

  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.main[0].id
  }

  tags = { Name = "${var.name_prefix}-public" }
}

resource "aws_route_table_association" "public" {
  count          = local.host_count
  subnet_id      = aws_subnet.public[0].id
  route_table_id = aws_route_table.public[0].id
}

# Strip the VPC's default security group of its rules so nothing can use it by accident.
resource "aws_default_security_group" "main" {
  count  = local.host_count
  vpc_id = aws_vpc.main[0].id

  tags = { Name = "${var.name_prefix}-default-unused" }
}

resource "aws_security_group" "host" {
  count       = local.host_count
  name        = "${var.name_prefix}-host"
  description = "cloud-observability generator host: SSH from one range, HTTPS out"
  vpc_id      = aws_vpc.main[0].id

  ingress {
    description = "SSH from the operator only"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = [var.ssh_allowed_cidr]
  }

  egress {
    description = "HTTPS out: packages, S3, CloudWatch Logs, Session Manager"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  tags = { Name = "${var.name_prefix}-host" }
}
