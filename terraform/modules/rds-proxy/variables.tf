variable "project" {
  type        = string
  description = "Project name, the first part of every resource name (cdc_ops settings names.project)."
  default     = "cdc-streaming"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.project))
    error_message = "project must be 3-32 characters: lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "environment" {
  type        = string
  description = "Deployment environment (cdc_ops settings names.environment). The seed deploys the proxy in test and prod."

  validation {
    condition     = contains(["dev", "test", "prod"], var.environment)
    error_message = "environment must be one of dev, test, prod."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags merged into every taggable resource of this module."
  default     = {}
}

variable "cluster_id" {
  type        = string
  description = "Identifier of the Aurora PostgreSQL cluster behind the proxy (the proxy's only target)."

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{0,62}$", var.cluster_id)) && !can(regex("--|-$", var.cluster_id))
    error_message = "cluster_id must be a valid RDS cluster identifier: 1-63 letters, digits or hyphens, starting with a letter, no double or trailing hyphen."
  }
}

variable "secret_arn" {
  type        = string
  description = "ARN of the Secrets Manager secret with the database credentials (the cluster's RDS-managed master user secret, JSON username/password)."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$", var.secret_arn))
    error_message = "secret_arn must be a Secrets Manager secret ARN (arn:<partition>:secretsmanager:<region>:<account>:secret:<name>)."
  }
}

variable "secret_kms_key_arn" {
  type        = string
  description = "ARN of the KMS key that encrypts that secret (the proxy role gets kms:Decrypt on it through Secrets Manager only)."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", var.secret_kms_key_arn))
    error_message = "secret_kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<key-id>), not an alias."
  }
}

variable "vpc_id" {
  type        = string
  description = "VPC of the proxy and of the cluster (the proxy's egress is limited to 5432 in this VPC's CIDR)."

  validation {
    condition     = can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "vpc_id must be a VPC ID (vpc-xxxxxxxx)."
  }
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnets of the proxy: at least two, in different Availability Zones (RDS Proxy requires two AZs)."

  validation {
    condition     = length(var.subnet_ids) >= 2 && alltrue([for s in var.subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", s))])
    error_message = "subnet_ids must hold at least two subnet IDs (subnet-xxxxxxxx)."
  }
}

variable "allowed_security_group_ids" {
  type        = list(string)
  description = "Security groups allowed to connect to the proxy on 5432 (the producer API Lambda)."
  default     = []

  validation {
    condition     = alltrue([for s in var.allowed_security_group_ids : can(regex("^sg-[0-9a-f]{8,17}$", s))])
    error_message = "allowed_security_group_ids must hold security group IDs (sg-xxxxxxxx)."
  }
}

variable "max_connections_percent" {
  type        = number
  description = "Pool size as a percentage of the cluster's max_connections (seed: 80 %, about 1,442 connections shared by 2,000+ Lambdas)."
  default     = 80

  validation {
    condition     = var.max_connections_percent >= 1 && var.max_connections_percent <= 100 && floor(var.max_connections_percent) == var.max_connections_percent
    error_message = "max_connections_percent must be a whole number between 1 and 100."
  }
}

variable "max_idle_connections_percent" {
  type        = number
  description = "Share of max_connections the proxy may keep open while idle (seed: 50 %); must not exceed max_connections_percent."
  default     = 50

  validation {
    condition     = var.max_idle_connections_percent >= 0 && var.max_idle_connections_percent <= 100 && floor(var.max_idle_connections_percent) == var.max_idle_connections_percent
    error_message = "max_idle_connections_percent must be a whole number between 0 and 100."
  }
}

variable "connection_borrow_timeout" {
  type        = number
  description = "Seconds a client waits for a pooled connection when the pool is exhausted before the proxy gives up (seed: 120 s, matching the API's Retry-After)."
  default     = 120

  validation {
    condition     = var.connection_borrow_timeout >= 1 && var.connection_borrow_timeout <= 300 && floor(var.connection_borrow_timeout) == var.connection_borrow_timeout
    error_message = "connection_borrow_timeout must be a whole number of seconds between 1 and 300."
  }
}

variable "idle_client_timeout" {
  type        = number
  description = "Seconds a client connection may stay idle before the proxy closes it (AWS default 1800)."
  default     = 1800

  validation {
    condition     = var.idle_client_timeout >= 1 && var.idle_client_timeout <= 28800 && floor(var.idle_client_timeout) == var.idle_client_timeout
    error_message = "idle_client_timeout must be a whole number of seconds between 1 and 28800 (8 hours)."
  }
}

variable "debug_logging" {
  type        = bool
  description = "Log the SQL statements going through the proxy (troubleshooting only: the log may then contain query data)."
  default     = false
}
