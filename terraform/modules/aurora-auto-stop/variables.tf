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
  description = "Deployment environment (cdc_ops settings names.environment). The auto-stop is meant for test; prod is refused."

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
  description = "Identifier of the Aurora PostgreSQL cluster to stop when idle (CDC_OPS_NAMES__CLUSTER_ID)."

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{0,62}$", var.cluster_id)) && !can(regex("--|-$", var.cluster_id))
    error_message = "cluster_id must be a valid RDS cluster identifier: 1-63 letters, digits or hyphens, starting with a letter, no double or trailing hyphen."
  }
}

variable "cluster_arn" {
  type        = string
  description = "ARN of that Aurora cluster: the only cluster this function may stop, start and tag."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:rds:[a-z0-9-]+:[0-9]{12}:cluster:[a-zA-Z][a-zA-Z0-9-]*$", var.cluster_arn))
    error_message = "cluster_arn must be an RDS cluster ARN (arn:<partition>:rds:<region>:<account>:cluster:<id>)."
  }
}

variable "api_name" {
  type        = string
  description = "Name of the producer API (REST API, v1) whose AWS/ApiGateway Count metric (dimension ApiName) is the activity signal (CDC_OPS_NAMES__API_NAME)."

  validation {
    condition     = length(trimspace(var.api_name)) > 0 && length(var.api_name) <= 1024
    error_message = "api_name must be a non-empty API Gateway REST API name."
  }
}

variable "package_path" {
  type        = string
  description = "Path of the Lambda zip built by `cdc-ops lambda package auto_stop` (dist/auto_stop.zip)."

  validation {
    condition     = can(regex("\\.zip$", var.package_path))
    error_message = "package_path must end with \".zip\"."
  }
}

variable "inactivity_hours" {
  type        = number
  description = "Hours without an API request after which the cluster is stopped (CDC_OPS_AUTO_STOP__INACTIVITY_WINDOW_H)."
  default     = 3

  validation {
    condition     = var.inactivity_hours >= 1 && var.inactivity_hours <= 168
    error_message = "inactivity_hours must be between 1 and 168."
  }
}

variable "schedule_expression" {
  type        = string
  description = "EventBridge schedule of the auto-stop check (rate(...) or cron(...))."
  default     = "rate(1 hour)"

  validation {
    condition     = can(regex("^(rate\\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\\)|cron\\(.+\\))$", var.schedule_expression))
    error_message = "schedule_expression must be an EventBridge rate(...) or cron(...) expression, e.g. \"rate(1 hour)\"."
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
