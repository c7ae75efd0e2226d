# Private bucket holding the generator bundle the host downloads at boot.
resource "aws_s3_bucket" "artifacts" {
  count  = local.host_count
  bucket = local.artifact_bucket_name
  # It only ever holds a build output that `terraform apply` uploads again.
  force_destroy = true
}

resource "aws_s3_bucket_public_access_block" "artifacts" {
  count                   = local.host_count
  bucket                  = aws_s3_bucket.artifacts[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "artifacts" {
  count  = local.host_count
  bucket = aws_s3_bucket.artifacts[0].id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "artifacts" {
  count  = local.host_count
  bucket = aws_s3_bucket.artifacts[0].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

# Skipped on an emulator: moto does not model aws:SecureTransport and would deny every request.
data "aws_iam_policy_document" "artifacts_tls_only" {
  count = local.use_emulator ? 0 : local.host_count

  statement {
    sid     = "DenyPlainHttp"
    effect  = "Deny"
    actions = ["s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:DeleteObject"]
    resources = [
      "arn:${local.partition}:s3:::${local.artifact_bucket_name}",
      "arn:${local.partition}:s3:::${local.artifact_bucket_name}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "artifacts" {
  count  = local.use_emulator ? 0 : local.host_count
  bucket = aws_s3_bucket.artifacts[0].id
  policy = data.aws_iam_policy_document.artifacts_tls_only[0].json

  depends_on = [aws_s3_bucket_public_access_block.artifacts]
}

resource "aws_s3_object" "generator_bundle" {
  count       = local.host_count
  bucket      = aws_s3_bucket.artifacts[0].id
  key         = local.generator_bundle_key
  source      = local.generator_zip
  source_hash = filebase64sha256(local.generator_zip)

  depends_on = [aws_s3_bucket_server_side_encryption_configuration.artifacts]
}
