data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  name = "${var.project}-${var.environment}"

  # cdc_ops.settings.ResourceNames.cluster_id
  cluster_id = "${local.name}-aurora"

  partition = data.aws_partition.current.partition
  region    = data.aws_region.current.name
  account   = data.aws_caller_identity.current.account_id

  is_prod = var.environment == "prod"

  # per-environment defaults; an explicit input wins
  default_instance_class = {
    dev  = "db.t4g.medium"
    test = "db.t4g.medium"
    prod = "db.r6g.large"
  }
  instance_class        = var.instance_class != null ? var.instance_class : local.default_instance_class[var.environment]
  instance_count        = var.instance_count != null ? var.instance_count : (local.is_prod ? 2 : 1)
  backup_retention_days = var.backup_retention_days != null ? var.backup_retention_days : (local.is_prod ? 7 : 3)
  deletion_protection   = var.deletion_protection != null ? var.deletion_protection : local.is_prod

  port = 5432

  # RDS writes the exported PostgreSQL log here; the module creates it first (KMS, retention).
  log_group     = "/aws/rds/cluster/${local.cluster_id}/postgresql"
  log_group_arn = "arn:${local.partition}:logs:${local.region}:${local.account}:log-group:${local.log_group}"

  # Enhanced Monitoring writes to the account-wide RDSOSMetrics log group (created by RDS).
  monitoring_log_group_arn = "arn:${local.partition}:logs:${local.region}:${local.account}:log-group:RDSOSMetrics"

  # Cluster parameters. Static ones need a reboot of the instances (apply_method pending-reboot);
  # they are in place from the first boot because the group is attached at creation.
  cluster_parameters = [
    # Logical decoding for the CDC: the replication slot business_events_cdc_slot (pgoutput)
    # read by Debezium on the writer endpoint. Sets wal_level = logical.
    { name = "rds.logical_replication", value = "1", apply_method = "pending-reboot" },
    # One slot for Debezium plus headroom for a re-snapshot / a second connector.
    { name = "max_replication_slots", value = "10", apply_method = "pending-reboot" },
    { name = "max_wal_senders", value = "10", apply_method = "pending-reboot" },
    # Drop a replication connection that has been silent for 60 s, so a dead Debezium task
    # releases its walsender (the slot stays; the control plane watches its lag).
    { name = "wal_sender_timeout", value = "60000", apply_method = "immediate" },
    # TLS only: the proxy, the producer API, Debezium and the control plane all use TLS.
    { name = "rds.force_ssl", value = "1", apply_method = "immediate" },
    # Query logging to the exported postgresql log: schema changes and statements slower than 1 s.
    { name = "log_statement", value = "ddl", apply_method = "immediate" },
    { name = "log_min_duration_statement", value = "1000", apply_method = "immediate" },
  ]
}

# ---------------------------------------------------------------------------------------------
# KMS key: cluster storage, Performance Insights, the RDS-managed master secret and the logs.
# ---------------------------------------------------------------------------------------------

module "key" {
  source = "../kms-key"

  name        = local.cluster_id
  description = "${local.cluster_id}: cluster storage, Performance Insights, master user secret and logs"
  tags        = var.tags
  account_use_via = {
    # storage encryption and Performance Insights: RDS uses the key (and grants) on behalf of
    # the principals that create and run the cluster
    rds = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext", "kms:CreateGrant", "kms:ListGrants", "kms:DescribeKey"]
    # the master user secret: RDS stores it, RDS Proxy and the producer API read it
    secretsmanager = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo",
    "kms:GenerateDataKey", "kms:DescribeKey"]
  }
  log_group_arns = [local.log_group_arn]
}

# ---------------------------------------------------------------------------------------------
# Network: DB subnet group and security group (5432 from the allowed security groups only)
# ---------------------------------------------------------------------------------------------

resource "aws_db_subnet_group" "this" {
  name        = local.cluster_id
  description = "Private subnets of ${local.cluster_id}"
  subnet_ids  = var.subnet_ids

  tags = merge(var.tags, { Name = local.cluster_id })
}

resource "aws_security_group" "this" {
  name        = local.cluster_id
  description = "Aurora PostgreSQL ${local.cluster_id}: PostgreSQL from the allowed security groups only"
  vpc_id      = var.vpc_id

  # No egress rule: the cluster only answers connections (security groups are stateful);
  # Terraform removes the default allow-all egress rule.

  tags = merge(var.tags, { Name = local.cluster_id })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "postgres" {
  # count, not for_each: the IDs come from other modules and are unknown at the first plan
  count = length(var.allowed_security_group_ids)

  security_group_id            = aws_security_group.this.id
  description                  = "PostgreSQL from an allowed security group (proxy, API, control plane, Debezium)"
  ip_protocol                  = "tcp"
  from_port                    = local.port
  to_port                      = local.port
  referenced_security_group_id = var.allowed_security_group_ids[count.index]

  tags = merge(var.tags, { Name = "${local.cluster_id}-postgres-${count.index}" })
}

# ---------------------------------------------------------------------------------------------
# Cluster parameter group: logical replication for the CDC
# ---------------------------------------------------------------------------------------------

resource "aws_rds_cluster_parameter_group" "this" {
  name        = local.cluster_id
  family      = "aurora-postgresql15"
  description = "${local.cluster_id}: logical replication for Debezium (pgoutput), TLS only, query logging"

  dynamic "parameter" {
    for_each = local.cluster_parameters

    content {
      name         = parameter.value.name
      value        = parameter.value.value
      apply_method = parameter.value.apply_method
    }
  }

  tags = merge(var.tags, { Name = local.cluster_id })

  lifecycle {
    create_before_destroy = true
  }
}

# ---------------------------------------------------------------------------------------------
# Logs and Enhanced Monitoring
# ---------------------------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "postgresql" {
  name              = local.log_group
  retention_in_days = var.log_retention_days
  kms_key_id        = module.key.arn

  tags = merge(var.tags, { Name = local.cluster_id })
}

data "aws_iam_policy_document" "monitoring_assume" {
  statement {
    sid     = "RdsEnhancedMonitoringAssumesRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_iam_role" "monitoring" {
  name                 = "${local.cluster_id}-monitoring"
  description          = "Enhanced Monitoring of ${local.cluster_id}"
  assume_role_policy   = data.aws_iam_policy_document.monitoring_assume.json
  max_session_duration = 3600

  tags = merge(var.tags, { Name = "${local.cluster_id}-monitoring" })
}

# What the AWS managed AmazonRDSEnhancedMonitoringRole grants, scoped to the one log group
# Enhanced Monitoring writes to (RDSOSMetrics) in this account and region.
data "aws_iam_policy_document" "monitoring" {
  statement {
    sid    = "ManageRdsOsMetricsLogGroup"
    effect = "Allow"
    actions = [
      "logs:CreateLogGroup",
      "logs:PutRetentionPolicy",
    ]
    resources = [local.monitoring_log_group_arn]
  }

  statement {
    sid    = "WriteRdsOsMetrics"
    effect = "Allow"
    actions = [
      "logs:CreateLogStream",
      "logs:PutLogEvents",
      "logs:DescribeLogStreams",
      "logs:GetLogEvents",
    ]
    resources = ["${local.monitoring_log_group_arn}:log-stream:*"]
  }
}

resource "aws_iam_role_policy" "monitoring" {
  name   = "${local.cluster_id}-monitoring"
  role   = aws_iam_role.monitoring.id
  policy = data.aws_iam_policy_document.monitoring.json
}

# ---------------------------------------------------------------------------------------------
# Cluster and instances
# ---------------------------------------------------------------------------------------------

resource "aws_rds_cluster" "this" {
  #checkov:skip=CKV2_AWS_8:Recovery is RDS's own continuous backup (PITR over backup_retention_period, 3-7 days) plus a final snapshot in prod; an AWS Backup plan/vault is an account-level policy not owned by this module
  cluster_identifier = "${local.name}-aurora"
  engine             = "aurora-postgresql"
  engine_mode        = "provisioned"
  engine_version     = var.engine_version
  port               = local.port

  database_name   = var.database_name
  master_username = var.master_username
  # RDS generates the password and keeps (and rotates) it in Secrets Manager, encrypted with the CMK
  manage_master_user_password         = true
  master_user_secret_kms_key_id       = module.key.arn
  iam_database_authentication_enabled = true

  storage_encrypted = true
  kms_key_id        = module.key.arn

  db_subnet_group_name            = aws_db_subnet_group.this.name
  vpc_security_group_ids          = [aws_security_group.this.id]
  db_cluster_parameter_group_name = aws_rds_cluster_parameter_group.this.name

  backup_retention_period      = local.backup_retention_days
  preferred_backup_window      = "02:00-03:00"
  preferred_maintenance_window = "sun:03:30-sun:04:30"
  copy_tags_to_snapshot        = true
  deletion_protection          = local.deletion_protection
  skip_final_snapshot          = !local.is_prod
  final_snapshot_identifier    = local.is_prod ? "${local.cluster_id}-final" : null

  enabled_cloudwatch_logs_exports = ["postgresql"]

  allow_major_version_upgrade = false
  # dev/test changes apply at once; prod waits for the maintenance window
  apply_immediately = !local.is_prod

  tags = merge(var.tags, { Name = local.cluster_id })

  # RDS must find the KMS-encrypted log group in place, or it creates an unencrypted one
  depends_on = [aws_cloudwatch_log_group.postgresql]
}

resource "aws_rds_cluster_instance" "this" {
  count = local.instance_count

  identifier         = "${local.cluster_id}-${count.index + 1}"
  cluster_identifier = aws_rds_cluster.this.id
  engine             = aws_rds_cluster.this.engine
  engine_version     = aws_rds_cluster.this.engine_version
  instance_class     = local.instance_class

  db_subnet_group_name = aws_db_subnet_group.this.name
  publicly_accessible  = false
  ca_cert_identifier   = "rds-ca-rsa2048-g1"
  promotion_tier       = count.index

  performance_insights_enabled          = true
  performance_insights_kms_key_id       = module.key.arn
  performance_insights_retention_period = 7

  monitoring_interval = 60
  monitoring_role_arn = aws_iam_role.monitoring.arn

  auto_minor_version_upgrade   = true
  preferred_maintenance_window = "sun:03:30-sun:04:30"
  copy_tags_to_snapshot        = true
  apply_immediately            = !local.is_prod

  tags = merge(var.tags, { Name = "${local.cluster_id}-${count.index + 1}" })

  depends_on = [aws_iam_role_policy.monitoring]
}
