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
  description = "Deployment environment: dev, test or prod (prod gets a multi-AZ storage database, deletion protection and a final snapshot)."

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
  description = "VPC of the control plane (its CIDR bounds the tasks' database egress)."

  validation {
    condition     = can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "vpc_id must be a VPC id (vpc-...)."
  }
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnets (at least two, in different availability zones) for the tasks, the internal load balancer and the storage database."

  validation {
    condition     = length(var.subnet_ids) >= 2 && alltrue([for s in var.subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", s))])
    error_message = "subnet_ids must hold at least two subnet ids (subnet-...)."
  }
}

variable "image" {
  type        = string
  description = "The cdc-ops container image URI (repository:tag or repository@sha256:digest); an ECR image gets pull permissions on its repository."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9._/:-]*[a-z0-9](:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64})$", var.image))
    error_message = "image must be a container image URI with a tag or a sha256 digest, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/cdc-ops:1.2.3."
  }
}

variable "cpu" {
  type        = number
  description = "CPU units of each task (Fargate: 256, 512, 1024, 2048, 4096, 8192 or 16384)."
  default     = 1024

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.cpu)
    error_message = "cpu must be one of the Fargate sizes 256, 512, 1024, 2048, 4096, 8192, 16384."
  }
}

variable "memory" {
  type        = number
  description = "Memory of each task in MiB; must fit the cpu (Fargate: 2x to 8x the cpu units, 512-2048 for 256)."
  default     = 2048

  validation {
    condition     = var.memory >= 512 && var.memory <= 122880 && var.memory % 512 == 0
    error_message = "memory must be a multiple of 512 MiB from 512 to 122880."
  }
}

variable "cpu_architecture" {
  type        = string
  description = "CPU architecture of the image: X86_64 or ARM64 (Graviton)."
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture must be X86_64 or ARM64."
  }
}

variable "container_user" {
  type        = string
  description = "Numeric uid[:gid] the containers run as (never root)."
  default     = "1000:1000"

  validation {
    condition     = can(regex("^[0-9]+(:[0-9]+)?$", var.container_user)) && !can(regex("^0(:|$)", var.container_user))
    error_message = "container_user must be a numeric uid or uid:gid other than 0 (root)."
  }
}

variable "storage_instance_class" {
  type        = string
  description = "Instance class of the PostgreSQL 16 database holding Dagster's runs, events and schedules."
  default     = "db.t4g.micro"

  validation {
    condition     = can(regex("^db\\.[a-z0-9]+\\.[a-z0-9]+$", var.storage_instance_class))
    error_message = "storage_instance_class must be an RDS instance class such as db.t4g.micro."
  }
}

variable "cluster_id" {
  type        = string
  description = "Identifier of the Aurora PostgreSQL cluster the control plane observes, stops and starts."

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{0,62}$", var.cluster_id))
    error_message = "cluster_id must be an RDS cluster identifier."
  }
}

variable "cluster_arn" {
  type        = string
  description = "ARN of that cluster (the task role's rds: actions are scoped to it)."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:rds:[a-z0-9-]+:[0-9]{12}:cluster:[a-zA-Z][a-zA-Z0-9-]{0,62}$", var.cluster_arn))
    error_message = "cluster_arn must be an RDS cluster ARN (arn:<partition>:rds:<region>:<account>:cluster:<id>)."
  }
}

variable "database_host" {
  type        = string
  description = "The cluster's writer endpoint: the replication slot is read there, never through the proxy."

  validation {
    condition     = can(regex("^[a-zA-Z0-9.-]{1,253}$", var.database_host))
    error_message = "database_host must be a host name."
  }
}

variable "database_name" {
  type        = string
  description = "Database of the CDC source tables on the cluster."

  validation {
    condition     = can(regex("^[a-zA-Z_][a-zA-Z0-9_]{0,62}$", var.database_name))
    error_message = "database_name must be a PostgreSQL identifier (letters, digits, '_'; up to 63)."
  }
}

variable "database_user" {
  type        = string
  description = "User the control plane connects to the cluster as (the cluster's master user)."

  validation {
    condition     = can(regex("^[a-zA-Z_][a-zA-Z0-9_]{0,62}$", var.database_user))
    error_message = "database_user must be a PostgreSQL role name."
  }
}

variable "database_secret_arn" {
  type        = string
  description = "RDS-managed Secrets Manager secret of the cluster's master user (JSON with \"password\"); its password becomes CDC_OPS_DATABASE__PASSWORD."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@!-]+$", var.database_secret_arn))
    error_message = "database_secret_arn must be a Secrets Manager secret ARN."
  }
}

variable "database_secret_kms_key_arn" {
  type        = string
  description = "KMS key that encrypts that secret (the execution role decrypts it through Secrets Manager)."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", var.database_secret_kms_key_arn))
    error_message = "database_secret_kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>)."
  }
}

variable "proxy_name" {
  type        = string
  description = "RDS Proxy whose saturation the control plane watches (CDC_OPS_NAMES__PROXY_NAME); null when there is none (dev)."
  default     = null

  validation {
    condition     = var.proxy_name == null || can(regex("^[a-zA-Z][a-zA-Z0-9-]{0,62}$", var.proxy_name))
    error_message = "proxy_name must be an RDS Proxy name."
  }
}

variable "api_name" {
  type        = string
  description = "Name of the producer REST API whose AWS/ApiGateway Count decides the auto-stop (CDC_OPS_NAMES__API_NAME); null leaves the control plane's default <project>-<environment>-producer-api."

  validation {
    condition     = var.api_name == null ? true : can(regex("^[A-Za-z0-9 _.-]+$", var.api_name)) && length(var.api_name) <= 1024
    error_message = "api_name must be an API Gateway REST API name."
  }
}

variable "alerts_topic_arn" {
  type        = string
  description = "SNS topic the control plane's alerts are published to (with the log); null sends them to the log only."
  default     = null

  validation {
    condition     = var.alerts_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$", var.alerts_topic_arn))
    error_message = "alerts_topic_arn must be the ARN of a standard SNS topic."
  }
}

variable "allowed_cidr_blocks" {
  type        = list(string)
  description = "CIDR blocks that may open the Dagster UI through the internal HTTPS load balancer (VPN, bastion, office ranges); empty lets nobody in."
  default     = []

  validation {
    condition     = alltrue([for c in var.allowed_cidr_blocks : can(cidrhost(c, 0)) && !contains(["0.0.0.0/0", "::/0"], c)])
    error_message = "allowed_cidr_blocks must be CIDR blocks, and neither 0.0.0.0/0 nor ::/0 (the UI has no login of its own)."
  }
}

variable "certificate_arn" {
  type        = string
  description = "ACM certificate of the internal HTTPS load balancer (its name is what users open)."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[a-zA-Z0-9-]+$", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN."
  }
}

variable "log_retention_days" {
  type        = number
  description = "Days the containers' and the storage database's CloudWatch logs, and the load balancer's access logs in S3, are kept."
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "storage_password_version" {
  type        = number
  description = "Raise by one to give the storage database a new password (written, with the URL secret, in one apply; then redeploy both services)."
  default     = 1

  validation {
    condition     = var.storage_password_version >= 1 && floor(var.storage_password_version) == var.storage_password_version
    error_message = "storage_password_version must be a whole number, 1 or more."
  }
}

variable "settings" {
  type        = map(string)
  description = "More cdc-ops settings for both services as CDC_OPS_<SECTION>__<KEY> env vars: Kafka, connector, Flink, consumers (e.g. CDC_OPS_KAFKA__BOOTSTRAP_SERVERS). No secrets here: use secret_settings."
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.settings) : can(regex("^CDC_OPS_[A-Z0-9_]+$", k))])
    error_message = "settings keys must be cdc-ops env vars, CDC_OPS_<SECTION>__<KEY>."
  }

  validation {
    condition     = !anytrue([for k in keys(var.settings) : can(regex("(PASSWORD|SECRET|API_KEY|_URL)$", k))])
    error_message = "settings must not hold secrets (a *PASSWORD, *SECRET, *API_KEY or *_URL key): pass those in secret_settings."
  }
}

variable "secret_settings" {
  type        = map(string)
  description = "Secret cdc-ops settings that ECS injects from Secrets Manager: env var name to valueFrom (\"<secret ARN>\" or \"<secret ARN>:<json key>::\")."
  default     = {}

  validation {
    condition = alltrue([
      for k, v in var.secret_settings :
      can(regex("^CDC_OPS_[A-Z0-9_]+$", k)) && can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:", v))
    ])
    error_message = "secret_settings maps CDC_OPS_* names to Secrets Manager secret ARNs (optionally :<json key>::)."
  }
}

variable "secret_settings_kms_key_arns" {
  type        = list(string)
  description = "KMS keys that encrypt the secret_settings secrets (empty when they use the AWS-managed key)."
  default     = []

  validation {
    condition     = alltrue([for k in var.secret_settings_kms_key_arns : can(regex("^arn:aws[a-z-]*:kms:", k))])
    error_message = "secret_settings_kms_key_arns must be KMS key ARNs."
  }
}
