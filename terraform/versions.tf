terraform {
  # 1.11: write-only attributes (modules/dagster keeps its storage password out of the state)
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 7.0"
    }
  }

  # State: configure a backend per account, e.g. `terraform init -backend-config=...` with an
  # S3 bucket and a lock table. Left out here so that nothing names a real account.
}
