data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  region  = data.aws_region.current.name
  account = data.aws_caller_identity.current.account_id
  root    = "arn:${data.aws_partition.current.partition}:iam::${local.account}:root"
}

# One key policy for every module's customer-managed key: the account administers the key; the
# account's principals may use it only through the listed AWS services; CloudWatch Logs only for
# the listed log groups; other AWS services only as each caller states, with its conditions.
data "aws_iam_policy_document" "this" {
  #checkov:skip=CKV_AWS_109:This is a KMS key policy: "*" resource means this key only; kms:* is the AWS-default account-root administration statement
  #checkov:skip=CKV_AWS_111:This is a KMS key policy: "*" resource means this key only; every other statement is limited by kms:ViaService, the log groups' encryption context or the caller's service conditions
  #checkov:skip=CKV_AWS_356:This is a KMS key policy: "*" resource means this key only (a key policy cannot name its own key ARN)
  statement {
    sid    = "AccountAdministersKey"
    effect = "Allow"
    # AWS default key policy statement: without it the key can become unmanageable (no IAM
    # principal of the account could ever change or delete it again).
    actions = ["kms:*"]
    # In a key policy "*" means this key and nothing else.
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [local.root]
    }
  }

  dynamic "statement" {
    for_each = var.account_use_via

    content {
      sid     = "AccountUsesKeyThrough${title(statement.key)}"
      effect  = "Allow"
      actions = statement.value
      # In a key policy "*" means this key; kms:ViaService limits it to calls made by the service.
      resources = ["*"]

      principals {
        type        = "AWS"
        identifiers = [local.root]
      }

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["${statement.key}.${local.region}.amazonaws.com"]
      }

      condition {
        test     = "StringEquals"
        variable = "kms:CallerAccount"
        values   = [local.account]
      }
    }
  }

  dynamic "statement" {
    for_each = length(var.log_group_arns) > 0 ? [var.log_group_arns] : []

    content {
      sid    = "CloudWatchLogsEncryptsTheseLogGroups"
      effect = "Allow"
      actions = [
        "kms:Encrypt",
        "kms:Decrypt",
        "kms:ReEncryptFrom",
        "kms:ReEncryptTo",
        "kms:GenerateDataKey",
        "kms:GenerateDataKeyWithoutPlaintext",
        "kms:DescribeKey",
      ]
      # In a key policy "*" means this key; the condition limits it to the listed log groups.
      resources = ["*"]

      principals {
        type        = "Service"
        identifiers = ["logs.${local.region}.amazonaws.com"]
      }

      condition {
        test     = "ArnEquals"
        variable = "kms:EncryptionContext:aws:logs:arn"
        values   = statement.value
      }
    }
  }

  dynamic "statement" {
    for_each = var.service_statements

    content {
      sid     = statement.value.sid
      effect  = "Allow"
      actions = statement.value.actions
      # In a key policy "*" means this key; the caller's conditions limit the service's use.
      resources = ["*"]

      principals {
        type        = "Service"
        identifiers = [statement.value.service]
      }

      dynamic "condition" {
        for_each = statement.value.conditions

        content {
          test     = condition.value.test
          variable = condition.value.variable
          values   = condition.value.values
        }
      }
    }
  }
}

resource "aws_kms_key" "this" {
  description             = var.description
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.this.json

  tags = merge(var.tags, { Name = var.name })
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}
