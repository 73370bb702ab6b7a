data "aws_caller_identity" "current" {}

locals {
  name = "${var.project}-${var.environment}"
}

# The function, its key, log group, dead-letter queue and role: shared with the auto-start.
module "function" {
  source = "../aurora-control-function"

  project     = var.project
  environment = var.environment
  tags        = var.tags

  purpose      = "auto-stop"
  handler      = "lambdas.auto_stop.handler.handler"
  description  = "cdc-ops auto-stop: stops ${var.cluster_id} after ${var.inactivity_hours}h without a request to ${var.api_name}"
  package_path = var.package_path
  architecture = var.architecture

  cluster_id  = var.cluster_id
  cluster_arn = var.cluster_arn
  # cdc_ops.cluster.auto_stop via cluster_control: describe, stop, and the action recorded as tags (it
  # never starts the cluster; that is the auto-start's)
  cluster_actions = ["rds:DescribeDBClusters", "rds:StopDBCluster", "rds:AddTagsToResource"]
  # cdc_ops.cluster.activity: AWS/ApiGateway Count of the producer API
  read_metrics = true
  settings = {
    CDC_OPS_NAMES__API_NAME                = var.api_name
    CDC_OPS_AUTO_STOP__INACTIVITY_WINDOW_H = tostring(var.inactivity_hours)
    CDC_OPS_AUTO_STOP__ENVIRONMENTS        = jsonencode([var.environment])
  }

  timeout = 60
  # two overlapping runs must not race on the same cluster
  reserved_concurrency = 1
  # a check older than the next scheduled one is worthless: drop it (to the DLQ) instead
  maximum_event_age_in_seconds = 3300
  maximum_retry_attempts       = 2
  log_retention_days           = var.log_retention_days
}

# ---------------------------------------------------------------------------------------------
# Schedule
# ---------------------------------------------------------------------------------------------

resource "aws_cloudwatch_event_rule" "schedule" {
  name                = "${local.name}-aurora-auto-stop"
  description         = "Runs ${module.function.function_name}: stop ${var.cluster_id} when the producer API was idle for ${var.inactivity_hours}h"
  schedule_expression = var.schedule_expression
  state               = "ENABLED"

  tags = merge(var.tags, { Name = "${local.name}-aurora-auto-stop" })

  lifecycle {
    precondition {
      condition     = var.environment != "prod"
      error_message = "The Aurora auto-stop is never deployed in prod (cdc_ops refuses auto_stop.environments containing prod)."
    }
  }
}

resource "aws_cloudwatch_event_target" "lambda" {
  rule      = aws_cloudwatch_event_rule.schedule.name
  target_id = "aurora-auto-stop"
  arn       = module.function.function_arn

  retry_policy {
    maximum_event_age_in_seconds = 3300
    maximum_retry_attempts       = 3
  }
}

resource "aws_lambda_permission" "schedule" {
  statement_id   = "AllowEventBridgeSchedule"
  action         = "lambda:InvokeFunction"
  function_name  = module.function.function_name
  principal      = "events.amazonaws.com"
  source_arn     = aws_cloudwatch_event_rule.schedule.arn
  source_account = data.aws_caller_identity.current.account_id
}
