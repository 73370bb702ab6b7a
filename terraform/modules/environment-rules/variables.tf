variable "environment" {
  type        = string
  description = "Deployment environment: dev (minimal), test (proxy, auto-start/stop), prod (proxy, never auto-stopped)."

  validation {
    condition     = contains(["dev", "test", "prod"], var.environment)
    error_message = "environment must be one of dev, test, prod."
  }
}

variable "enable_aurora" {
  type        = bool
  description = "Create the Aurora PostgreSQL cluster."
}

variable "enable_aurora_dsql_cluster" {
  type        = bool
  description = "Create the Aurora DSQL cluster."
}

variable "enable_python_lambda_pg" {
  type        = bool
  description = "Create the producer API for Aurora PostgreSQL."
}

variable "enable_python_lambda_dsql" {
  type        = bool
  description = "Create the producer API for Aurora DSQL."
}

variable "enable_rds_proxy" {
  type        = bool
  description = "Allow RDS Proxy in front of the PostgreSQL producer API (it is never created in dev)."
}

variable "enable_auto_stop" {
  type        = bool
  description = "Allow the auto-start/auto-stop Lambdas (they are only ever created in test)."
}

variable "enable_dagster" {
  type        = bool
  description = "Allow the control plane on ECS (it is never created in dev: run `cdc-ops dev` there)."
}

variable "enable_alarms" {
  type        = bool
  description = "Allow the CloudWatch alarms (never created in dev)."
}
