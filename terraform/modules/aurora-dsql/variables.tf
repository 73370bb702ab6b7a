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
  description = "Deployment environment (cdc_ops settings names.environment); prod gets deletion protection by default."

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
  description = "VPC of the DSQL connection endpoint (interface VPC endpoint) and its security group."

  validation {
    condition     = can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "vpc_id must be a VPC ID (vpc-xxxxxxxx)."
  }
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnets for the endpoint's network interfaces (one per Availability Zone, at least two for availability)."

  validation {
    condition     = length(var.subnet_ids) >= 2 && alltrue([for s in var.subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", s))])
    error_message = "subnet_ids must hold at least two subnet IDs (subnet-xxxxxxxx)."
  }
}

variable "allowed_security_group_ids" {
  type        = list(string)
  description = "Security groups allowed to reach the DSQL endpoint on 5432 and 443 (the DSQL producer API Lambda)."
  default     = []

  validation {
    condition     = alltrue([for s in var.allowed_security_group_ids : can(regex("^sg-[0-9a-f]{8,17}$", s))])
    error_message = "allowed_security_group_ids must hold security group IDs (sg-xxxxxxxx)."
  }
}

variable "deletion_protection" {
  type        = bool
  description = "Deletion protection of the DSQL cluster; null means on for prod only (dev and test must be disposable)."
  default     = null
}
