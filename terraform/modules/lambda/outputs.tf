output "pg_function_name" {
  description = "Name of the Aurora PostgreSQL producer API function (null when enable_pg is false)."
  value       = try(aws_lambda_function.this["pg"].function_name, null)
}

output "pg_api_name" {
  description = "Name of the Aurora PostgreSQL producer REST API: the ApiName dimension the auto-stop reads (null when disabled)."
  value       = try(aws_api_gateway_rest_api.this["pg"].name, null)
}

output "pg_api_url" {
  description = "Invoke URL of the PostgreSQL API's v1 stage (null when disabled)."
  value       = try(aws_api_gateway_stage.this["pg"].invoke_url, null)
}

output "dsql_function_name" {
  description = "Name of the Aurora DSQL producer API function (null when enable_dsql is false)."
  value       = try(aws_lambda_function.this["dsql"].function_name, null)
}

output "dsql_api_name" {
  description = "Name of the Aurora DSQL producer REST API (null when disabled)."
  value       = try(aws_api_gateway_rest_api.this["dsql"].name, null)
}

output "dsql_api_url" {
  description = "Invoke URL of the DSQL API's v1 stage (null when disabled)."
  value       = try(aws_api_gateway_stage.this["dsql"].invoke_url, null)
}

output "security_group_id" {
  description = "Security group of the PostgreSQL function: allow it into the database / RDS Proxy security group (null when disabled)."
  value       = try(aws_security_group.this["pg"].id, null)
}

output "dsql_security_group_id" {
  description = "Security group of the DSQL function: allow it into the DSQL VPC endpoint's security group (null when disabled)."
  value       = try(aws_security_group.this["dsql"].id, null)
}
