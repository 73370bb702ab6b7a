output "proxy_name" {
  description = "Name of the proxy, \"<project>-<environment>-proxy\" (CDC_OPS_NAMES__PROXY_NAME; CloudWatch dimension ProxyName)."
  value       = aws_db_proxy.this.name
}

output "proxy_arn" {
  description = "ARN of the proxy."
  value       = aws_db_proxy.this.arn
}

output "endpoint" {
  description = "Proxy endpoint the producer API connects to in test and prod (CDC_OPS_DATABASE__PROXY_HOST, port 5432, TLS required)."
  value       = aws_db_proxy.this.endpoint
}

output "security_group_id" {
  description = "Security group of the proxy: allow it on the cluster's security group (aurora allowed_security_group_ids)."
  value       = aws_security_group.this.id
}
