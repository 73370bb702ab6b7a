variable "project" {
  type        = string
  description = "Project name: the first part of every resource name (<project>-<environment>-...)."
  default     = "cdc-streaming"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.project))
    error_message = "project must be 3-32 characters of lower-case letters, digits and '-', starting with a letter and not ending with '-'."
  }
}

variable "environment" {
  type        = string
  description = "Deployment environment: dev, test or prod."

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
  description = "Identifier of the Aurora PostgreSQL cluster whose replication slot disk usage is watched (<project>-<environment>-aurora)."

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{0,62}$", var.cluster_id)) && !can(regex("--|-$", var.cluster_id))
    error_message = "cluster_id must be an RDS cluster identifier: 1-63 letters, digits and single hyphens, starting with a letter, not ending with a hyphen."
  }
}

variable "proxy_name" {
  type        = string
  description = "Name of the RDS Proxy whose borrow latency is watched; null (no proxy, e.g. dev) creates no proxy alarm."
  default     = null

  validation {
    condition     = var.proxy_name == null || can(regex("^[a-zA-Z][a-zA-Z0-9-]{0,62}$", var.proxy_name))
    error_message = "proxy_name must be an RDS Proxy name: 1-63 letters, digits and hyphens, starting with a letter."
  }
}

variable "auto_stop_function_name" {
  type        = string
  description = "Name of the aurora-auto-stop Lambda function whose errors are watched; null creates no auto-stop alarm."
  default     = null

  validation {
    condition     = var.auto_stop_function_name == null || can(regex("^[a-zA-Z0-9_-]{1,64}$", var.auto_stop_function_name))
    error_message = "auto_stop_function_name must be a Lambda function name (1-64 letters, digits, '-' and '_')."
  }
}

variable "alarm_topic_arn" {
  type        = string
  description = "Existing SNS topic that receives the alarm and OK notifications; null creates <project>-<environment>-cdc-ops-alerts, encrypted with a CMK of this module."
  default     = null

  validation {
    condition     = var.alarm_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$", var.alarm_topic_arn))
    error_message = "alarm_topic_arn must be the ARN of a standard SNS topic (arn:<partition>:sns:<region>:<account>:<name>)."
  }
}

variable "borrow_latency_threshold_us" {
  type        = number
  description = "Alarm when the RDS Proxy's average DatabaseConnectionsBorrowLatency exceeds this many microseconds (100000 = 100 ms, the control plane's warning threshold)."
  default     = 100000

  validation {
    condition     = var.borrow_latency_threshold_us > 0 && var.borrow_latency_threshold_us <= 300000000
    error_message = "borrow_latency_threshold_us must be above 0 and at most 300000000 (300 s, the longest connection borrow timeout)."
  }
}

variable "borrow_latency_evaluation_periods" {
  type        = number
  description = "How many consecutive periods the borrow latency must be over the threshold before the alarm fires."
  default     = 3

  validation {
    condition     = var.borrow_latency_evaluation_periods >= 1 && var.borrow_latency_evaluation_periods <= 60 && floor(var.borrow_latency_evaluation_periods) == var.borrow_latency_evaluation_periods
    error_message = "borrow_latency_evaluation_periods must be a whole number from 1 to 60."
  }
}

variable "replication_slot_disk_usage_threshold_bytes" {
  type        = number
  description = "Alarm when the cluster's ReplicationSlotDiskUsage (WAL kept for the CDC slot) exceeds this many bytes (1073741824 = 1 GiB, the control plane's warning threshold)."
  default     = 1073741824

  validation {
    condition     = var.replication_slot_disk_usage_threshold_bytes > 0
    error_message = "replication_slot_disk_usage_threshold_bytes must be above 0."
  }
}

variable "period_seconds" {
  type        = number
  description = "CloudWatch period of the proxy and replication slot alarms, in seconds (AWS/RDS publishes every 60 s)."
  default     = 60

  validation {
    condition     = var.period_seconds >= 60 && var.period_seconds <= 86400 && var.period_seconds % 60 == 0
    error_message = "period_seconds must be a multiple of 60 from 60 to 86400 (AWS/RDS metrics have standard resolution)."
  }
}
