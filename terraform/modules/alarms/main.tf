data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  name = "${var.project}-${var.environment}"

  partition = data.aws_partition.current.partition
  region    = data.aws_region.current.name
  account   = data.aws_caller_identity.current.account_id

  create_topic = var.alarm_topic_arn == null
  topic_name   = "${local.name}-cdc-ops-alerts"
  # built from its parts so that the key policy can name the topic without a dependency cycle
  own_topic_arn = "arn:${local.partition}:sns:${local.region}:${local.account}:${local.topic_name}"
  topic_arn     = local.create_topic ? aws_sns_topic.alerts[0].arn : var.alarm_topic_arn

  # every alarm of this module is named <project>-<environment>-...: CloudWatch may publish to
  # the topic (and use its key) on behalf of these alarms only
  alarm_arn_pattern = "arn:${local.partition}:cloudwatch:${local.region}:${local.account}:alarm:${local.name}-*"

  runbook = "docs/runbook.md"

  # the auto-stop runs hourly: an error keeps the alarm up until an hour has passed without one
  auto_stop_errors_period_seconds = 3600
  # WAL retained by the slot grows steadily; five periods in a row rule out a passing spike
  slot_evaluation_periods = 5
}

# ---------------------------------------------------------------------------------------------
# SNS topic (only when alarm_topic_arn is null), encrypted with a CMK CloudWatch may use.
# ---------------------------------------------------------------------------------------------

module "topic_key" {
  source = "../kms-key"
  count  = local.create_topic ? 1 : 0

  name        = local.topic_name
  description = "${local.topic_name}: SNS topic of the cdc-ops alarms and alerts"
  tags        = var.tags
  # CloudWatch publishes this module's alarms to the encrypted topic, for this topic only
  service_statements = [{
    sid     = "CloudWatchAlarmsPublishToTheEncryptedTopic"
    service = "cloudwatch.amazonaws.com"
    actions = ["kms:Decrypt", "kms:GenerateDataKey"]
    conditions = [
      { test = "StringEquals", variable = "kms:EncryptionContext:aws:sns:topicArn", values = [local.own_topic_arn] },
      { test = "StringEquals", variable = "aws:SourceAccount", values = [local.account] },
      { test = "ArnLike", variable = "aws:SourceArn", values = [local.alarm_arn_pattern] },
    ]
  }]
}

resource "aws_sns_topic" "alerts" {
  count = local.create_topic ? 1 : 0

  name              = local.topic_name
  display_name      = "cdc-ops alerts (${local.name})"
  kms_master_key_id = module.topic_key[0].arn

  tags = merge(var.tags, { Name = local.topic_name })
}

data "aws_iam_policy_document" "topic" {
  count = local.create_topic ? 1 : 0

  statement {
    sid       = "CloudWatchAlarmsPublish"
    effect    = "Allow"
    actions   = ["sns:Publish"]
    resources = [local.own_topic_arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [local.alarm_arn_pattern]
    }
  }

  statement {
    # the account's own principals (the control plane's task role) publish through their IAM
    # policies; nobody may publish or subscribe without TLS
    sid    = "DenyWithoutTls"
    effect = "Deny"
    actions = [
      "sns:Publish",
      "sns:Subscribe",
    ]
    resources = [local.own_topic_arn]

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

resource "aws_sns_topic_policy" "alerts" {
  count = local.create_topic ? 1 : 0

  arn    = aws_sns_topic.alerts[0].arn
  policy = data.aws_iam_policy_document.topic[0].json
}

# ---------------------------------------------------------------------------------------------
# Alarms
# ---------------------------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "proxy_borrow_latency" {
  count = var.proxy_name != null ? 1 : 0

  alarm_name        = "${local.name}-proxy-borrow-latency"
  alarm_description = "RDS Proxy ${var.proxy_name}: clients wait over ${var.borrow_latency_threshold_us / 1000} ms (average DatabaseConnectionsBorrowLatency, microseconds) to borrow a database connection for ${var.borrow_latency_evaluation_periods} period(s) in a row. Runbook: ${local.runbook}#proxy-borrow-latency"

  namespace   = "AWS/RDS"
  metric_name = "DatabaseConnectionsBorrowLatency"
  dimensions = {
    ProxyName = var.proxy_name
  }
  statistic           = "Average"
  period              = var.period_seconds
  evaluation_periods  = var.borrow_latency_evaluation_periods
  datapoints_to_alarm = var.borrow_latency_evaluation_periods
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.borrow_latency_threshold_us
  # no data while nobody borrows or the cluster is stopped (test auto-stop): not a wait
  treat_missing_data = "notBreaching"

  alarm_actions = [local.topic_arn]
  ok_actions    = [local.topic_arn]

  tags = merge(var.tags, { Name = "${local.name}-proxy-borrow-latency" })
}

resource "aws_cloudwatch_metric_alarm" "replication_slot_disk_usage" {
  alarm_name        = "${local.name}-replication-slot-disk-usage"
  alarm_description = "Aurora cluster ${var.cluster_id}: the replication slots keep over ${var.replication_slot_disk_usage_threshold_bytes} bytes of WAL (maximum ReplicationSlotDiskUsage) for ${local.slot_evaluation_periods} period(s) in a row: the CDC connector is not confirming changes. Runbook: ${local.runbook}#slot-retained-wal"

  namespace   = "AWS/RDS"
  metric_name = "ReplicationSlotDiskUsage"
  dimensions = {
    DBClusterIdentifier = var.cluster_id
  }
  statistic           = "Maximum"
  period              = var.period_seconds
  evaluation_periods  = local.slot_evaluation_periods
  datapoints_to_alarm = local.slot_evaluation_periods
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.replication_slot_disk_usage_threshold_bytes
  # a stopped cluster (test auto-stop) publishes nothing: that is not a growing slot
  treat_missing_data = "notBreaching"

  alarm_actions = [local.topic_arn]
  ok_actions    = [local.topic_arn]

  tags = merge(var.tags, { Name = "${local.name}-replication-slot-disk-usage" })
}

resource "aws_cloudwatch_metric_alarm" "aurora_auto_stop_errors" {
  count = var.auto_stop_function_name != null ? 1 : 0

  alarm_name        = "${local.name}-aurora-auto-stop-errors"
  alarm_description = "Lambda ${var.auto_stop_function_name}: the hourly auto-stop failed (Errors > 0 within the last hour). A failed run leaves the cluster as it was (it fails safe) but the cluster may keep running and costing; read the function's log group. Runbook: ${local.runbook}#aurora-auto-stop-errors"

  namespace   = "AWS/Lambda"
  metric_name = "Errors"
  dimensions = {
    FunctionName = var.auto_stop_function_name
  }
  statistic           = "Sum"
  period              = local.auto_stop_errors_period_seconds
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  # between the hourly runs there are no data points: no run, no error
  treat_missing_data = "notBreaching"

  alarm_actions = [local.topic_arn]
  ok_actions    = [local.topic_arn]

  tags = merge(var.tags, { Name = "${local.name}-aurora-auto-stop-errors" })
}
