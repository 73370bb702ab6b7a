data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_vpc" "this" {
  id = var.vpc_id
}

locals {
  name = "${var.project}-${var.environment}"

  pg_function_name   = "${local.name}-producer-api-pg"
  dsql_function_name = "${local.name}-producer-api-dsql"
  pg_api_name        = "${local.name}-producer-api"
  dsql_api_name      = "${local.name}-producer-api-dsql"
  stage_name         = "v1"

  partition = data.aws_partition.current.partition
  region    = data.aws_region.current.name
  account   = data.aws_caller_identity.current.account_id

  vpc_cidr    = data.aws_vpc.this.cidr_block
  https_cidrs = length(var.https_egress_cidr_blocks) > 0 ? var.https_egress_cidr_blocks : [local.vpc_cidr]

  # Settings every function reads (cdc_ops.settings, env CDC_OPS_<SECTION>__<KEY>).
  common_environment = {
    CDC_OPS_ENV                = "aws"
    CDC_OPS_NAMES__PROJECT     = var.project
    CDC_OPS_NAMES__ENVIRONMENT = var.environment
    CDC_OPS_AWS__REGION        = local.region
    POWERTOOLS_LOG_LEVEL       = "INFO"
  }

  # Unset (null) settings are left out: the function then uses the settings' own defaults.
  pg_environment_all = merge(local.common_environment, {
    POWERTOOLS_SERVICE_NAME                   = "producer-api-pg"
    CDC_OPS_NAMES__API_NAME                   = local.pg_api_name
    CDC_OPS_DATABASE__PROXY_HOST              = var.database_host
    CDC_OPS_DATABASE__PROXY_PORT              = tostring(var.database_port)
    CDC_OPS_DATABASE__CLUSTER_HOST            = var.database_cluster_host
    CDC_OPS_DATABASE__CLUSTER_PORT            = var.database_cluster_host == null ? null : tostring(var.database_port)
    CDC_OPS_DATABASE__NAME                    = var.database_name
    CDC_OPS_DATABASE__USER                    = var.database_user
    CDC_OPS_DATABASE__PASSWORD_SECRET_ARN     = var.database_secret_arn
    CDC_OPS_PRODUCER_API__AUTO_START_FUNCTION = var.auto_start_function_name
  })

  dsql_environment_all = merge(local.common_environment, {
    POWERTOOLS_SERVICE_NAME = "producer-api-dsql"
    CDC_OPS_NAMES__API_NAME = local.dsql_api_name
    CDC_OPS_DSQL__HOST      = var.dsql_host
    CDC_OPS_DSQL__USER      = var.dsql_user
    CDC_OPS_DSQL__DATABASE  = "postgres"
    CDC_OPS_DSQL__REGION    = local.region
  })

  environment = {
    pg   = { for k, v in local.pg_environment_all : k => v if v != null }
    dsql = { for k, v in local.dsql_environment_all : k => v if v != null }
  }

  apis_all = {
    pg = {
      enabled       = var.enable_pg
      function_name = local.pg_function_name
      api_name      = local.pg_api_name
      database      = "Aurora PostgreSQL"
      handler       = "lambdas.producer_api_pg.handler.handler"
      package_path  = var.pg_package_path
      database_port = var.database_port
      # Secrets Manager (the password) and Lambda (the auto-start) over HTTPS
      https_egress = true
      ready        = var.pg_package_path != null && var.database_host != null && var.database_secret_arn != null
      needs        = "enable_pg = true needs pg_package_path, database_host and database_secret_arn."
    }
    dsql = {
      enabled       = var.enable_dsql
      function_name = local.dsql_function_name
      api_name      = local.dsql_api_name
      database      = "Aurora DSQL"
      handler       = "lambdas.producer_api_dsql.handler.handler"
      package_path  = var.dsql_package_path
      database_port = 5432
      # it signs its IAM token locally and calls no AWS API over HTTPS
      https_egress = false
      ready        = var.dsql_package_path != null && var.dsql_host != null && var.dsql_cluster_arn != null
      needs        = "enable_dsql = true needs dsql_package_path, dsql_host and dsql_cluster_arn."
    }
  }

  apis = { for k, v in local.apis_all : k => v if v.enabled }

  lambda_log_groups = { for k, v in local.apis : k => "/aws/lambda/${v.function_name}" }
  access_log_groups = { for k, v in local.apis : k => "/aws/apigateway/${v.api_name}/${local.stage_name}/access" }

  log_group_arn_prefix = "arn:${local.partition}:logs:${local.region}:${local.account}:log-group:"
}

# ---------------------------------------------------------------------------------------------
# KMS key: the functions' and the APIs' log groups, and the functions' environment variables.
# ---------------------------------------------------------------------------------------------

module "key" {
  source = "../kms-key"
  count  = length(local.apis) > 0 ? 1 : 0

  name        = "${local.name}-producer-api"
  description = "${local.name}-producer-api: log groups and function environment variables"
  tags        = var.tags
  log_group_arns = concat(
    [for k, name in local.lambda_log_groups : "${local.log_group_arn_prefix}${name}"],
    [for k, name in local.access_log_groups : "${local.log_group_arn_prefix}${name}"],
    [for k, api in aws_api_gateway_rest_api.this : "${local.log_group_arn_prefix}API-Gateway-Execution-Logs_${api.id}/${local.stage_name}"],
  )
}

# ---------------------------------------------------------------------------------------------
# Log groups: function logs, API access logs, API execution logs (created here, before API
# Gateway would create it unencrypted and kept forever).
# ---------------------------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "lambda" {
  for_each = local.apis

  name              = local.lambda_log_groups[each.key]
  retention_in_days = var.log_retention_days
  kms_key_id        = module.key[0].arn

  tags = merge(var.tags, { Name = each.value.function_name })
}

resource "aws_cloudwatch_log_group" "access" {
  for_each = local.apis

  name              = local.access_log_groups[each.key]
  retention_in_days = var.log_retention_days
  kms_key_id        = module.key[0].arn

  tags = merge(var.tags, { Name = "${each.value.api_name}-access" })
}

resource "aws_cloudwatch_log_group" "execution" {
  for_each = local.apis

  name              = "API-Gateway-Execution-Logs_${aws_api_gateway_rest_api.this[each.key].id}/${local.stage_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = module.key[0].arn

  tags = merge(var.tags, { Name = "${each.value.api_name}-execution" })
}

# ---------------------------------------------------------------------------------------------
# Network: each function gets its own security group, egress only.
# ---------------------------------------------------------------------------------------------

resource "aws_security_group" "this" {
  for_each = local.apis

  name        = "${each.value.function_name}-lambda"
  description = "${each.value.function_name}: the ${each.value.database} producer API function (egress only)"
  vpc_id      = var.vpc_id

  egress {
    description = "PostgreSQL protocol to the database endpoint in the VPC (RDS Proxy, cluster writer or DSQL VPC endpoint)"
    from_port   = each.value.database_port
    to_port     = each.value.database_port
    protocol    = "tcp"
    cidr_blocks = [local.vpc_cidr]
  }

  dynamic "egress" {
    for_each = each.value.https_egress ? [1] : []

    content {
      description = "HTTPS to the Secrets Manager and Lambda interface VPC endpoints (or NAT)"
      from_port   = 443
      to_port     = 443
      protocol    = "tcp"
      cidr_blocks = local.https_cidrs
    }
  }

  tags = merge(var.tags, { Name = "${each.value.function_name}-lambda" })
}

# ---------------------------------------------------------------------------------------------
# IAM: exactly the calls of cdc_ops.producer (connections, autostart) plus logs, X-Ray and the
# VPC network interfaces Lambda manages with the function's role.
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

resource "aws_iam_role" "lambda" {
  for_each = local.apis

  name                 = "${each.value.function_name}-role"
  description          = "Execution role of ${each.value.function_name}"
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  max_session_duration = 3600

  tags = merge(var.tags, { Name = "${each.value.function_name}-role" })
}

data "aws_iam_policy_document" "lambda" {
  for_each = local.apis

  statement {
    sid    = "WriteOwnLogs"
    effect = "Allow"
    actions = [
      "logs:CreateLogStream",
      "logs:PutLogEvents",
    ]
    resources = ["${aws_cloudwatch_log_group.lambda[each.key].arn}:*"]
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
    sid    = "VpcDescribeNetwork"
    effect = "Allow"
    actions = [
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeSubnets",
    ]
    # Lambda checks the function's subnets and interfaces with this role; EC2 Describe actions
    # support no resource-level permissions: AWS requires "*".
    resources = ["*"]
  }

  statement {
    # Lambda creates the function's network interfaces with this role: only in its subnets and
    # with its own security group.
    sid     = "VpcCreateNetworkInterface"
    effect  = "Allow"
    actions = ["ec2:CreateNetworkInterface"]
    resources = concat(
      ["arn:${local.partition}:ec2:${local.region}:${local.account}:network-interface/*"],
      [for id in var.subnet_ids : "arn:${local.partition}:ec2:${local.region}:${local.account}:subnet/${id}"],
      ["arn:${local.partition}:ec2:${local.region}:${local.account}:security-group/${aws_security_group.this[each.key].id}"],
    )
  }

  statement {
    sid    = "VpcManageNetworkInterfaces"
    effect = "Allow"
    actions = [
      "ec2:DeleteNetworkInterface",
      "ec2:AssignPrivateIpAddresses",
      "ec2:UnassignPrivateIpAddresses",
    ]
    resources = ["arn:${local.partition}:ec2:${local.region}:${local.account}:network-interface/*"]
  }

  # --- PostgreSQL: the password from the RDS-managed secret, and the auto-start function -----

  dynamic "statement" {
    for_each = each.key == "pg" && var.database_secret_arn != null ? [var.database_secret_arn] : []

    content {
      sid       = "ReadDatabasePassword"
      effect    = "Allow"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = each.key == "pg" && var.database_secret_kms_key_arn != null ? [var.database_secret_kms_key_arn] : []

    content {
      sid       = "DecryptDatabasePassword"
      effect    = "Allow"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${local.region}.amazonaws.com"]
      }
    }
  }

  dynamic "statement" {
    for_each = each.key == "pg" && var.auto_start_function_arn != null ? [var.auto_start_function_arn] : []

    content {
      sid       = "InvokeAutoStart"
      effect    = "Allow"
      actions   = ["lambda:InvokeFunction"]
      resources = [statement.value]
    }
  }

  # --- DSQL: IAM authentication (admin needs DbConnectAdmin) and the cluster's key -------------

  dynamic "statement" {
    for_each = each.key == "dsql" && var.dsql_cluster_arn != null ? [var.dsql_cluster_arn] : []

    content {
      sid       = "ConnectToDsql"
      effect    = "Allow"
      actions   = [var.dsql_user == "admin" ? "dsql:DbConnectAdmin" : "dsql:DbConnect"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = each.key == "dsql" && var.dsql_kms_key_arn != null ? [var.dsql_kms_key_arn] : []

    content {
      sid    = "UseDsqlClusterKey"
      effect = "Allow"
      actions = [
        "kms:Decrypt",
        "kms:DescribeKey",
      ]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["dsql.${local.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "lambda" {
  for_each = local.apis

  name   = "${each.value.function_name}-policy"
  role   = aws_iam_role.lambda[each.key].id
  policy = data.aws_iam_policy_document.lambda[each.key].json
}

# ---------------------------------------------------------------------------------------------
# The functions
# ---------------------------------------------------------------------------------------------

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:Invoked only synchronously by API Gateway (the caller gets the error); a dead-letter queue applies to asynchronous invocations only
  #checkov:skip=CKV_AWS_272:No AWS Signer profile exists for this project; the zip is built reproducibly by `cdc-ops lambda package` and pinned by source_code_hash
  for_each = local.apis

  function_name = each.value.function_name
  description   = "cdc-ops producer API (${each.value.database}) behind the REST API ${each.value.api_name}"
  role          = aws_iam_role.lambda[each.key].arn
  handler       = each.value.handler
  runtime       = "python3.11"
  architectures = [var.architecture]

  filename         = each.value.package_path
  source_code_hash = each.value.package_path == null ? null : filebase64sha256(each.value.package_path)

  timeout     = var.timeout
  memory_size = var.memory_size
  # also caps the database connections: each container keeps a pool of producer_api.pool_max_size
  reserved_concurrent_executions = var.reserved_concurrency

  kms_key_arn = module.key[0].arn

  environment {
    variables = local.environment[each.key]
  }

  vpc_config {
    subnet_ids         = var.subnet_ids
    security_group_ids = [aws_security_group.this[each.key].id]
  }

  tracing_config {
    mode = "Active"
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.lambda[each.key].name
  }

  tags = merge(var.tags, { Name = each.value.function_name })

  lifecycle {
    precondition {
      condition     = each.value.ready
      error_message = each.value.needs
    }

    precondition {
      condition     = (var.auto_start_function_name == null) == (var.auto_start_function_arn == null)
      error_message = "Give auto_start_function_name and auto_start_function_arn together (or neither, for no auto-start)."
    }
  }

  depends_on = [
    aws_cloudwatch_log_group.lambda,
    aws_iam_role_policy.lambda,
  ]
}

# ---------------------------------------------------------------------------------------------
# REST APIs (v1: the auto-stop reads AWS/ApiGateway Count by ApiName): ANY / and ANY /{proxy+}
# to the function (AWS_PROXY), one stage "v1".
# ---------------------------------------------------------------------------------------------

resource "aws_api_gateway_rest_api" "this" {
  for_each = local.apis

  name        = each.value.api_name
  description = "cdc-ops producer API (${each.value.database})"

  endpoint_configuration {
    types = ["REGIONAL"]
  }

  tags = merge(var.tags, { Name = each.value.api_name })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_api_gateway_request_validator" "this" {
  for_each = local.apis

  name                        = "${each.value.api_name}-parameters"
  rest_api_id                 = aws_api_gateway_rest_api.this[each.key].id
  validate_request_parameters = true
  # the function validates bodies itself (pydantic models, 400/413/422 answers)
  validate_request_body = false
}

resource "aws_api_gateway_resource" "proxy" {
  for_each = local.apis

  rest_api_id = aws_api_gateway_rest_api.this[each.key].id
  parent_id   = aws_api_gateway_rest_api.this[each.key].root_resource_id
  path_part   = "{proxy+}"
}

resource "aws_api_gateway_method" "root" {
  for_each = local.apis

  rest_api_id          = aws_api_gateway_rest_api.this[each.key].id
  resource_id          = aws_api_gateway_rest_api.this[each.key].root_resource_id
  http_method          = "ANY"
  authorization        = var.api_authorization
  request_validator_id = aws_api_gateway_request_validator.this[each.key].id
}

resource "aws_api_gateway_method" "proxy" {
  for_each = local.apis

  rest_api_id          = aws_api_gateway_rest_api.this[each.key].id
  resource_id          = aws_api_gateway_resource.proxy[each.key].id
  http_method          = "ANY"
  authorization        = var.api_authorization
  request_validator_id = aws_api_gateway_request_validator.this[each.key].id

  request_parameters = {
    "method.request.path.proxy" = true
  }
}

resource "aws_api_gateway_integration" "root" {
  for_each = local.apis

  rest_api_id             = aws_api_gateway_rest_api.this[each.key].id
  resource_id             = aws_api_gateway_method.root[each.key].resource_id
  http_method             = aws_api_gateway_method.root[each.key].http_method
  type                    = "AWS_PROXY"
  integration_http_method = "POST"
  uri                     = aws_lambda_function.this[each.key].invoke_arn
}

resource "aws_api_gateway_integration" "proxy" {
  for_each = local.apis

  rest_api_id             = aws_api_gateway_rest_api.this[each.key].id
  resource_id             = aws_api_gateway_method.proxy[each.key].resource_id
  http_method             = aws_api_gateway_method.proxy[each.key].http_method
  type                    = "AWS_PROXY"
  integration_http_method = "POST"
  uri                     = aws_lambda_function.this[each.key].invoke_arn
}

resource "aws_api_gateway_deployment" "this" {
  for_each = local.apis

  rest_api_id = aws_api_gateway_rest_api.this[each.key].id
  description = "cdc-ops producer API (${each.value.database})"

  # a new deployment whenever the API's configuration changes
  triggers = {
    redeployment = sha1(jsonencode([
      aws_api_gateway_request_validator.this[each.key],
      aws_api_gateway_resource.proxy[each.key],
      aws_api_gateway_method.root[each.key],
      aws_api_gateway_method.proxy[each.key],
      aws_api_gateway_integration.root[each.key],
      aws_api_gateway_integration.proxy[each.key],
    ]))
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_api_gateway_stage" "this" {
  #checkov:skip=CKV_AWS_120:Caching is off on purpose: this is a write API (POST events/cars) and a cached answer would hide a write or serve stale reads
  #checkov:skip=CKV2_AWS_51:Client certificates authenticate API Gateway to an HTTP backend; the only backend here is a Lambda proxy integration invoked through IAM
  #checkov:skip=CKV2_AWS_77:The web ACL is passed in (web_acl_arn) and its rules, incl. the Log4j AMR (KnownBadInputs), are set where it is created; checkov cannot see them
  for_each = local.apis

  rest_api_id           = aws_api_gateway_rest_api.this[each.key].id
  deployment_id         = aws_api_gateway_deployment.this[each.key].id
  stage_name            = local.stage_name
  description           = "cdc-ops producer API (${each.value.database}), version 1"
  xray_tracing_enabled  = true
  cache_cluster_enabled = false

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.access[each.key].arn
    format = jsonencode({
      requestId          = "$context.requestId"
      extendedRequestId  = "$context.extendedRequestId"
      requestTime        = "$context.requestTime"
      sourceIp           = "$context.identity.sourceIp"
      caller             = "$context.identity.caller"
      userArn            = "$context.identity.userArn"
      httpMethod         = "$context.httpMethod"
      resourcePath       = "$context.resourcePath"
      path               = "$context.path"
      protocol           = "$context.protocol"
      status             = "$context.status"
      responseLength     = "$context.responseLength"
      responseLatency    = "$context.responseLatency"
      integrationStatus  = "$context.integration.status"
      integrationLatency = "$context.integration.latency"
      errorMessage       = "$context.error.message"
      xrayTraceId        = "$context.xrayTraceId"
    })
  }

  tags = merge(var.tags, { Name = "${each.value.api_name}-${local.stage_name}" })
}

resource "aws_api_gateway_method_settings" "this" {
  #checkov:skip=CKV_AWS_225:Caching is off on purpose: this is a write API (POST events/cars) and a cached answer would hide a write or serve stale reads
  for_each = local.apis

  rest_api_id = aws_api_gateway_rest_api.this[each.key].id
  stage_name  = aws_api_gateway_stage.this[each.key].stage_name
  method_path = "*/*"

  settings {
    metrics_enabled        = true
    logging_level          = "INFO"
    data_trace_enabled     = false
    throttling_rate_limit  = var.throttling_rate_limit
    throttling_burst_limit = var.throttling_burst_limit
    caching_enabled        = false
    cache_data_encrypted   = true
  }

  # the execution log group must exist (encrypted, with retention) before API Gateway logs
  depends_on = [aws_cloudwatch_log_group.execution]
}

resource "aws_lambda_permission" "api" {
  for_each = local.apis

  statement_id   = "AllowApiGatewayInvoke"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.this[each.key].function_name
  principal      = "apigateway.amazonaws.com"
  source_arn     = "${aws_api_gateway_rest_api.this[each.key].execution_arn}/${local.stage_name}/*/*"
  source_account = local.account
}

resource "aws_wafv2_web_acl_association" "this" {
  for_each = var.web_acl_arn == null ? {} : local.apis

  resource_arn = aws_api_gateway_stage.this[each.key].arn
  web_acl_arn  = var.web_acl_arn
}
