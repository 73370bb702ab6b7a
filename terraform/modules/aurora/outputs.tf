output "cluster_id" {
  description = "Cluster identifier, \"<project>-<environment>-aurora\" (CDC_OPS_NAMES__CLUSTER_ID)."
  value       = aws_rds_cluster.this.cluster_identifier
}

output "cluster_arn" {
  description = "ARN of the cluster (what the auto-stop/auto-start and the control plane may act on)."
  value       = aws_rds_cluster.this.arn
}

output "cluster_resource_id" {
  description = "Cluster resource ID (cluster-XXXX), the resource part of rds-db:connect ARNs for IAM database authentication."
  value       = aws_rds_cluster.this.cluster_resource_id
}

output "writer_endpoint" {
  description = "Writer (cluster) endpoint: Debezium and the replication-slot checks connect here, never through RDS Proxy (CDC_OPS_DATABASE__CLUSTER_HOST)."
  value       = aws_rds_cluster.this.endpoint
}

output "reader_endpoint" {
  description = "Reader endpoint (load-balanced over the replicas; the writer when there is none)."
  value       = aws_rds_cluster.this.reader_endpoint
}

output "port" {
  description = "PostgreSQL port of the cluster."
  value       = aws_rds_cluster.this.port
}

output "database_name" {
  description = "Database created in the cluster (CDC_OPS_DATABASE__NAME)."
  value       = aws_rds_cluster.this.database_name
}

output "master_username" {
  description = "Master user (CDC_OPS_DATABASE__USER)."
  value       = aws_rds_cluster.this.master_username
}

output "master_user_secret_arn" {
  description = "ARN of the RDS-managed Secrets Manager secret holding the master credentials (JSON username/password; CDC_OPS_DATABASE__PASSWORD_SECRET_ARN, RDS Proxy auth)."
  value       = aws_rds_cluster.this.master_user_secret[0].secret_arn
}

output "kms_key_arn" {
  description = "ARN of the module's CMK: storage, Performance Insights, logs and the master user secret (readers of the secret need kms:Decrypt via secretsmanager)."
  value       = module.key.arn
}

output "security_group_id" {
  description = "Security group of the cluster (5432 from allowed_security_group_ids only)."
  value       = aws_security_group.this.id
}
