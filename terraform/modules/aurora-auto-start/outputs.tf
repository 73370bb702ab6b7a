output "function_name" {
  description = "Name of the auto-start Lambda function (the producer API's CDC_OPS_PRODUCER_API__AUTO_START_FUNCTION)."
  value       = module.function.function_name
}

output "function_arn" {
  description = "ARN of the auto-start Lambda function (what the producer API's role may invoke)."
  value       = module.function.function_arn
}

output "role_arn" {
  description = "ARN of the function's execution role."
  value       = module.function.role_arn
}

output "dead_letter_queue_arn" {
  description = "ARN of the SQS dead-letter queue that receives start requests that failed or went stale."
  value       = module.function.dead_letter_queue_arn
}
