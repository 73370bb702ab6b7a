output "alarm_topic_arn" {
  description = "SNS topic that receives the alarms (and the control plane's alerts): the given one or the one this module created."
  value       = local.topic_arn
}

output "alarm_names" {
  description = "Names of the alarms this module created."
  value = concat(
    aws_cloudwatch_metric_alarm.proxy_borrow_latency[*].alarm_name,
    [aws_cloudwatch_metric_alarm.replication_slot_disk_usage.alarm_name],
    aws_cloudwatch_metric_alarm.aurora_auto_stop_errors[*].alarm_name,
  )
}

output "alarm_arns" {
  description = "ARN of every alarm this module created, by alarm name."
  value = merge(
    { for a in aws_cloudwatch_metric_alarm.proxy_borrow_latency : a.alarm_name => a.arn },
    { (aws_cloudwatch_metric_alarm.replication_slot_disk_usage.alarm_name) = aws_cloudwatch_metric_alarm.replication_slot_disk_usage.arn },
    { for a in aws_cloudwatch_metric_alarm.aurora_auto_stop_errors : a.alarm_name => a.arn },
  )
}
