# OCI Generative AI emits no OCI Events, so the watcher runs on a schedule.
# OCI Functions can be scheduled with Resource Scheduler: a schedule whose
# action START_RESOURCE targets a function invokes it at each recurrence, and
# the schedule needs a policy letting request.principal.type 'resourceschedule'
# invoke it (iam.tf, oci_identity_policy.invokers). Doc:
# https://docs.oracle.com/iaas/Content/Functions/Tasks/functionsschedulingfunctions-about.htm
resource "oci_resource_scheduler_schedule" "watch" {
  compartment_id     = var.compartment_ocid
  display_name       = "${var.pipeline_name}-watch"
  description        = "Poll the pipeline's in-flight Generative AI models and record state changes in status/"
  action             = "START_RESOURCE"
  recurrence_type    = "CRON"
  recurrence_details = var.watch_schedule_cron
  freeform_tags      = local.tags

  resources {
    id = oci_functions_function.stage["watch"].id
  }
}
