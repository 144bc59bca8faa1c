# Function invocation logs (stdout/stderr of every stage: shared/logs.py writes
# JSON lines, never dataset contents or prompts) and the gateway's logs.
resource "oci_logging_log_group" "pipeline" {
  compartment_id = var.compartment_ocid
  display_name   = "${var.pipeline_name}-logs"
  description    = "Logs of the ${var.pipeline_name} functions and API gateway"
  freeform_tags  = local.tags
}

resource "oci_logging_log" "functions" {
  log_group_id       = oci_logging_log_group.pipeline.id
  display_name       = "${var.pipeline_name}-functions-invoke"
  log_type           = "SERVICE"
  is_enabled         = true
  retention_duration = var.log_retention_days

  configuration {
    compartment_id = var.compartment_ocid
    source {
      category    = "invoke"
      resource    = oci_functions_application.pipeline.id
      service     = "functions"
      source_type = "OCISERVICE"
    }
  }
}

resource "oci_logging_log" "gateway" {
  for_each = toset(["access", "execution"])

  log_group_id       = oci_logging_log_group.pipeline.id
  display_name       = "${var.pipeline_name}-gateway-${each.key}"
  log_type           = "SERVICE"
  is_enabled         = true
  retention_duration = var.log_retention_days

  configuration {
    compartment_id = var.compartment_ocid
    source {
      category    = each.key
      resource    = oci_apigateway_deployment.infer.id
      service     = "apigateway"
      source_type = "OCISERVICE"
    }
  }
}
