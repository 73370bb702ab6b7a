data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_vpc" "this" {
  id = var.vpc_id
}

# The regional Elastic Load Balancing account that writes access logs (Regions opened before
# August 2022); newer Regions use the logdelivery service principal, granted beside it.
data "aws_elb_service_account" "current" {}

locals {
  name = "${var.project}-${var.environment}"

  partition = data.aws_partition.current.partition
  region    = data.aws_region.current.name
  account   = data.aws_caller_identity.current.account_id
  is_prod   = var.environment == "prod"

  ecs_cluster_name   = "${local.name}-dagster"
  storage_identifier = "${local.name}-dagster-storage"
  # load balancer and target group names are limited to 32 characters
  lb_name = trimsuffix(substr("${local.name}-dagster", 0, 32), "-")
  tg_name = trimsuffix(substr("${local.name}-dagster-ui", 0, 32), "-")
  # 37 + 12 + 1 + 12 characters at most: within S3's 63
  alb_logs_bucket = "${local.name}-dagster-alb-${local.account}"
  alb_logs_prefix = "dagster-alb"

  log_group_name = "/ecs/${local.name}-dagster"
  # RDS writes the exported logs here; created in advance with retention and the CMK
  storage_log_groups = {
    for log in ["postgresql", "upgrade"] : log => "/aws/rds/instance/${local.storage_identifier}/${log}"
  }
  log_group_arns = concat(
    ["arn:${local.partition}:logs:${local.region}:${local.account}:log-group:${local.log_group_name}"],
    [for n in values(local.storage_log_groups) : "arn:${local.partition}:logs:${local.region}:${local.account}:log-group:${n}"],
  )

  storage_database = "dagster"
  storage_user     = "dagster"
  dagster_port     = 3000
  # the root filesystem is read-only: DAGSTER_HOME (dagster.yaml, compute logs) lives on the
  # task's /tmp volume
  dagster_home = "/tmp/dagster"

  # <account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>[:tag|@digest] -> its repository ARN
  ecr_match = try(regex("^([0-9]{12})\\.dkr\\.ecr\\.([a-z0-9-]+)\\.amazonaws\\.com(?:\\.cn)?/([^:@]+)", var.image), null)
  ecr_repository_arns = local.ecr_match == null ? [] : [
    "arn:${local.partition}:ecr:${local.ecr_match[1]}:${local.ecr_match[0]}:repository/${local.ecr_match[2]}"
  ]

  # Settings of the control plane: cdc_ops.settings, env CDC_OPS_<SECTION>__<KEY>.
  optional_environment = {
    CDC_OPS_NAMES__PROXY_NAME     = var.proxy_name
    CDC_OPS_NAMES__API_NAME       = var.api_name
    CDC_OPS_ALERTS__SNS_TOPIC_ARN = var.alerts_topic_arn
    CDC_OPS_ALERTS__DESTINATIONS  = var.alerts_topic_arn == null ? null : jsonencode(["log", "sns"])
  }
  environment = merge(
    {
      CDC_OPS_ENV                    = "aws"
      CDC_OPS_NAMES__PROJECT         = var.project
      CDC_OPS_NAMES__ENVIRONMENT     = var.environment
      CDC_OPS_NAMES__CLUSTER_ID      = var.cluster_id
      CDC_OPS_AWS__REGION            = local.region
      CDC_OPS_DATABASE__CLUSTER_HOST = var.database_host
      CDC_OPS_DATABASE__NAME         = var.database_name
      CDC_OPS_DATABASE__USER         = var.database_user
      # read from the secret when a connection is made, so RDS's rotation needs no redeploy
      CDC_OPS_DATABASE__PASSWORD_SECRET_ARN = var.database_secret_arn
      CDC_OPS_DAGSTER__HOME                 = local.dagster_home
    },
    { for k, v in local.optional_environment : k => v if v != null },
    # Kafka, connector, Flink and consumer settings of this deployment (no secrets: see below)
    var.settings,
  )

  secrets = concat(
    [{
      name      = "CDC_OPS_DAGSTER__POSTGRES_STORAGE_URL"
      valueFrom = aws_secretsmanager_secret.storage_url.arn
    }],
    # e.g. CDC_OPS_KAFKA__API_SECRET = "<secret ARN>:api_secret::" (ECS injects the value)
    [for name, value_from in var.secret_settings : { name = name, valueFrom = value_from }],
  )
  # the secrets themselves, without a ":json-key:stage:version" suffix
  secret_setting_arns = distinct([for v in values(var.secret_settings) : join(":", slice(split(":", v), 0, 7))])

  roles = {
    webserver = {
      environment = merge(local.environment, {
        CDC_OPS_DAGSTER__HOST = "0.0.0.0"
        CDC_OPS_DAGSTER__PORT = tostring(local.dagster_port)
      })
      port_mappings = [{ containerPort = local.dagster_port, hostPort = local.dagster_port, protocol = "tcp" }]
    }
    daemon = {
      environment   = local.environment
      port_mappings = []
    }
  }

  # Fargate's cpu/memory pairs: memory from min to max in steps, per cpu size
  fargate_memory = {
    "256"   = { min = 512, max = 2048, step = 512 }
    "512"   = { min = 1024, max = 4096, step = 1024 }
    "1024"  = { min = 2048, max = 8192, step = 1024 }
    "2048"  = { min = 4096, max = 16384, step = 1024 }
    "4096"  = { min = 8192, max = 30720, step = 1024 }
    "8192"  = { min = 16384, max = 61440, step = 4096 }
    "16384" = { min = 32768, max = 122880, step = 8192 }
  }
  memory_fits = (
    var.memory >= local.fargate_memory[tostring(var.cpu)].min &&
    var.memory <= local.fargate_memory[tostring(var.cpu)].max &&
    var.memory % local.fargate_memory[tostring(var.cpu)].step == 0
  )

  # the alerts topic may be in another Region: its key is used through SNS there
  topic_region  = var.alerts_topic_arn == null ? local.region : split(":", var.alerts_topic_arn)[3]
  topic_account = var.alerts_topic_arn == null ? local.account : split(":", var.alerts_topic_arn)[4]
}

# ---------------------------------------------------------------------------------------------
# KMS key: storage database (storage, Performance Insights), the storage URL secret, log groups.
# ---------------------------------------------------------------------------------------------

module "key" {
  source = "../kms-key"

  name        = local.ecs_cluster_name
  description = "${local.ecs_cluster_name}: storage database, storage URL secret and logs of the Dagster control plane"
  tags        = var.tags
  # RDS, Performance Insights and Secrets Manager use it on behalf of the account's principals
  # through the account's administration statement
  log_group_arns = local.log_group_arns
}

# ---------------------------------------------------------------------------------------------
# Security groups: UI load balancer -> webserver tasks -> storage database and Aurora cluster.
# ---------------------------------------------------------------------------------------------

resource "aws_security_group" "alb" {
  name        = "${local.name}-dagster-alb"
  description = "Internal HTTPS load balancer of the Dagster UI (${local.name})"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${local.name}-dagster-alb" })
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  for_each = toset(var.allowed_cidr_blocks)

  security_group_id = aws_security_group.alb.id
  description       = "HTTPS to the Dagster UI from ${each.value}"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value

  tags = merge(var.tags, { Name = "${local.name}-dagster-alb-https" })
}

resource "aws_vpc_security_group_egress_rule" "alb_to_webserver" {
  security_group_id            = aws_security_group.alb.id
  description                  = "To the Dagster webserver tasks"
  ip_protocol                  = "tcp"
  from_port                    = local.dagster_port
  to_port                      = local.dagster_port
  referenced_security_group_id = aws_security_group.tasks.id

  tags = merge(var.tags, { Name = "${local.name}-dagster-alb-to-webserver" })
}

resource "aws_security_group" "tasks" {
  name        = "${local.name}-dagster-tasks"
  description = "Dagster webserver and daemon tasks (${local.name})"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${local.name}-dagster-tasks" })
}

resource "aws_vpc_security_group_ingress_rule" "tasks_from_alb" {
  security_group_id            = aws_security_group.tasks.id
  description                  = "Dagster UI from its load balancer"
  ip_protocol                  = "tcp"
  from_port                    = local.dagster_port
  to_port                      = local.dagster_port
  referenced_security_group_id = aws_security_group.alb.id

  tags = merge(var.tags, { Name = "${local.name}-dagster-tasks-from-alb" })
}

resource "aws_vpc_security_group_egress_rule" "tasks_postgres" {
  security_group_id = aws_security_group.tasks.id
  description       = "PostgreSQL in the VPC: the Aurora cluster (replication slot) and the Dagster storage database"
  ip_protocol       = "tcp"
  from_port         = 5432
  to_port           = 5432
  cidr_ipv4         = data.aws_vpc.this.cidr_block

  tags = merge(var.tags, { Name = "${local.name}-dagster-tasks-postgres" })
}

resource "aws_vpc_security_group_egress_rule" "tasks_https" {
  security_group_id = aws_security_group.tasks.id
  description       = "HTTPS to AWS APIs (RDS, CloudWatch, SNS, Secrets Manager, ECR, S3, Logs) through NAT or VPC endpoints"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"

  tags = merge(var.tags, { Name = "${local.name}-dagster-tasks-https" })
}

resource "aws_security_group" "storage" {
  name        = local.storage_identifier
  description = "Dagster storage database (${local.name}): PostgreSQL from the control plane tasks only"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = local.storage_identifier })
}

resource "aws_vpc_security_group_ingress_rule" "storage_from_tasks" {
  security_group_id            = aws_security_group.storage.id
  description                  = "PostgreSQL from the Dagster tasks"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.tasks.id

  tags = merge(var.tags, { Name = "${local.storage_identifier}-from-tasks" })
}

# ---------------------------------------------------------------------------------------------
# Storage database: PostgreSQL 16 for Dagster's runs, event logs and schedules.
# ---------------------------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "storage" {
  for_each = local.storage_log_groups

  name              = each.value
  retention_in_days = var.log_retention_days
  kms_key_id        = module.key.arn

  tags = merge(var.tags, { Name = each.value })
}

resource "aws_db_subnet_group" "storage" {
  name        = local.storage_identifier
  description = "Subnets of the Dagster storage database (${local.name})"
  subnet_ids  = var.subnet_ids

  tags = merge(var.tags, { Name = local.storage_identifier })
}

resource "aws_db_parameter_group" "storage" {
  name        = local.storage_identifier
  family      = "postgres16"
  description = "Dagster storage database (${local.name}): TLS only, slow statements and DDL logged"

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }

  parameter {
    name  = "log_statement"
    value = "ddl"
  }

  parameter {
    name  = "log_connections"
    value = "1"
  }

  tags = merge(var.tags, { Name = local.storage_identifier })

  lifecycle {
    create_before_destroy = true
  }
}

data "aws_iam_policy_document" "rds_monitoring_assume" {
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

resource "aws_iam_role" "rds_monitoring" {
  name                 = "${local.storage_identifier}-monitoring"
  description          = "Enhanced monitoring of ${local.storage_identifier}"
  assume_role_policy   = data.aws_iam_policy_document.rds_monitoring_assume.json
  max_session_duration = 3600

  tags = merge(var.tags, { Name = "${local.storage_identifier}-monitoring" })
}

resource "aws_iam_role_policy_attachment" "rds_monitoring" {
  role       = aws_iam_role.rds_monitoring.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

# The storage password comes from Secrets Manager's generator and is sent to RDS and to the URL
# secret as write-only values, which Terraform sends only when storage_password_version changes:
# both get the same new password in one apply, and never again behind each other's back. (A data
# source rather than the ephemeral resource: `terraform test` mocks cannot open ephemerals.)
data "aws_secretsmanager_random_password" "storage" {
  password_length = 40
  # letters and digits only: the password is part of the storage URL, unescaped
  exclude_punctuation = true
}

resource "aws_db_instance" "storage" {
  identifier     = local.storage_identifier
  engine         = "postgres"
  engine_version = "16"
  instance_class = var.storage_instance_class

  allocated_storage     = 20
  max_allocated_storage = 100
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = module.key.arn

  db_name             = local.storage_database
  username            = local.storage_user
  password_wo         = data.aws_secretsmanager_random_password.storage.random_password
  password_wo_version = var.storage_password_version
  port                = 5432

  db_subnet_group_name   = aws_db_subnet_group.storage.name
  vpc_security_group_ids = [aws_security_group.storage.id]
  parameter_group_name   = aws_db_parameter_group.storage.name
  publicly_accessible    = false
  ca_cert_identifier     = "rds-ca-rsa2048-g1"

  multi_az                            = local.is_prod
  iam_database_authentication_enabled = true
  deletion_protection                 = local.is_prod
  skip_final_snapshot                 = !local.is_prod
  final_snapshot_identifier           = local.is_prod ? "${local.storage_identifier}-final" : null
  backup_retention_period             = local.is_prod ? 7 : 3
  copy_tags_to_snapshot               = true
  auto_minor_version_upgrade          = true
  allow_major_version_upgrade         = false

  enabled_cloudwatch_logs_exports       = keys(local.storage_log_groups)
  performance_insights_enabled          = true
  performance_insights_kms_key_id       = module.key.arn
  performance_insights_retention_period = 7
  monitoring_interval                   = 60
  monitoring_role_arn                   = aws_iam_role.rds_monitoring.arn

  tags = merge(var.tags, { Name = local.storage_identifier })

  depends_on = [
    aws_cloudwatch_log_group.storage,
    aws_iam_role_policy_attachment.rds_monitoring,
  ]
}

resource "aws_secretsmanager_secret" "storage_url" {
  #checkov:skip=CKV2_AWS_57:The secret is a connection URL that Terraform writes together with the database password; a Secrets Manager rotation Lambda would change one without the other. Rotate by raising storage_password_version (both are rewritten in one apply) and redeploying the services.
  name                    = "${local.storage_identifier}-url"
  description             = "PostgreSQL URL of the Dagster storage database (${local.name}): CDC_OPS_DAGSTER__POSTGRES_STORAGE_URL"
  kms_key_id              = module.key.arn
  recovery_window_in_days = local.is_prod ? 30 : 7

  tags = merge(var.tags, { Name = "${local.storage_identifier}-url" })
}

resource "aws_secretsmanager_secret_version" "storage_url" {
  secret_id                = aws_secretsmanager_secret.storage_url.id
  secret_string_wo         = "postgresql://${local.storage_user}:${data.aws_secretsmanager_random_password.storage.random_password}@${aws_db_instance.storage.address}:${aws_db_instance.storage.port}/${local.storage_database}"
  secret_string_wo_version = var.storage_password_version
}

# ---------------------------------------------------------------------------------------------
# IAM: the execution role (pull, logs, secrets) and the task role (what the control plane calls:
# cdc_ops.cluster.state, cluster_control, auto_stop/activity, proxy_saturation, alerts).
# ---------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    sid     = "EcsTasksAssumeRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:ecs:${local.region}:${local.account}:*"]
    }
  }
}

resource "aws_iam_role" "execution" {
  name                 = "${local.ecs_cluster_name}-execution"
  description          = "ECS execution role of the Dagster control plane: image pull, logs, secrets"
  assume_role_policy   = data.aws_iam_policy_document.ecs_tasks_assume.json
  max_session_duration = 3600

  tags = merge(var.tags, { Name = "${local.ecs_cluster_name}-execution" })
}

data "aws_iam_policy_document" "execution" {
  statement {
    sid    = "WriteContainerLogs"
    effect = "Allow"
    actions = [
      "logs:CreateLogStream",
      "logs:PutLogEvents",
    ]
    resources = ["${aws_cloudwatch_log_group.ecs.arn}:*"]
  }

  statement {
    sid     = "EcrAuthorizationToken"
    effect  = "Allow"
    actions = ["ecr:GetAuthorizationToken"]
    # GetAuthorizationToken supports no resource-level permissions: AWS requires "*".
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = length(local.ecr_repository_arns) > 0 ? [1] : []

    content {
      sid    = "PullTheImage"
      effect = "Allow"
      actions = [
        "ecr:BatchCheckLayerAvailability",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchGetImage",
      ]
      resources = local.ecr_repository_arns
    }
  }

  statement {
    sid       = "ReadTheInjectedSecrets"
    effect    = "Allow"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = concat([aws_secretsmanager_secret.storage_url.arn], local.secret_setting_arns)
  }

  statement {
    sid     = "DecryptTheInjectedSecrets"
    effect  = "Allow"
    actions = ["kms:Decrypt"]
    # the storage secret's key, and the keys of secret_settings' secrets
    resources = concat([module.key.arn], var.secret_settings_kms_key_arns)

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "${local.ecs_cluster_name}-execution"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

resource "aws_iam_role" "task" {
  name                 = "${local.ecs_cluster_name}-task"
  description          = "Task role of the Dagster control plane: observe, stop and start the Aurora cluster, read metrics, publish alerts"
  assume_role_policy   = data.aws_iam_policy_document.ecs_tasks_assume.json
  max_session_duration = 3600

  tags = merge(var.tags, { Name = "${local.ecs_cluster_name}-task" })
}

data "aws_iam_policy_document" "task" {
  statement {
    # cdc_ops.clients.database_secret: the control plane reads the database password when it connects
    sid       = "ReadTheDatabasePassword"
    effect    = "Allow"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [var.database_secret_arn]
  }

  statement {
    sid       = "DecryptTheDatabasePassword"
    effect    = "Allow"
    actions   = ["kms:Decrypt"]
    resources = [var.database_secret_kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com"]
    }
  }

  statement {
    # cluster_control: describe, stop, start, and the action recorded as tags on the cluster
    sid    = "ControlTheCluster"
    effect = "Allow"
    actions = [
      "rds:DescribeDBClusters",
      "rds:StopDBCluster",
      "rds:StartDBCluster",
      "rds:AddTagsToResource",
    ]
    resources = [var.cluster_arn]
  }


  statement {
    # called without an identifier: is the cluster a member of a global database?
    sid       = "DescribeGlobalClusters"
    effect    = "Allow"
    actions   = ["rds:DescribeGlobalClusters"]
    resources = ["arn:${local.partition}:rds::${local.account}:global-cluster:*"]
  }

  statement {
    # called without an identifier: is the cluster part of a blue/green deployment?
    sid       = "DescribeBlueGreenDeployments"
    effect    = "Allow"
    actions   = ["rds:DescribeBlueGreenDeployments"]
    resources = ["arn:${local.partition}:rds:${local.region}:${local.account}:deployment:*"]
  }

  statement {
    # the producer API's AWS/ApiGateway Count (auto-stop) and the proxy's AWS/RDS metrics
    sid     = "ReadMetrics"
    effect  = "Allow"
    actions = ["cloudwatch:GetMetricData"]
    # GetMetricData supports no resource-level permissions: AWS requires "*".
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = var.alerts_topic_arn == null ? [] : [var.alerts_topic_arn]

    content {
      sid       = "PublishAlerts"
      effect    = "Allow"
      actions   = ["sns:Publish"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = var.alerts_topic_arn == null ? [] : [var.alerts_topic_arn]

    content {
      # an encrypted topic needs the publisher to use its key through SNS; the key is not known
      # here, so this is scoped to keys used by SNS for this topic (its encryption context)
      sid    = "UseTheAlertsTopicKeyThroughSns"
      effect = "Allow"
      actions = [
        "kms:GenerateDataKey",
        "kms:Decrypt",
      ]
      resources = ["arn:${local.partition}:kms:${local.topic_region}:${local.topic_account}:key/*"]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["sns.${local.topic_region}.amazonaws.com"]
      }

      condition {
        test     = "StringEquals"
        variable = "kms:EncryptionContext:aws:sns:topicArn"
        values   = [statement.value]
      }
    }
  }
}

resource "aws_iam_role_policy" "task" {
  name   = "${local.ecs_cluster_name}-task"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task.json
}

# ---------------------------------------------------------------------------------------------
# ECS: cluster, one task definition and one service per role (webserver, daemon).
# ---------------------------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "ecs" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = module.key.arn

  tags = merge(var.tags, { Name = local.log_group_name })
}

resource "aws_ecs_cluster" "this" {
  name = local.ecs_cluster_name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  tags = merge(var.tags, { Name = local.ecs_cluster_name })
}

resource "aws_ecs_task_definition" "this" {
  for_each = local.roles

  family                   = "${local.ecs_cluster_name}-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = tostring(var.cpu)
  memory                   = tostring(var.memory)
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  # task-scoped scratch space: the root filesystem is read-only
  volume {
    name = "tmp"
  }

  container_definitions = jsonencode([
    {
      name      = each.key
      image     = var.image
      essential = true
      # writes DAGSTER_HOME/dagster.yaml (PostgreSQL storage), then execs dagster-webserver or
      # dagster-daemon as PID 1
      command                = ["cdc-ops", "control-plane", each.key]
      user                   = var.container_user
      readonlyRootFilesystem = true
      privileged             = false
      environment            = [for k in sort(keys(each.value.environment)) : { name = k, value = each.value.environment[k] }]
      secrets                = local.secrets
      portMappings           = each.value.port_mappings
      mountPoints = [
        {
          sourceVolume  = "tmp"
          containerPath = "/tmp"
          readOnly      = false
        },
      ]
      linuxParameters = {
        capabilities = {
          drop = ["ALL"]
        }
      }
      stopTimeout = 60
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          "awslogs-group"         = aws_cloudwatch_log_group.ecs.name
          "awslogs-region"        = local.region
          "awslogs-stream-prefix" = each.key
        }
      }
    },
  ])

  tags = merge(var.tags, { Name = "${local.ecs_cluster_name}-${each.key}" })

  lifecycle {
    precondition {
      condition     = local.memory_fits
      error_message = "memory ${var.memory} MiB does not fit cpu ${var.cpu} on Fargate (for 1024 cpu: 2048-8192 in steps of 1024)."
    }
  }
}

resource "aws_ecs_service" "webserver" {
  name                              = "${local.ecs_cluster_name}-webserver"
  cluster                           = aws_ecs_cluster.this.id
  task_definition                   = aws_ecs_task_definition.this["webserver"].arn
  desired_count                     = 1
  launch_type                       = "FARGATE"
  platform_version                  = "LATEST"
  enable_ecs_managed_tags           = true
  propagate_tags                    = "SERVICE"
  health_check_grace_period_seconds = 180

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.webserver.arn
    container_name   = "webserver"
    container_port   = local.dagster_port
  }

  tags = merge(var.tags, { Name = "${local.ecs_cluster_name}-webserver" })

  depends_on = [
    aws_lb_listener.https,
    aws_iam_role_policy.execution,
    aws_iam_role_policy.task,
  ]
}

resource "aws_ecs_service" "daemon" {
  name             = "${local.ecs_cluster_name}-daemon"
  cluster          = aws_ecs_cluster.this.id
  task_definition  = aws_ecs_task_definition.this["daemon"].arn
  launch_type      = "FARGATE"
  platform_version = "LATEST"
  # exactly one daemon may run: a deployment stops the old task before it starts the new one
  desired_count                      = 1
  deployment_minimum_healthy_percent = 0
  deployment_maximum_percent         = 100
  enable_ecs_managed_tags            = true
  propagate_tags                     = "SERVICE"

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }

  tags = merge(var.tags, { Name = "${local.ecs_cluster_name}-daemon" })

  depends_on = [
    aws_iam_role_policy.execution,
    aws_iam_role_policy.task,
  ]
}

# ---------------------------------------------------------------------------------------------
# Internal HTTPS load balancer of the UI, with access logs in S3.
# ---------------------------------------------------------------------------------------------

resource "aws_s3_bucket" "alb_logs" {
  #checkov:skip=CKV_AWS_145:Elastic Load Balancing writes access logs only to buckets encrypted with SSE-S3 (AES256); a bucket default of SSE-KMS makes log delivery fail
  #checkov:skip=CKV_AWS_18:This bucket is itself the access-log sink of the load balancer; logging its access to yet another bucket would only move the same question one bucket further
  #checkov:skip=CKV_AWS_144:Diagnostic access logs of an internal UI, expired after log_retention_days; a replica in a second Region would double storage for data nobody restores
  #checkov:skip=CKV2_AWS_62:Nothing consumes events of the access-log bucket (logs are read on demand with Athena or the console), so there is no notification target
  bucket = local.alb_logs_bucket
  # only dev and test logs may go with the environment
  force_destroy = !local.is_prod

  tags = merge(var.tags, { Name = local.alb_logs_bucket })
}

resource "aws_s3_bucket_public_access_block" "alb_logs" {
  bucket                  = aws_s3_bucket.alb_logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "alb_logs" {
  bucket = aws_s3_bucket.alb_logs.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "alb_logs" {
  bucket = aws_s3_bucket.alb_logs.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "alb_logs" {
  bucket = aws_s3_bucket.alb_logs.id

  rule {
    apply_server_side_encryption_by_default {
      # load balancer access logs support SSE-S3 only (SSE-KMS buckets are refused)
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "alb_logs" {
  bucket = aws_s3_bucket.alb_logs.id

  rule {
    id     = "expire-access-logs"
    status = "Enabled"

    filter {}

    expiration {
      days = var.log_retention_days
    }

    noncurrent_version_expiration {
      noncurrent_days = 7
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.alb_logs]
}

data "aws_iam_policy_document" "alb_logs" {
  statement {
    sid       = "ElbAccountWritesAccessLogs"
    effect    = "Allow"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.alb_logs.arn}/${local.alb_logs_prefix}/AWSLogs/${local.account}/*"]

    principals {
      type        = "AWS"
      identifiers = [data.aws_elb_service_account.current.arn]
    }
  }

  statement {
    sid       = "LogDeliveryWritesAccessLogs"
    effect    = "Allow"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.alb_logs.arn}/${local.alb_logs_prefix}/AWSLogs/${local.account}/*"]

    principals {
      type        = "Service"
      identifiers = ["logdelivery.elasticloadbalancing.amazonaws.com"]
    }
  }

  statement {
    sid    = "DenyWithoutTls"
    effect = "Deny"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:DeleteObject",
      "s3:ListBucket",
    ]
    resources = [
      aws_s3_bucket.alb_logs.arn,
      "${aws_s3_bucket.alb_logs.arn}/*",
    ]

    principals {
      type = "*"
      # anyone: this is a Deny, so "*" only narrows access (no request without TLS)
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "alb_logs" {
  bucket = aws_s3_bucket.alb_logs.id
  policy = data.aws_iam_policy_document.alb_logs.json

  depends_on = [aws_s3_bucket_public_access_block.alb_logs]
}

resource "aws_lb" "ui" {
  name                       = local.lb_name
  internal                   = true
  load_balancer_type         = "application"
  security_groups            = [aws_security_group.alb.id]
  subnets                    = var.subnet_ids
  drop_invalid_header_fields = true
  enable_deletion_protection = local.is_prod

  access_logs {
    bucket  = aws_s3_bucket.alb_logs.id
    prefix  = local.alb_logs_prefix
    enabled = true
  }

  tags = merge(var.tags, { Name = "${local.name}-dagster" })

  # the load balancer checks at creation that it may write to the bucket
  depends_on = [aws_s3_bucket_policy.alb_logs]
}

resource "aws_lb_target_group" "webserver" {
  name                 = local.tg_name
  port                 = local.dagster_port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = 30

  health_check {
    enabled             = true
    protocol            = "HTTP"
    path                = "/server_info"
    matcher             = "200"
    interval            = 30
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = merge(var.tags, { Name = "${local.name}-dagster-ui" })
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.ui.arn
  port              = 443
  protocol          = "HTTPS"
  # TLS 1.3 and 1.2 only
  ssl_policy      = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.webserver.arn
  }

  tags = merge(var.tags, { Name = "${local.name}-dagster-https" })
}
