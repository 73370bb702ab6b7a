output "ecs_cluster_name" {
  description = "ECS cluster of the control plane (<project>-<environment>-dagster)."
  value       = aws_ecs_cluster.this.name
}

output "webserver_service_name" {
  description = "ECS service running dagster-webserver (the UI)."
  value       = aws_ecs_service.webserver.name
}

output "daemon_service_name" {
  description = "ECS service running the single dagster-daemon (schedules, sensors, run queue)."
  value       = aws_ecs_service.daemon.name
}

output "ui_url" {
  description = "URL of the Dagster UI on the internal load balancer (point a DNS name covered by the certificate at it)."
  value       = "https://${aws_lb.ui.dns_name}"
}

output "storage_endpoint" {
  description = "Host name of the Dagster storage database (PostgreSQL 16, port 5432)."
  value       = aws_db_instance.storage.address
}

output "storage_secret_arn" {
  description = "Secrets Manager secret holding the storage URL (CDC_OPS_DAGSTER__POSTGRES_STORAGE_URL)."
  value       = aws_secretsmanager_secret.storage_url.arn
}

output "task_role_arn" {
  description = "IAM role of the webserver and daemon tasks (what the control plane calls AWS with)."
  value       = aws_iam_role.task.arn
}

output "security_group_id" {
  description = "Security group of the control plane tasks: allow it into the Aurora cluster's security group (the replication slot is read on the writer)."
  value       = aws_security_group.tasks.id
}
