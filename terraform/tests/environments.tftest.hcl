# `terraform test` plans the whole root for each environment against a mocked AWS provider: no
# account, no network (the provider binary still has to be installed for its schema).
# tests/terraform/ runs this with the zips it makes in a scratch dist_dir.

mock_provider "aws" {
  mock_data "aws_region" {
    defaults = {
      name   = "us-east-1"
      region = "us-east-1"
    }
  }
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }
  mock_data "aws_partition" {
    defaults = {
      partition  = "aws"
      dns_suffix = "amazonaws.com"
    }
  }
  mock_data "aws_vpc" {
    defaults = {
      cidr_block = "10.0.0.0/16"
    }
  }
  mock_data "aws_secretsmanager_random_password" {
    defaults = {
      random_password = "mockedpassword0123456789"
    }
  }
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
}

variables {
  vpc_id                  = "vpc-0123456789abcdef0"
  private_subnet_ids      = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
  dagster_image           = "123456789012.dkr.ecr.us-east-1.amazonaws.com/cdc-ops:test"
  dagster_certificate_arn = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
  dagster_ui_cidr_blocks  = ["10.0.0.0/16"]
}

run "dev_is_minimal" {
  command = plan

  variables {
    environment = "dev"
  }

  assert {
    condition     = length(module.aurora) == 1 && module.lambda.pg_function_name == "cdc-streaming-dev-producer-api-pg"
    error_message = "dev has the cluster and the producer API"
  }
  assert {
    condition     = length(module.rds_proxy) + length(module.aurora_auto_stop) + length(module.aurora_auto_start) + length(module.dagster) + length(module.alarms) == 0
    error_message = "dev has no proxy, no auto-stop/start, no control plane on ECS, no alarms"
  }
}

run "test_has_proxy_and_auto_start_stop" {
  command = plan

  variables {
    environment = "test"
  }

  assert {
    condition     = length(module.rds_proxy) == 1 && length(module.aurora_auto_stop) == 1 && length(module.aurora_auto_start) == 1
    error_message = "test has RDS Proxy and the auto-start/stop pair"
  }
  assert {
    condition     = module.aurora_auto_stop[0].function_name == "cdc-streaming-test-aurora-auto-stop"
    error_message = "auto-stop name"
  }
  assert {
    condition     = length(module.dagster) == 1 && length(module.alarms) == 1
    error_message = "test runs the control plane and the alarms"
  }
  assert {
    condition = (
      module.aurora[0].cluster_id == "cdc-streaming-test-aurora" &&
      module.rds_proxy[0].proxy_name == "cdc-streaming-test-proxy" &&
      module.lambda.pg_api_name == "cdc-streaming-test-producer-api"
    )
    error_message = "names are cdc_ops.settings.ResourceNames' defaults for project cdc-streaming"
  }
}

run "dsql_when_enabled" {
  command = plan

  variables {
    environment                = "dev"
    enable_aurora_dsql_cluster = true
    enable_python_lambda_dsql  = true
  }

  assert {
    condition     = length(module.aurora_dsql) == 1 && module.lambda.dsql_function_name == "cdc-streaming-dev-producer-api-dsql"
    error_message = "DSQL and its producer API where enabled"
  }
}

run "prod_has_proxy_and_is_never_stopped" {
  command = plan

  variables {
    environment      = "prod"
    enable_auto_stop = true
  }

  assert {
    condition     = length(module.rds_proxy) == 1 && length(module.aurora_auto_stop) == 0 && length(module.aurora_auto_start) == 0
    error_message = "prod has RDS Proxy and no auto-stop, even with enable_auto_stop = true"
  }
}

run "an_unknown_environment_is_refused" {
  command = plan

  variables {
    environment = "staging"
  }

  expect_failures = [var.environment]
}
