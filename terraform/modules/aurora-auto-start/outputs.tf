output "function_name" {
  description = "Name of the auto-start Lambda function (the producer API's CDC_OPS_PRODUCER_API__AUTO_START_FUNCTION)."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the auto-start Lambda function (what the producer API's role may invoke)."
  value       = aws_lambda_function.this.arn
}

output "role_arn" {
  description = "ARN of the function's execution role."
  value       = aws_iam_role.this.arn
}

output "dead_letter_queue_arn" {
  description = "ARN of the SQS dead-letter queue that receives start requests that failed or went stale."
  value       = aws_sqs_queue.dlq.arn
}
