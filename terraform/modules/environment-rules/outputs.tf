output "enabled" {
  description = "Which parts the environment root creates: a map of part name to bool."
  value       = local.enabled
}
