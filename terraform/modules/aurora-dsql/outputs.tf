output "cluster_identifier" {
  description = "Generated identifier of the DSQL cluster (DSQL clusters have no name; the Name tag is \"<project>-<environment>-dsql\")."
  value       = aws_dsql_cluster.this.identifier
}

output "cluster_arn" {
  description = "ARN of the DSQL cluster (resource of dsql:DbConnect / dsql:DbConnectAdmin)."
  value       = aws_dsql_cluster.this.arn
}

output "host" {
  description = "Public cluster hostname, <identifier>.dsql.<region>.on.aws. From inside the VPC through the endpoint use private_host."
  value       = "${aws_dsql_cluster.this.identifier}.dsql.${local.region}.on.aws"
}

output "private_host" {
  description = "Cluster hostname through the PrivateLink connection endpoint, <identifier>.<service identifier>.<region>.on.aws (resolved by the endpoint's private DNS; valid for verify-full TLS and IAM tokens)."
  value       = "${aws_dsql_cluster.this.identifier}.${local.service_identifier}.${local.region}.on.aws"
}

output "vpc_endpoint_dns" {
  description = "First DNS entry of the interface VPC endpoint."
  value       = aws_vpc_endpoint.this.dns_entry[0].dns_name
}

output "port" {
  description = "PostgreSQL port of Aurora DSQL."
  value       = local.port
}

output "kms_key_arn" {
  description = "ARN of the cluster's CMK (connecting principals get kms:Decrypt/kms:DescribeKey on it)."
  value       = module.key.arn
}

output "security_group_id" {
  description = "Security group of the DSQL VPC endpoint (5432 and 443 from allowed_security_group_ids only)."
  value       = aws_security_group.this.id
}
