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

# --- network -----------------------------------------------------------------------------------

variable "vpc_id" {
  type        = string
  description = "VPC of the database (and of its VPC endpoints); the functions run in it."

  validation {
    condition     = can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "vpc_id must be a VPC ID (vpc-...)."
  }
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnets of that VPC for the functions' network interfaces (at least two, in different AZs)."

  validation {
    condition     = length(var.subnet_ids) >= 2 && alltrue([for s in var.subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", s))])
    error_message = "subnet_ids must hold at least two subnet IDs (subnet-...)."
  }
}

variable "https_egress_cidr_blocks" {
  type        = list(string)
  description = "Where the PostgreSQL function may open HTTPS (Secrets Manager, and Lambda for the auto-start): empty means the VPC CIDR (interface VPC endpoints); give the NAT route's destinations only if the VPC has no such endpoints."
  default     = []

  validation {
    condition     = alltrue([for c in var.https_egress_cidr_blocks : can(cidrnetmask(c))])
    error_message = "https_egress_cidr_blocks must hold IPv4 CIDR blocks."
  }
}

# --- which APIs --------------------------------------------------------------------------------

variable "enable_pg" {
  type        = bool
  description = "Create the Aurora PostgreSQL producer API (Lambda + REST API). Needs pg_package_path, database_host and database_secret_arn."
  default     = false
}

variable "enable_dsql" {
  type        = bool
  description = "Create the Aurora DSQL producer API (Lambda + REST API). Needs dsql_package_path, dsql_host and dsql_cluster_arn."
  default     = false
}

variable "pg_package_path" {
  type        = string
  description = "Path of the zip built by `cdc-ops lambda package producer_api_pg` (dist/producer_api_pg.zip)."
  default     = null

  validation {
    condition     = var.pg_package_path == null || can(regex("\\.zip$", var.pg_package_path))
    error_message = "pg_package_path must end with \".zip\"."
  }
}

variable "dsql_package_path" {
  type        = string
  description = "Path of the zip built by `cdc-ops lambda package producer_api_dsql` (dist/producer_api_dsql.zip)."
  default     = null

  validation {
    condition     = var.dsql_package_path == null || can(regex("\\.zip$", var.dsql_package_path))
    error_message = "dsql_package_path must end with \".zip\"."
  }
}

# --- Aurora PostgreSQL -------------------------------------------------------------------------

variable "database_host" {
  type        = string
  description = "Host the PostgreSQL API connects to: the RDS Proxy endpoint (test/prod) or the cluster writer endpoint (dev) (CDC_OPS_DATABASE__PROXY_HOST)."
  default     = null

  validation {
    condition     = var.database_host == null || can(regex("^[A-Za-z0-9.-]{1,253}$", var.database_host))
    error_message = "database_host must be a DNS name."
  }
}

variable "database_cluster_host" {
  type        = string
  description = "The cluster writer endpoint, when database_host is the proxy (CDC_OPS_DATABASE__CLUSTER_HOST); null leaves it unset."
  default     = null

  validation {
    condition     = var.database_cluster_host == null || can(regex("^[A-Za-z0-9.-]{1,253}$", var.database_cluster_host))
    error_message = "database_cluster_host must be a DNS name."
  }
}

variable "database_port" {
  type        = number
  description = "PostgreSQL port of database_host and database_cluster_host."
  default     = 5432

  validation {
    condition     = var.database_port >= 1 && var.database_port <= 65535 && floor(var.database_port) == var.database_port
    error_message = "database_port must be an integer between 1 and 65535."
  }
}

variable "database_name" {
  type        = string
  description = "Database the producer API writes to (CDC_OPS_DATABASE__NAME)."
  default     = "car_entities"

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_]{0,62}$", var.database_name))
    error_message = "database_name must be a PostgreSQL identifier (letters, digits, underscores; up to 63)."
  }
}

variable "database_user" {
  type        = string
  description = "Database user of the producer API (CDC_OPS_DATABASE__USER); its password is in database_secret_arn."
  default     = "cdc_ops"

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_]{0,62}$", var.database_user))
    error_message = "database_user must be a PostgreSQL identifier (letters, digits, underscores; up to 63)."
  }
}

variable "database_secret_arn" {
  type        = string
  description = "Secrets Manager secret with the database password (RDS-managed JSON, key \"password\"), read at run time (CDC_OPS_DATABASE__PASSWORD_SECRET_ARN)."
  default     = null

  validation {
    condition     = var.database_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$", var.database_secret_arn))
    error_message = "database_secret_arn must be a Secrets Manager secret ARN."
  }
}

variable "database_secret_kms_key_arn" {
  type        = string
  description = "KMS key that encrypts database_secret_arn (null: the secret uses the AWS-managed key)."
  default     = null

  validation {
    condition     = var.database_secret_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.database_secret_kms_key_arn))
    error_message = "database_secret_kms_key_arn must be a KMS key ARN (arn:...:kms:...:key/...)."
  }
}

variable "auto_start_function_name" {
  type        = string
  description = "Name of the aurora-auto-start function the PostgreSQL API invokes when the database does not answer (CDC_OPS_PRODUCER_API__AUTO_START_FUNCTION); null turns auto-start off."
  default     = null

  validation {
    condition     = var.auto_start_function_name == null || can(regex("^[A-Za-z0-9_-]{1,64}$", var.auto_start_function_name))
    error_message = "auto_start_function_name must be a Lambda function name."
  }
}

variable "auto_start_function_arn" {
  type        = string
  description = "ARN of that function: the only function the PostgreSQL API may invoke. Give it together with auto_start_function_name."
  default     = null

  validation {
    condition     = var.auto_start_function_arn == null || can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]{1,64}$", var.auto_start_function_arn))
    error_message = "auto_start_function_arn must be an unqualified Lambda function ARN."
  }
}

# --- Aurora DSQL -------------------------------------------------------------------------------

variable "dsql_host" {
  type        = string
  description = "DSQL cluster endpoint, <identifier>.dsql.<region>.on.aws, resolved to the VPC endpoint by its private DNS (CDC_OPS_DSQL__HOST)."
  default     = null

  validation {
    condition     = var.dsql_host == null || can(regex("^[A-Za-z0-9.-]{1,253}$", var.dsql_host))
    error_message = "dsql_host must be a DNS name (the cluster endpoint <identifier>.dsql.<region>.on.aws)."
  }
}

variable "dsql_cluster_arn" {
  type        = string
  description = "ARN of the DSQL cluster the DSQL API connects to (dsql:DbConnect / dsql:DbConnectAdmin)."
  default     = null

  validation {
    condition     = var.dsql_cluster_arn == null || can(regex("^arn:aws[a-z-]*:dsql:[a-z0-9-]+:[0-9]{12}:cluster/[a-z0-9]+$", var.dsql_cluster_arn))
    error_message = "dsql_cluster_arn must be a DSQL cluster ARN (arn:...:dsql:<region>:<account>:cluster/<identifier>)."
  }
}

variable "dsql_kms_key_arn" {
  type        = string
  description = "Customer managed KMS key of the DSQL cluster (null: DSQL uses an AWS-owned key and the function needs no KMS permission)."
  default     = null

  validation {
    condition     = var.dsql_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.dsql_kms_key_arn))
    error_message = "dsql_kms_key_arn must be a KMS key ARN (arn:...:kms:...:key/...)."
  }
}

variable "dsql_user" {
  type        = string
  description = "Database role the DSQL API connects as (CDC_OPS_DSQL__USER); \"admin\" needs dsql:DbConnectAdmin, any other dsql:DbConnect."
  default     = "admin"

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_]{0,62}$", var.dsql_user))
    error_message = "dsql_user must be a PostgreSQL role name (letters, digits, underscores; up to 63)."
  }
}

# --- API Gateway and functions -----------------------------------------------------------------

variable "api_authorization" {
  type        = string
  description = "Authorization of the API methods: AWS_IAM (SigV4-signed requests only) or NONE (open to the internet)."
  default     = "AWS_IAM"

  validation {
    condition     = contains(["AWS_IAM", "NONE"], var.api_authorization)
    error_message = "api_authorization must be AWS_IAM or NONE."
  }
}

variable "memory_size" {
  type        = number
  description = "Memory of each producer API function, in MB."
  default     = 256

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240 && floor(var.memory_size) == var.memory_size
    error_message = "memory_size must be an integer between 128 and 10240."
  }
}

variable "timeout" {
  type        = number
  description = "Timeout of each producer API function, in seconds (API Gateway itself gives up after 29 s)."
  default     = 30

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900 && floor(var.timeout) == var.timeout
    error_message = "timeout must be an integer between 1 and 900."
  }
}

variable "reserved_concurrency" {
  type        = number
  description = "Reserved concurrent executions of each producer API function: caps the database connections they can open."
  default     = 100

  validation {
    condition     = var.reserved_concurrency >= 1 && floor(var.reserved_concurrency) == var.reserved_concurrency
    error_message = "reserved_concurrency must be a positive integer."
  }
}

variable "log_retention_days" {
  type        = number
  description = "Retention of the functions' log groups and of the APIs' access and execution log groups, in days."
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "architecture" {
  type        = string
  description = "Instruction set of the functions; must match `cdc-ops lambda package --arch` (psycopg ships native wheels)."
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "throttling_rate_limit" {
  type        = number
  description = "Steady-state requests per second each API stage accepts."
  default     = 500

  validation {
    condition     = var.throttling_rate_limit > 0
    error_message = "throttling_rate_limit must be greater than 0."
  }
}

variable "throttling_burst_limit" {
  type        = number
  description = "Burst of requests each API stage accepts."
  default     = 1000

  validation {
    condition     = var.throttling_burst_limit >= 1 && floor(var.throttling_burst_limit) == var.throttling_burst_limit
    error_message = "throttling_burst_limit must be a positive integer."
  }
}

variable "web_acl_arn" {
  type        = string
  description = "Regional WAFv2 web ACL to associate with each API stage (null: none; the APIs then rely on AWS_IAM authorization and stage throttling)."
  default     = null

  validation {
    condition     = var.web_acl_arn == null || can(regex("^arn:aws[a-z-]*:wafv2:[a-z0-9-]+:[0-9]{12}:regional/webacl/.+$", var.web_acl_arn))
    error_message = "web_acl_arn must be a regional WAFv2 web ACL ARN (arn:...:wafv2:<region>:<account>:regional/webacl/<name>/<id>)."
  }
}
