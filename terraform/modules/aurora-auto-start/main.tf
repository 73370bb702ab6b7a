# The function, its key, log group, dead-letter queue and role: shared with the auto-stop.
module "function" {
  source = "../aurora-control-function"

  project     = var.project
  environment = var.environment
  tags        = var.tags

  purpose      = "auto-start"
  handler      = "lambdas.auto_start.handler.handler"
  description  = "cdc-ops auto-start: starts ${var.cluster_id} when the producer API finds it stopped"
  package_path = var.package_path
  architecture = var.architecture

  cluster_id  = var.cluster_id
  cluster_arn = var.cluster_arn
  # cdc_ops.cluster.control.auto_start: describe, start, and the action recorded as tags
  cluster_actions = ["rds:DescribeDBClusters", "rds:StartDBCluster", "rds:AddTagsToResource"]

  timeout = 30
  # a burst of failing API requests asks for one start: a few runs suffice (starting is idempotent)
  reserved_concurrency = 5
  # the producer API invokes it asynchronously (InvocationType Event). A start request older than
  # 10 minutes is stale (the client has retried since, or the cluster was stopped again on
  # purpose): drop it to the DLQ instead of starting the cluster hours later.
  maximum_event_age_in_seconds = 600
  maximum_retry_attempts       = 1
  log_retention_days           = var.log_retention_days
}
