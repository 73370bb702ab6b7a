variable "aws_region" {
  type        = string
  description = "AWS region for everything (cdc_ops settings aws.region)."
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region must look like us-east-1."
  }
}

variable "project" {
  type        = string
  description = "First part of every name (cdc_ops settings names.project)."
  default     = "cdc-streaming"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.project))
    error_message = "project must be 3-32 characters: lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "environment" {
  type        = string
  description = "dev (minimal), test (RDS Proxy, auto-start/stop) or prod (RDS Proxy, never auto-stopped). cdc_ops settings names.environment."

  validation {
    condition     = contains(["dev", "test", "prod"], var.environment)
    error_message = "environment must be one of dev, test, prod."
  }
}

variable "tags" {
  type        = map(string)
  description = "Extra tags for every resource (Project, Environment and ManagedBy are always set)."
  default     = {}
}

variable "vpc_id" {
  type        = string
  description = "VPC that holds the databases, the producer API Lambdas and the control plane."

  validation {
    condition     = can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "vpc_id must be a VPC id such as vpc-0123456789abcdef0."
  }
}

variable "private_subnet_ids" {
  type        = list(string)
  description = "Private subnets in at least two availability zones."

  validation {
    condition     = length(var.private_subnet_ids) >= 2 && alltrue([for s in var.private_subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", s))])
    error_message = "private_subnet_ids needs at least two subnet ids such as subnet-0123456789abcdef0."
  }
}

variable "enable_aurora" {
  type        = bool
  description = "Create the Aurora PostgreSQL cluster (and with it the parts that watch it)."
  default     = true
}

variable "enable_aurora_dsql_cluster" {
  type        = bool
  description = "Create the Aurora DSQL cluster."
  default     = false
}

variable "enable_python_lambda_pg" {
  type        = bool
  description = "Create the producer API for Aurora PostgreSQL."
  default     = true
}

variable "enable_python_lambda_dsql" {
  type        = bool
  description = "Create the producer API for Aurora DSQL (needs enable_aurora_dsql_cluster)."
  default     = false
}

variable "enable_rds_proxy" {
  type        = bool
  description = "RDS Proxy in front of the PostgreSQL producer API in test and prod (never in dev)."
  default     = true
}

variable "enable_auto_stop" {
  type        = bool
  description = "Auto-stop and auto-start of the cluster in test (never in dev or prod)."
  default     = true
}

variable "enable_dagster" {
  type        = bool
  description = "The control plane on ECS in test and prod (in dev, run `cdc-ops dev`)."
  default     = true
}

variable "enable_alarms" {
  type        = bool
  description = "CloudWatch alarms in test and prod."
  default     = true
}

variable "dist_dir" {
  type        = string
  description = "Directory holding the Lambda zips built by `cdc-ops lambda package NAME` (NAME.zip)."
  default     = "../dist"
}

variable "inactivity_hours" {
  type        = number
  description = "Hours without producer API requests before the auto-stop stops the test cluster (cdc_ops settings auto_stop.inactivity_window_h)."
  default     = 3

  validation {
    condition     = var.inactivity_hours >= 1 && var.inactivity_hours <= 168
    error_message = "inactivity_hours must be between 1 and 168."
  }
}

variable "api_authorization" {
  type        = string
  description = "Authorization of the producer API methods: AWS_IAM (SigV4-signed requests) or NONE."
  default     = "AWS_IAM"

  validation {
    condition     = contains(["AWS_IAM", "NONE"], var.api_authorization)
    error_message = "api_authorization must be AWS_IAM or NONE."
  }
}

variable "alarm_topic_arn" {
  type        = string
  description = "Existing SNS topic for alarms and control-plane alerts; null creates one."
  default     = null

  validation {
    condition     = var.alarm_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:", var.alarm_topic_arn))
    error_message = "alarm_topic_arn must be an SNS topic ARN."
  }
}

variable "dagster_image" {
  type        = string
  description = "Container image of cdc-ops (the control plane) for the ECS services; required where Dagster runs (test, prod)."
  default     = null
}

variable "dagster_certificate_arn" {
  type        = string
  description = "ACM certificate for the control plane's internal HTTPS load balancer; required where Dagster runs."
  default     = null
}

variable "dagster_ui_cidr_blocks" {
  type        = list(string)
  description = "Networks allowed to open the Dagster UI through the internal load balancer."
  default     = []

  validation {
    condition     = alltrue([for c in var.dagster_ui_cidr_blocks : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "dagster_ui_cidr_blocks must be CIDR blocks, and not 0.0.0.0/0."
  }
}

variable "manage_api_gateway_account" {
  type        = bool
  description = "Set API Gateway's account-wide CloudWatch logging role (once per account and region); false when another stack owns it."
  default     = true
}

variable "control_plane_settings" {
  type        = map(string)
  description = "More cdc-ops settings for the control plane on ECS (CDC_OPS_KAFKA__BOOTSTRAP_SERVERS, CDC_OPS_CONNECTOR__*, CDC_OPS_FLINK__*...); no secrets."
  default     = {}
}

variable "control_plane_secret_settings" {
  type        = map(string)
  description = "Secret cdc-ops settings for the control plane: CDC_OPS_* name to a Secrets Manager valueFrom (\"<secret ARN>[:<json key>::]\")."
  default     = {}
}

variable "control_plane_secret_kms_key_arns" {
  type        = list(string)
  description = "KMS keys of the control_plane_secret_settings secrets (empty for the AWS-managed key)."
  default     = []
}
