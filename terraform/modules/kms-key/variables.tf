variable "name" {
  type        = string
  description = "Names the key: alias/<name> and the Name tag (the calling module's resource name)."

  validation {
    condition     = can(regex("^[a-zA-Z0-9/_-]{1,200}$", var.name)) && !startswith(var.name, "aws/")
    error_message = "name must be 1-200 letters, digits, /, _ or -, and not start with aws/."
  }
}

variable "description" {
  type        = string
  description = "What the key encrypts."
}

variable "tags" {
  type        = map(string)
  description = "Tags of the key."
  default     = {}
}

variable "log_group_arns" {
  type        = list(string)
  description = "CloudWatch log groups (ARNs, without :*) that CloudWatch Logs may encrypt with this key."
  default     = []

  validation {
    condition     = alltrue([for a in var.log_group_arns : can(regex("^arn:aws[a-z-]*:logs:", a))])
    error_message = "log_group_arns must be CloudWatch Logs log group ARNs."
  }
}

variable "account_use_via" {
  type        = map(list(string))
  description = "AWS services (short names: rds, secretsmanager, dsql...) through which the account's principals may use the key, each with the KMS actions it needs."
  default     = {}

  validation {
    condition     = alltrue([for s, actions in var.account_use_via : can(regex("^[a-z0-9-]+$", s)) && alltrue([for a in actions : can(regex("^kms:[A-Za-z]+$", a))])])
    error_message = "account_use_via maps service short names to lists of KMS actions spelled out (kms:Decrypt...)."
  }
}

variable "service_statements" {
  type = list(object({
    sid     = string
    service = string
    actions = list(string)
    conditions = list(object({
      test     = string
      variable = string
      values   = list(string)
    }))
  }))
  description = "Grants to AWS service principals (e.g. dsql.amazonaws.com, cloudwatch.amazonaws.com), each limited by its conditions."
  default     = []

  validation {
    condition     = alltrue([for s in var.service_statements : length(s.conditions) > 0 && alltrue([for a in s.actions : can(regex("^kms:[A-Za-z]+$", a))])])
    error_message = "service_statements need at least one condition each and KMS actions spelled out (kms:Decrypt...)."
  }
}
