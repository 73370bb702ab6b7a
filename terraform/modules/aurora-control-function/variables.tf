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
  description = "Deployment environment (cdc_ops settings names.environment)."

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

variable "purpose" {
  type        = string
  description = "What the function does to the cluster; it names the function <project>-<environment>-aurora-<purpose>."

  validation {
    condition     = contains(["auto-start", "auto-stop"], var.purpose)
    error_message = "purpose must be auto-start or auto-stop."
  }
}

variable "handler" {
  type        = string
  description = "The handler inside the zip (cdc_ops.tools.packaging.LAMBDAS)."

  validation {
    condition     = contains(["lambdas.auto_start.handler.handler", "lambdas.auto_stop.handler.handler"], var.handler)
    error_message = "handler must be lambdas.auto_start.handler.handler or lambdas.auto_stop.handler.handler."
  }
}

variable "description" {
  type        = string
  description = "Description of the function, for the console."
}

variable "cluster_id" {
  type        = string
  description = "Identifier of the Aurora PostgreSQL cluster (CDC_OPS_NAMES__CLUSTER_ID)."

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{0,62}$", var.cluster_id)) && !can(regex("--|-$", var.cluster_id))
    error_message = "cluster_id must be a valid RDS cluster identifier: 1-63 letters, digits or hyphens, starting with a letter, no double or trailing hyphen."
  }
}

variable "cluster_arn" {
  type        = string
  description = "ARN of that Aurora cluster: the only cluster this function may act on."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:rds:[a-z0-9-]+:[0-9]{12}:cluster:[a-zA-Z][a-zA-Z0-9-]*$", var.cluster_arn))
    error_message = "cluster_arn must be an RDS cluster ARN (arn:<partition>:rds:<region>:<account>:cluster:<id>)."
  }
}

variable "cluster_actions" {
  type        = list(string)
  description = "The RDS actions the handler takes on the cluster (on its ARN only)."

  validation {
    condition     = length(var.cluster_actions) > 0 && alltrue([for a in var.cluster_actions : contains(["rds:DescribeDBClusters", "rds:StartDBCluster", "rds:StopDBCluster", "rds:AddTagsToResource"], a)])
    error_message = "cluster_actions may hold rds:DescribeDBClusters, rds:StartDBCluster, rds:StopDBCluster and rds:AddTagsToResource."
  }
}

variable "read_metrics" {
  type        = bool
  description = "Whether the handler reads CloudWatch metrics (the auto-stop reads AWS/ApiGateway Count)."
  default     = false
}

variable "settings" {
  type        = map(string)
  description = "More CDC_OPS_* settings of the function, besides the names and the region."
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.settings) : can(regex("^CDC_OPS_[A-Z0-9_]+$", k))])
    error_message = "settings keys must be cdc-ops env vars, CDC_OPS_<SECTION>__<KEY>."
  }
}

variable "package_path" {
  type        = string
  description = "Path of the Lambda zip built by `cdc-ops lambda package NAME` (dist/NAME.zip)."

  validation {
    condition     = can(regex("\\.zip$", var.package_path))
    error_message = "package_path must end with \".zip\"."
  }
}

variable "timeout" {
  type        = number
  description = "Seconds the function may run."

  validation {
    condition     = var.timeout >= 3 && var.timeout <= 900
    error_message = "timeout must be between 3 and 900 seconds."
  }
}

variable "reserved_concurrency" {
  type        = number
  description = "How many runs may overlap."

  validation {
    condition     = var.reserved_concurrency >= 1
    error_message = "reserved_concurrency must be at least 1."
  }
}

variable "maximum_event_age_in_seconds" {
  type        = number
  description = "An asynchronous invocation older than this goes to the dead-letter queue instead of running."

  validation {
    condition     = var.maximum_event_age_in_seconds >= 60 && var.maximum_event_age_in_seconds <= 21600
    error_message = "maximum_event_age_in_seconds must be between 60 and 21600."
  }
}

variable "maximum_retry_attempts" {
  type        = number
  description = "Retries of a failed asynchronous invocation."

  validation {
    condition     = var.maximum_retry_attempts >= 0 && var.maximum_retry_attempts <= 2
    error_message = "maximum_retry_attempts must be 0, 1 or 2."
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
