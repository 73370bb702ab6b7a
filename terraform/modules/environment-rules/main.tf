# The seed's deployment rules, in one place, evaluated without any provider.
locals {
  not_dev = var.environment != "dev"
  # only test is stopped when idle (and started on demand): dev has no API traffic to watch,
  # prod must stay up
  auto_start_stop = var.enable_aurora && var.enable_python_lambda_pg && var.enable_auto_stop && var.environment == "test"

  enabled = {
    aurora      = var.enable_aurora
    aurora_dsql = var.enable_aurora_dsql_cluster
    lambda_pg   = var.enable_aurora && var.enable_python_lambda_pg
    lambda_dsql = var.enable_aurora_dsql_cluster && var.enable_python_lambda_dsql
    # dev stays minimal: the producer API talks to the cluster directly
    rds_proxy  = var.enable_aurora && var.enable_python_lambda_pg && var.enable_rds_proxy && local.not_dev
    auto_stop  = local.auto_start_stop
    auto_start = local.auto_start_stop
    dagster    = var.enable_aurora && var.enable_dagster && local.not_dev
    alarms     = var.enable_aurora && var.enable_alarms && local.not_dev
  }
}
