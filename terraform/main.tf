# The environment root: which parts exist follows modules/environment-rules (the seed's rules),
# and every name follows cdc_ops.settings.ResourceNames, so that what the control plane observes
# is what Terraform created. Build the Lambda zips first: `cdc-ops lambda package NAME`.

module "rules" {
  source = "./modules/environment-rules"

  environment                = var.environment
  enable_aurora              = var.enable_aurora
  enable_aurora_dsql_cluster = var.enable_aurora_dsql_cluster
  enable_python_lambda_pg    = var.enable_python_lambda_pg
  enable_python_lambda_dsql  = var.enable_python_lambda_dsql
  enable_rds_proxy           = var.enable_rds_proxy
  enable_auto_stop           = var.enable_auto_stop
  enable_dagster             = var.enable_dagster
  enable_alarms              = var.enable_alarms
}

locals {
  on = module.rules.enabled

  packages = {
    producer_api_pg   = "${var.dist_dir}/producer_api_pg.zip"
    producer_api_dsql = "${var.dist_dir}/producer_api_dsql.zip"
    auto_stop         = "${var.dist_dir}/auto_stop.zip"
    auto_start        = "${var.dist_dir}/auto_start.zip"
  }

  # Module outputs are referenced one by one, with [0] behind the rule that creates the module:
  # a whole-module reference (module.x[*]) would make the cluster wait for the modules that read
  # its endpoint, a cycle.
  api_security_group_ids  = local.on.lambda_pg ? [module.lambda.security_group_id] : []
  dsql_security_group_ids = local.on.lambda_dsql ? [module.lambda.dsql_security_group_id] : []
}

module "aurora" {
  source = "./modules/aurora"
  count  = local.on.aurora ? 1 : 0

  project     = var.project
  environment = var.environment
  tags        = var.tags
  vpc_id      = var.vpc_id
  subnet_ids  = var.private_subnet_ids
  # the proxy connects to the cluster; without a proxy (dev) the API does; the control plane
  # reads the replication slot on the cluster endpoint
  allowed_security_group_ids = concat(
    local.on.rds_proxy ? [] : local.api_security_group_ids,
    local.on.rds_proxy ? [module.rds_proxy[0].security_group_id] : [],
    local.on.dagster ? [module.dagster[0].security_group_id] : [],
  )
}

module "rds_proxy" {
  source = "./modules/rds-proxy"
  count  = local.on.rds_proxy ? 1 : 0

  project                    = var.project
  environment                = var.environment
  tags                       = var.tags
  cluster_id                 = module.aurora[0].cluster_id
  secret_arn                 = module.aurora[0].master_user_secret_arn
  secret_kms_key_arn         = module.aurora[0].kms_key_arn
  vpc_id                     = var.vpc_id
  subnet_ids                 = var.private_subnet_ids
  allowed_security_group_ids = local.api_security_group_ids
}

module "aurora_dsql" {
  source = "./modules/aurora-dsql"
  count  = local.on.aurora_dsql ? 1 : 0

  project                    = var.project
  environment                = var.environment
  tags                       = var.tags
  vpc_id                     = var.vpc_id
  subnet_ids                 = var.private_subnet_ids
  allowed_security_group_ids = local.dsql_security_group_ids
}

module "aurora_auto_start" {
  source = "./modules/aurora-auto-start"
  count  = local.on.auto_start ? 1 : 0

  project      = var.project
  environment  = var.environment
  tags         = var.tags
  cluster_id   = module.aurora[0].cluster_id
  cluster_arn  = module.aurora[0].cluster_arn
  package_path = local.packages.auto_start
}

module "aurora_auto_stop" {
  source = "./modules/aurora-auto-stop"
  count  = local.on.auto_stop ? 1 : 0

  project          = var.project
  environment      = var.environment
  tags             = var.tags
  cluster_id       = module.aurora[0].cluster_id
  cluster_arn      = module.aurora[0].cluster_arn
  api_name         = module.lambda.pg_api_name
  package_path     = local.packages.auto_stop
  inactivity_hours = var.inactivity_hours
}

module "lambda" {
  source = "./modules/lambda"

  project           = var.project
  environment       = var.environment
  tags              = var.tags
  vpc_id            = var.vpc_id
  subnet_ids        = var.private_subnet_ids
  api_authorization = var.api_authorization

  enable_pg       = local.on.lambda_pg
  pg_package_path = local.on.lambda_pg ? local.packages.producer_api_pg : null
  # through RDS Proxy in test and prod, straight to the writer in dev
  database_host               = local.on.rds_proxy ? module.rds_proxy[0].endpoint : try(module.aurora[0].writer_endpoint, null)
  database_cluster_host       = try(module.aurora[0].writer_endpoint, null)
  database_name               = try(module.aurora[0].database_name, "car_entities")
  database_user               = try(module.aurora[0].master_username, "cdc_ops")
  database_secret_arn         = try(module.aurora[0].master_user_secret_arn, null)
  database_secret_kms_key_arn = try(module.aurora[0].kms_key_arn, null)
  auto_start_function_name    = try(module.aurora_auto_start[0].function_name, null)
  auto_start_function_arn     = try(module.aurora_auto_start[0].function_arn, null)

  enable_dsql       = local.on.lambda_dsql
  dsql_package_path = local.on.lambda_dsql ? local.packages.producer_api_dsql : null
  # the VPC endpoint's name for the cluster: the Lambda has no route to the public one
  dsql_host        = try(module.aurora_dsql[0].private_host, null)
  dsql_cluster_arn = try(module.aurora_dsql[0].cluster_arn, null)
  dsql_kms_key_arn = try(module.aurora_dsql[0].kms_key_arn, null)

  # the stages log through the account's API Gateway CloudWatch role
  depends_on = [aws_api_gateway_account.this]
}

module "alarms" {
  source = "./modules/alarms"
  count  = local.on.alarms ? 1 : 0

  project                 = var.project
  environment             = var.environment
  tags                    = var.tags
  cluster_id              = module.aurora[0].cluster_id
  proxy_name              = try(module.rds_proxy[0].proxy_name, null)
  auto_stop_function_name = try(module.aurora_auto_stop[0].function_name, null)
  alarm_topic_arn         = var.alarm_topic_arn
}

module "dagster" {
  source = "./modules/dagster"
  count  = local.on.dagster ? 1 : 0

  project                     = var.project
  environment                 = var.environment
  tags                        = var.tags
  vpc_id                      = var.vpc_id
  subnet_ids                  = var.private_subnet_ids
  image                       = var.dagster_image
  certificate_arn             = var.dagster_certificate_arn
  allowed_cidr_blocks         = var.dagster_ui_cidr_blocks
  cluster_id                  = module.aurora[0].cluster_id
  cluster_arn                 = module.aurora[0].cluster_arn
  database_host               = module.aurora[0].writer_endpoint
  database_name               = module.aurora[0].database_name
  database_user               = module.aurora[0].master_username
  database_secret_arn         = module.aurora[0].master_user_secret_arn
  database_secret_kms_key_arn = module.aurora[0].kms_key_arn
  proxy_name                  = try(module.rds_proxy[0].proxy_name, null)
  api_name                    = module.lambda.pg_api_name
  alerts_topic_arn            = try(module.alarms[0].alarm_topic_arn, var.alarm_topic_arn)

  settings                     = var.control_plane_settings
  secret_settings              = var.control_plane_secret_settings
  secret_settings_kms_key_arns = var.control_plane_secret_kms_key_arns
}
