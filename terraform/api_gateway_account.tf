# API Gateway writes the producer APIs' access and execution logs through one CloudWatch role per
# account and region. Without it, creating a stage with logging fails. Another stack may own it
# already: then set manage_api_gateway_account = false.

data "aws_partition" "current" {}

data "aws_iam_policy_document" "api_gateway_assume" {
  statement {
    sid     = "ApiGatewayAssumesTheLoggingRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["apigateway.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "api_gateway_cloudwatch" {
  count = var.manage_api_gateway_account ? 1 : 0

  name               = "${var.project}-${var.environment}-apigateway-cloudwatch"
  description        = "Lets API Gateway write the producer APIs' logs to CloudWatch Logs."
  assume_role_policy = data.aws_iam_policy_document.api_gateway_assume.json
}

resource "aws_iam_role_policy_attachment" "api_gateway_cloudwatch" {
  count = var.manage_api_gateway_account ? 1 : 0

  role = aws_iam_role.api_gateway_cloudwatch[0].name
  # the AWS-managed policy made for exactly this role (API Gateway names its log groups itself)
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
}

resource "aws_api_gateway_account" "this" {
  count = var.manage_api_gateway_account ? 1 : 0

  cloudwatch_role_arn = aws_iam_role.api_gateway_cloudwatch[0].arn

  depends_on = [aws_iam_role_policy_attachment.api_gateway_cloudwatch]
}
