data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  name = "${var.project}-${var.environment}"

  # DSQL clusters have no name, only a generated identifier: the Name tag carries this one
  cluster_name = "${local.name}-dsql"

  partition = data.aws_partition.current.partition
  region    = data.aws_region.current.name
  account   = data.aws_caller_identity.current.account_id

  deletion_protection = var.deletion_protection != null ? var.deletion_protection : var.environment == "prod"

  port = 5432

  # The key must exist before the cluster (it is given at creation), so its policy cannot name
  # the cluster: it names any DSQL cluster of this account and region instead.
  dsql_cluster_arn_pattern = "arn:${local.partition}:dsql:${local.region}:${local.account}:cluster/*"

  # The connection endpoint's service name ends with the service identifier (e.g.
  # com.amazonaws.us-east-1.dsql-fnh4 -> dsql-fnh4), part of the PrivateLink hostname.
  service_identifier = reverse(split(".", aws_dsql_cluster.this.vpc_endpoint_service_name))[0]
}

# ---------------------------------------------------------------------------------------------
# KMS key of the cluster
# ---------------------------------------------------------------------------------------------

module "key" {
  source = "../kms-key"

  name        = local.cluster_name
  description = "${local.cluster_name}: Aurora DSQL cluster encryption at rest"
  tags        = var.tags
  # principals of the account (who create, update and connect to the cluster) use the key only
  # through Aurora DSQL, never directly
  account_use_via = {
    dsql = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey", "kms:DescribeKey"]
  }
  # the DSQL service itself generates and decrypts the cluster key (AWS's documented key policy
  # for DSQL), only for clusters of this account and region
  service_statements = [
    {
      sid     = "DsqlServiceUsesKeyForThisAccountsClusters"
      service = "dsql.amazonaws.com"
      actions = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey"]
      conditions = [
        { test = "StringEquals", variable = "aws:SourceAccount", values = [local.account] },
        { test = "ArnLike", variable = "aws:SourceArn", values = [local.dsql_cluster_arn_pattern] },
        { test = "ForAnyValue:StringEquals", variable = "kms:EncryptionContextKeys", values = ["aws:dsql:ClusterId"] },
      ]
    },
    {
      sid     = "DsqlServiceDescribesKey"
      service = "dsql.amazonaws.com"
      actions = ["kms:DescribeKey"]
      conditions = [
        { test = "StringEquals", variable = "aws:SourceAccount", values = [local.account] },
        { test = "ArnLike", variable = "aws:SourceArn", values = [local.dsql_cluster_arn_pattern] },
      ]
    },
  ]
}

# ---------------------------------------------------------------------------------------------
# Cluster
# ---------------------------------------------------------------------------------------------

resource "aws_dsql_cluster" "this" {
  deletion_protection_enabled = local.deletion_protection
  kms_encryption_key          = module.key.arn

  tags = merge(var.tags, { Name = "${local.name}-dsql" })
}

# ---------------------------------------------------------------------------------------------
# Connection endpoint (AWS PrivateLink) and its security group
# ---------------------------------------------------------------------------------------------

resource "aws_security_group" "this" {
  name        = "${local.cluster_name}-endpoint"
  description = "Aurora DSQL connection endpoint of ${local.cluster_name}: PostgreSQL and HTTPS from the allowed security groups only"
  vpc_id      = var.vpc_id

  # No egress rule: the endpoint's interfaces only answer connections (security groups are
  # stateful); Terraform removes the default allow-all egress rule.

  tags = merge(var.tags, { Name = "${local.cluster_name}-endpoint" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "postgres" {
  # count, not for_each: the IDs come from other modules and are unknown at the first plan
  count = length(var.allowed_security_group_ids)

  security_group_id            = aws_security_group.this.id
  description                  = "PostgreSQL to Aurora DSQL from an allowed security group (DSQL producer API)"
  ip_protocol                  = "tcp"
  from_port                    = local.port
  to_port                      = local.port
  referenced_security_group_id = var.allowed_security_group_ids[count.index]

  tags = merge(var.tags, { Name = "${local.cluster_name}-postgres-${count.index}" })
}

resource "aws_vpc_security_group_ingress_rule" "https" {
  count = length(var.allowed_security_group_ids)

  security_group_id            = aws_security_group.this.id
  description                  = "HTTPS to the DSQL endpoint from an allowed security group (DSQL producer API)"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = var.allowed_security_group_ids[count.index]

  tags = merge(var.tags, { Name = "${local.cluster_name}-https-${count.index}" })
}

resource "aws_vpc_endpoint" "this" {
  vpc_id              = var.vpc_id
  service_name        = aws_dsql_cluster.this.vpc_endpoint_service_name
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
  subnet_ids          = var.subnet_ids
  security_group_ids  = [aws_security_group.this.id]

  tags = merge(var.tags, { Name = local.cluster_name })
}
