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
  description = "Deployment environment (cdc_ops settings names.environment). The auto-start is meant for test, next to the auto-stop."

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
  description = "Identifier of the Aurora PostgreSQL cluster to start on demand (CDC_OPS_NAMES__CLUSTER_ID)."

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{0,62}$", var.cluster_id)) && !can(regex("--|-$", var.cluster_id))
    error_message = "cluster_id must be a valid RDS cluster identifier: 1-63 letters, digits or hyphens, starting with a letter, no double or trailing hyphen."
  }
}

variable "cluster_arn" {
  type        = string
  description = "ARN of that Aurora cluster: the only cluster this function may start and tag."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:rds:[a-z0-9-]+:[0-9]{12}:cluster:[a-zA-Z][a-zA-Z0-9-]*$", var.cluster_arn))
    error_message = "cluster_arn must be an RDS cluster ARN (arn:<partition>:rds:<region>:<account>:cluster:<id>)."
  }
}

variable "package_path" {
  type        = string
  description = "Path of the Lambda zip built by `cdc-ops lambda package auto_start` (dist/auto_start.zip)."

  validation {
    condition     = can(regex("\\.zip$", var.package_path))
    error_message = "package_path must end with \".zip\"."
  }
}

variable "log_retention_days" {
  type        = number
  description = "Retention of the function's CloudWatch log group, in days."
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "architecture" {
  type        = string
  description = "Instruction set of the function (the zip is pure Python plus wheels built for it)."
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}
