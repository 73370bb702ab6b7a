data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_vpc" "this" {
  id = var.vpc_id
}

locals {
  name = "${var.project}-${var.environment}"

  # cdc_ops.settings.ResourceNames.proxy_name
  proxy_name = "${local.name}-proxy"

  partition = data.aws_partition.current.partition
  region    = data.aws_region.current.name
  account   = data.aws_caller_identity.current.account_id

  port = 5432
}

# ---------------------------------------------------------------------------------------------
# IAM: the proxy reads the database credentials from Secrets Manager, and nothing else.
# ---------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "assume" {
  statement {
    sid     = "RdsProxyAssumesRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["rds.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_iam_role" "this" {
  name                 = local.proxy_name
  description          = "RDS Proxy ${local.proxy_name}: reads the database credentials secret"
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  max_session_duration = 3600

  tags = merge(var.tags, { Name = local.proxy_name })
}

data "aws_iam_policy_document" "proxy" {
  statement {
    sid       = "ReadDatabaseCredentials"
    effect    = "Allow"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [var.secret_arn]
  }

  statement {
    sid       = "DecryptDatabaseCredentials"
    effect    = "Allow"
    actions   = ["kms:Decrypt"]
    resources = [var.secret_kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "${local.proxy_name}-secret"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.proxy.json
}

# ---------------------------------------------------------------------------------------------
# Security group: 5432 in from the allowed security groups, 5432 out to the VPC (the cluster)
# ---------------------------------------------------------------------------------------------

resource "aws_security_group" "this" {
  #checkov:skip=CKV2_AWS_5:Attached to aws_db_proxy.this (vpc_security_group_ids); checkov's connected-resource list for this check does not include aws_db_proxy
  name        = local.proxy_name
  description = "RDS Proxy ${local.proxy_name}: PostgreSQL from the allowed security groups, PostgreSQL to the VPC"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = local.proxy_name })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "postgres" {
  # count, not for_each: the IDs come from other modules and are unknown at the first plan
  count = length(var.allowed_security_group_ids)

  security_group_id            = aws_security_group.this.id
  description                  = "PostgreSQL from an allowed security group (producer API)"
  ip_protocol                  = "tcp"
  from_port                    = local.port
  to_port                      = local.port
  referenced_security_group_id = var.allowed_security_group_ids[count.index]

  tags = merge(var.tags, { Name = "${local.proxy_name}-postgres-${count.index}" })
}

resource "aws_vpc_security_group_egress_rule" "postgres" {
  security_group_id = aws_security_group.this.id
  description       = "PostgreSQL to the Aurora cluster in the VPC"
  ip_protocol       = "tcp"
  from_port         = local.port
  to_port           = local.port
  cidr_ipv4         = data.aws_vpc.this.cidr_block

  tags = merge(var.tags, { Name = "${local.proxy_name}-to-cluster" })
}

# ---------------------------------------------------------------------------------------------
# Proxy, pool settings (seed: 80 % max, 50 % idle, 120 s borrow timeout) and target
# ---------------------------------------------------------------------------------------------

resource "aws_db_proxy" "this" {
  name          = "${local.name}-proxy"
  engine_family = "POSTGRESQL"
  role_arn      = aws_iam_role.this.arn

  vpc_subnet_ids         = var.subnet_ids
  vpc_security_group_ids = [aws_security_group.this.id]

  require_tls         = true
  idle_client_timeout = var.idle_client_timeout
  debug_logging       = var.debug_logging

  # The producer API authenticates with the password it reads from this same secret, so the
  # proxy checks passwords itself (no IAM authentication between client and proxy).
  auth {
    auth_scheme               = "SECRETS"
    description               = "Master user credentials of ${var.cluster_id} (RDS-managed secret)"
    iam_auth                  = "DISABLED"
    client_password_auth_type = "POSTGRES_SCRAM_SHA_256"
    secret_arn                = var.secret_arn
  }

  tags = merge(var.tags, { Name = local.proxy_name })

  depends_on = [aws_iam_role_policy.this]
}

resource "aws_db_proxy_default_target_group" "this" {
  db_proxy_name = aws_db_proxy.this.name

  connection_pool_config {
    max_connections_percent      = var.max_connections_percent
    max_idle_connections_percent = var.max_idle_connections_percent
    connection_borrow_timeout    = var.connection_borrow_timeout
  }

  lifecycle {
    precondition {
      condition     = var.max_idle_connections_percent <= var.max_connections_percent
      error_message = "max_idle_connections_percent (${var.max_idle_connections_percent}) must not exceed max_connections_percent (${var.max_connections_percent})."
    }
  }
}

resource "aws_db_proxy_target" "this" {
  db_proxy_name         = aws_db_proxy.this.name
  target_group_name     = aws_db_proxy_default_target_group.this.name
  db_cluster_identifier = var.cluster_id
}
