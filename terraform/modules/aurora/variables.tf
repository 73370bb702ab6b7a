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
  description = "Deployment environment (cdc_ops settings names.environment); drives the per-environment defaults (size, backups, deletion protection)."

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

variable "vpc_id" {
  type        = string
  description = "VPC of the cluster, its security group and its DB subnet group."

  validation {
    condition     = can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "vpc_id must be a VPC ID (vpc-xxxxxxxx)."
  }
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnets of the DB subnet group: at least two, in different Availability Zones (RDS requires two AZs)."

  validation {
    condition     = length(var.subnet_ids) >= 2 && alltrue([for s in var.subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", s))])
    error_message = "subnet_ids must hold at least two subnet IDs (subnet-xxxxxxxx)."
  }
}

variable "allowed_security_group_ids" {
  type        = list(string)
  description = "Security groups allowed to reach the cluster on 5432 (RDS Proxy, the producer API without a proxy, the control plane, Debezium). Nothing else may connect."
  default     = []

  validation {
    condition     = alltrue([for s in var.allowed_security_group_ids : can(regex("^sg-[0-9a-f]{8,17}$", s))])
    error_message = "allowed_security_group_ids must hold security group IDs (sg-xxxxxxxx)."
  }
}

variable "engine_version" {
  type        = string
  description = "Aurora PostgreSQL engine version; must be a 15.x version (the cluster parameter group family is aurora-postgresql15)."
  default     = "15.10"

  validation {
    condition     = can(regex("^15\\.[0-9]+$", var.engine_version))
    error_message = "engine_version must be an Aurora PostgreSQL 15 version such as \"15.10\" (the parameter group family is aurora-postgresql15)."
  }
}

variable "instance_class" {
  type        = string
  description = "DB instance class of every cluster instance; null picks the environment default (dev db.t4g.medium, test db.t4g.medium, prod db.r6g.large)."
  default     = null

  validation {
    condition     = var.instance_class == null || can(regex("^db\\.[a-z0-9]+\\.[a-z0-9]+$", var.instance_class))
    error_message = "instance_class must be null or a DB instance class such as db.t4g.medium or db.r6g.large."
  }
}

variable "instance_count" {
  type        = number
  description = "Number of cluster instances (one writer, the rest readers and failover targets); null picks the environment default (dev 1, test 1, prod 2)."
  default     = null

  validation {
    condition     = var.instance_count == null || (try(var.instance_count >= 1 && var.instance_count <= 15 && floor(var.instance_count) == var.instance_count, false))
    error_message = "instance_count must be null or a whole number between 1 and 15."
  }
}

variable "database_name" {
  type        = string
  description = "Name of the database created in the cluster (CDC_OPS_DATABASE__NAME)."
  default     = "car_entities"

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_]{0,62}$", var.database_name)) && !contains(["postgres", "template0", "template1", "rdsadmin"], var.database_name)
    error_message = "database_name must be 1-63 lowercase letters, digits or underscores, start with a letter or underscore, and not be a reserved database name."
  }
}

variable "master_username" {
  type        = string
  description = "Master user of the cluster (CDC_OPS_DATABASE__USER); its password is generated and rotated by RDS in Secrets Manager."
  default     = "cdc_ops"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.master_username)) && !contains(["postgres", "rdsadmin", "admin", "rds_superuser", "rds_replication"], var.master_username)
    error_message = "master_username must be 1-63 lowercase letters, digits or underscores, start with a letter, and not be a reserved name (postgres, rdsadmin, admin, ...)."
  }
}

variable "backup_retention_days" {
  type        = number
  description = "Days of automated backups (point-in-time recovery); null picks the environment default (3 for dev and test, 7 for prod)."
  default     = null

  validation {
    condition     = var.backup_retention_days == null || (try(var.backup_retention_days >= 1 && var.backup_retention_days <= 35 && floor(var.backup_retention_days) == var.backup_retention_days, false))
    error_message = "backup_retention_days must be null or a whole number between 1 and 35."
  }
}

variable "deletion_protection" {
  type        = bool
  description = "Deletion protection of the cluster; null means on for prod only (dev and test must be disposable). Prod also takes a final snapshot on destroy."
  default     = null
}

variable "log_retention_days" {
  type        = number
  description = "Retention of the cluster's PostgreSQL log group (/aws/rds/cluster/<id>/postgresql), in days."
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}
