output "bucket_name" {
  description = "Dataset bucket: drop raw files under raw/."
  value       = oci_objectstorage_bucket.datasets.name
}

output "namespace" {
  description = "Object Storage namespace of the tenancy."
  value       = local.namespace
}

output "infer_url" {
  description = "POST a prompt here (JSON body)."
  value       = "${oci_apigateway_gateway.infer.hostname != null ? "https://${oci_apigateway_gateway.infer.hostname}" : ""}${oci_apigateway_deployment.infer.path_prefix}/infer"
}

output "function_ids" {
  description = "Stage name => function OCID."
  value       = { for stage, fn in oci_functions_function.stage : stage => fn.id }
}

output "application_id" {
  description = "Functions application OCID."
  value       = oci_functions_application.pipeline.id
}

output "event_rule_ids" {
  description = "Rule name (events/<name>.json) => OCI Events rule OCID."
  value       = { for name, rule in oci_events_rule.pipeline : name => rule.id }
}

output "watch_schedule_id" {
  description = "Resource Scheduler schedule that runs the watcher."
  value       = oci_resource_scheduler_schedule.watch.id
}

output "log_group_id" {
  description = "Log group of the functions and the gateway."
  value       = oci_logging_log_group.pipeline.id
}
