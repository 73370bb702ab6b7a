output "enabled" {
  description = "Which parts this environment has (modules/environment-rules)."
  value       = module.rules.enabled
}

output "aurora_cluster_id" {
  description = "Aurora PostgreSQL cluster identifier (cdc_ops names.cluster_id)."
  value       = try(module.aurora[0].cluster_id, null)
}

output "aurora_writer_endpoint" {
  description = "Writer endpoint: the CDC connector and the control plane connect here (RDS Proxy carries no replication)."
  value       = try(module.aurora[0].writer_endpoint, null)
}

output "aurora_secret_arn" {
  description = "Secrets Manager secret with the database credentials (RDS-managed, rotated)."
  value       = try(module.aurora[0].master_user_secret_arn, null)
}

output "rds_proxy_name" {
  description = "RDS Proxy name (cdc_ops names.proxy_name), or null where there is none (dev)."
  value       = try(module.rds_proxy[0].proxy_name, null)
}

output "rds_proxy_endpoint" {
  description = "RDS Proxy endpoint the producer API uses."
  value       = try(module.rds_proxy[0].endpoint, null)
}

output "producer_api_url" {
  description = "Invoke URL of the PostgreSQL producer API."
  value       = module.lambda.pg_api_url
}

output "producer_api_dsql_url" {
  description = "Invoke URL of the DSQL producer API."
  value       = module.lambda.dsql_api_url
}

output "aurora_dsql_endpoint" {
  description = "DSQL VPC endpoint DNS name, for connections from inside the VPC."
  value       = try(module.aurora_dsql[0].vpc_endpoint_dns, null)
}

output "aurora_dsql_host" {
  description = "DSQL host name (<cluster-id>.dsql.<region>.on.aws), used for TLS SNI and IAM tokens."
  value       = try(module.aurora_dsql[0].host, null)
}

output "aurora_dsql_cluster_resource_id" {
  description = "DSQL cluster identifier."
  value       = try(module.aurora_dsql[0].cluster_identifier, null)
}

output "aurora_dsql_port" {
  description = "DSQL port."
  value       = try(module.aurora_dsql[0].port, null)
}

output "auto_stop_function_name" {
  description = "The auto-stop Lambda (test only)."
  value       = try(module.aurora_auto_stop[0].function_name, null)
}

output "auto_start_function_name" {
  description = "The auto-start Lambda (test only)."
  value       = try(module.aurora_auto_start[0].function_name, null)
}

output "alarm_topic_arn" {
  description = "SNS topic of the alarms; the control plane's alerts go there too."
  value       = try(module.alarms[0].alarm_topic_arn, var.alarm_topic_arn)
}

output "dagster_ui_url" {
  description = "The control plane's UI behind the internal load balancer."
  value       = try(module.dagster[0].ui_url, null)
}

output "cdc_ops_env" {
  description = "CDC_OPS_* settings for a cdc-ops control plane run elsewhere (a laptop, CI) against this environment. No secrets."
  value = { for k, v in {
    CDC_OPS_ENV                           = "aws"
    CDC_OPS_AWS__REGION                   = var.aws_region
    CDC_OPS_NAMES__PROJECT                = var.project
    CDC_OPS_NAMES__ENVIRONMENT            = var.environment
    CDC_OPS_NAMES__CLUSTER_ID             = try(module.aurora[0].cluster_id, null)
    CDC_OPS_NAMES__PROXY_NAME             = try(module.rds_proxy[0].proxy_name, null)
    CDC_OPS_NAMES__API_NAME               = module.lambda.pg_api_name
    CDC_OPS_DATABASE__CLUSTER_HOST        = try(module.aurora[0].writer_endpoint, null)
    CDC_OPS_DATABASE__PROXY_HOST          = try(module.rds_proxy[0].endpoint, null)
    CDC_OPS_DATABASE__NAME                = try(module.aurora[0].database_name, null)
    CDC_OPS_DATABASE__USER                = try(module.aurora[0].master_username, null)
    CDC_OPS_DATABASE__PASSWORD_SECRET_ARN = try(module.aurora[0].master_user_secret_arn, null)
    CDC_OPS_ALERTS__SNS_TOPIC_ARN         = try(module.alarms[0].alarm_topic_arn, var.alarm_topic_arn)
  } : k => v if v != null }
}
