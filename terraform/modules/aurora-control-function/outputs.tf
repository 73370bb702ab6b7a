output "function_name" {
  description = "Name of the function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the function."
  value       = aws_lambda_function.this.arn
}

output "role_arn" {
  description = "ARN of the function's execution role."
  value       = aws_iam_role.this.arn
}

output "dead_letter_queue_arn" {
  description = "ARN of the SQS dead-letter queue that receives runs that failed after their retries."
  value       = aws_sqs_queue.dlq.arn
}
