# One dynamic group per stage function (matched by its OCID) and least-privilege
# policies. Every statement is scoped to the pipeline compartment, and every
# Object Storage statement to this bucket and the stage's own prefixes.
# Object Storage conditions: docs.oracle.com/iaas/Content/Identity/Reference/objectstoragepolicyreference.htm
# Generative AI resource types: docs.oracle.com/iaas/Content/generative-ai/iam-policies.htm
resource "oci_identity_dynamic_group" "stage" {
  for_each = local.stages

  compartment_id = var.tenancy_ocid # dynamic groups always live in the tenancy
  name           = "${var.pipeline_name}-${each.key}-fn"
  description    = "The ${var.pipeline_name} ${each.key} function (resource principal)"
  matching_rule  = "ALL {resource.type = 'fnfunc', resource.id = '${oci_functions_function.stage[each.key].id}'}"
  freeform_tags  = local.tags
}

# Every statement comes from deploy/iam/*.json (one file per stage function, plus
# services.json and tenancy.json), each with the reason it is needed; the local
# target renders and enforces the very same files. See deploy/oci/README.md.
module "iam_policy" {
  source   = "./modules/iam_policy"
  iam_root = "${path.module}/../iam"
  values = {
    compartment_ocid        = var.compartment_ocid
    bucket_name             = oci_objectstorage_bucket.datasets.name
    region                  = var.region
    gateway_ocid            = oci_apigateway_gateway.infer.id
    schedule_ocid           = oci_resource_scheduler_schedule.watch.id
    convert_function_ocid   = oci_functions_function.stage["convert"].id
    train_function_ocid     = oci_functions_function.stage["train"].id
    endpoint_function_ocid  = oci_functions_function.stage["endpoint"].id
    watch_function_ocid     = oci_functions_function.stage["watch"].id
    infer_function_ocid     = oci_functions_function.stage["infer"].id
    evaluate_function_ocid  = oci_functions_function.stage["evaluate"].id
    bucket_kms_key_ocid     = var.bucket_kms_key_ocid == null ? "" : var.bucket_kms_key_ocid
    notification_topic_ocid = var.notification_topic_ocid == null ? "" : var.notification_topic_ocid
  }
  dynamic_groups = { for stage in keys(local.stages) : stage => oci_identity_dynamic_group.stage[stage].name }
}

locals {
  stage_statements   = flatten([for stage in keys(local.stages) : module.iam_policy.statements[stage]])
  service_statements = module.iam_policy.statements["services"]
  tenancy_statements = module.iam_policy.statements["tenancy"]
}

resource "oci_identity_policy" "stages" {
  compartment_id = var.compartment_ocid
  name           = "${var.pipeline_name}-functions"
  description    = "Least privilege for the ${var.pipeline_name} stage functions"
  statements     = local.stage_statements
  freeform_tags  = local.tags
}

resource "oci_identity_policy" "invokers" {
  compartment_id = var.compartment_ocid
  name           = "${var.pipeline_name}-services"
  description    = "Let Events, API Gateway, Resource Scheduler and Object Storage act for ${var.pipeline_name}"
  statements     = local.service_statements
  freeform_tags  = local.tags
}

# OCI requires the Functions service's image-pull statement in the root compartment.
resource "oci_identity_policy" "tenancy" {
  compartment_id = var.tenancy_ocid
  name           = "${var.pipeline_name}-tenancy"
  description    = "Let OCI Functions pull the ${var.pipeline_name} image from Container Registry"
  statements     = local.tenancy_statements
  freeform_tags  = local.tags
}
