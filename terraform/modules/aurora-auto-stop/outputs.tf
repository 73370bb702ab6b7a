output "function_name" {
  description = "Name of the auto-stop Lambda function."
  value       = module.function.function_name
}

output "function_arn" {
  description = "ARN of the auto-stop Lambda function."
  value       = module.function.function_arn
}

output "role_arn" {
  description = "ARN of the function's execution role."
  value       = module.function.role_arn
}

output "schedule_rule_arn" {
  description = "ARN of the EventBridge rule that runs the check."
  value       = aws_cloudwatch_event_rule.schedule.arn
}

output "dead_letter_queue_arn" {
  description = "ARN of the SQS dead-letter queue that receives runs that failed after their retries."
  value       = module.function.dead_letter_queue_arn
}
