data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  name = "${var.project}-${var.environment}"

  function_name = "${local.name}-aurora-${var.purpose}"
  log_group     = "/aws/lambda/${local.function_name}"

  partition = data.aws_partition.current.partition
  region    = data.aws_region.current.name
  account   = data.aws_caller_identity.current.account_id

  log_group_arn = "arn:${local.partition}:logs:${local.region}:${local.account}:log-group:${local.log_group}"

  # Settings of the function: cdc_ops.settings, env CDC_OPS_<SECTION>__<KEY>.
  environment_variables = merge(var.settings, {
    CDC_OPS_ENV                = "aws"
    CDC_OPS_NAMES__PROJECT     = var.project
    CDC_OPS_NAMES__ENVIRONMENT = var.environment
    CDC_OPS_NAMES__CLUSTER_ID  = var.cluster_id
    CDC_OPS_AWS__REGION        = local.region
    POWERTOOLS_SERVICE_NAME    = "aurora-${var.purpose}"
    POWERTOOLS_LOG_LEVEL       = "INFO"
  })
}

# ---------------------------------------------------------------------------------------------
# KMS key: the log group, the dead-letter queue and the function's environment variables.
# ---------------------------------------------------------------------------------------------

module "key" {
  source = "../kms-key"

  name           = local.function_name
  description    = "${local.function_name}: log group, dead-letter queue and environment variables"
  tags           = var.tags
  log_group_arns = [local.log_group_arn]
}

# ---------------------------------------------------------------------------------------------
# Log group and dead-letter queue
# ---------------------------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "this" {
  name              = local.log_group
  retention_in_days = var.log_retention_days
  kms_key_id        = module.key.arn

  tags = merge(var.tags, { Name = local.function_name })
}

resource "aws_sqs_queue" "dlq" {
  name                              = "${local.function_name}-dlq"
  kms_master_key_id                 = module.key.arn
  kms_data_key_reuse_period_seconds = 300
  # the longest SQS allows: a failed run stays visible for two weeks
  message_retention_seconds = 1209600

  tags = merge(var.tags, { Name = "${local.function_name}-dlq" })
}

# ---------------------------------------------------------------------------------------------
# IAM: exactly the calls of the handler: cluster_actions on the cluster (cdc_ops.cluster.control),
# the two describes of cdc_ops.cluster.state, and CloudWatch metrics when read_metrics (the auto-stop's
# cdc_ops.cluster.activity).
# ---------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "assume" {
  statement {
    sid     = "LambdaAssumesRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name                 = "${local.function_name}-role"
  description          = "Execution role of ${local.function_name}"
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  max_session_duration = 3600

  tags = merge(var.tags, { Name = "${local.function_name}-role" })
}

data "aws_iam_policy_document" "function" {
  statement {
    sid       = "ControlTheCluster"
    effect    = "Allow"
    actions   = var.cluster_actions
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

  dynamic "statement" {
    for_each = var.read_metrics ? ["cloudwatch"] : []

    content {
      sid     = "ReadApiActivity"
      effect  = "Allow"
      actions = ["cloudwatch:GetMetricData"]
      # GetMetricData supports no resource-level permissions: AWS requires "*".
      resources = ["*"]
    }
  }

  statement {
    sid    = "XRayTracing"
    effect = "Allow"
    actions = [
      "xray:PutTraceSegments",
      "xray:PutTelemetryRecords",
    ]
    # X-Ray's PutTraceSegments/PutTelemetryRecords support no resource-level permissions: AWS requires "*".
    resources = ["*"]
  }

  statement {
    sid    = "WriteOwnLogs"
    effect = "Allow"
    actions = [
      "logs:CreateLogStream",
      "logs:PutLogEvents",
    ]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  statement {
    sid       = "SendFailedEventsToDeadLetterQueue"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
  }

  statement {
    sid    = "EncryptDeadLetterMessages"
    effect = "Allow"
    actions = [
      "kms:GenerateDataKey",
      "kms:Decrypt",
    ]
    resources = [module.key.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["sqs.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "${local.function_name}-policy"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.function.json
}

# ---------------------------------------------------------------------------------------------
# The function
# ---------------------------------------------------------------------------------------------

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_117:The function calls only the RDS (and CloudWatch) control-plane APIs, never the database; a VPC would add NAT or endpoints and no protection
  #checkov:skip=CKV_AWS_272:No AWS Signer profile exists for this project; the zip is built reproducibly by `cdc-ops lambda package` and pinned by source_code_hash
  function_name = local.function_name
  description   = var.description
  role          = aws_iam_role.this.arn
  handler       = var.handler
  runtime       = "python3.11"
  architectures = [var.architecture]

  filename         = var.package_path
  source_code_hash = filebase64sha256(var.package_path)

  timeout                        = var.timeout
  memory_size                    = 256
  reserved_concurrent_executions = var.reserved_concurrency

  kms_key_arn = module.key.arn

  environment {
    variables = local.environment_variables
  }

  tracing_config {
    mode = "Active"
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.dlq.arn
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.this.name
  }

  tags = merge(var.tags, { Name = local.function_name })

  depends_on = [
    aws_cloudwatch_log_group.this,
    aws_iam_role_policy.this,
  ]
}

resource "aws_lambda_function_event_invoke_config" "this" {
  function_name                = aws_lambda_function.this.function_name
  maximum_event_age_in_seconds = var.maximum_event_age_in_seconds
  maximum_retry_attempts       = var.maximum_retry_attempts
}
