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

locals {
  in_compartment = "in compartment id ${var.compartment_ocid}"
  bucket_is      = "target.bucket.name = '${oci_objectstorage_bucket.datasets.name}'"

  # Read / write (create, overwrite, never delete) objects under the given prefixes of this bucket.
  object_patterns = {
    raw      = "target.object.name = /raw/*"
    training = "target.object.name = /training/*"
    reports  = "target.object.name = /reports/*"
    status   = "target.object.name = /status/*"
  }
  read_perms  = "any {request.permission = 'OBJECT_READ', request.permission = 'OBJECT_INSPECT'}"
  write_perms = "any {request.permission = 'OBJECT_READ', request.permission = 'OBJECT_INSPECT', request.permission = 'OBJECT_CREATE', request.permission = 'OBJECT_OVERWRITE'}"

  object_reads = {
    convert  = ["raw"]
    train    = ["training", "reports", "status"]
    endpoint = ["training", "reports", "status"]
    watch    = ["training", "status"] # lists training/ to find datasets without a status yet
    infer    = []
  }
  object_writes = {
    convert  = ["training", "reports"]
    train    = ["reports", "status"]
    endpoint = ["reports", "status"]
    watch    = ["status"]
    infer    = []
  }

  genai_statements = {
    convert = []
    train = [
      "manage generative-ai-model",
      "manage generative-ai-dedicated-ai-cluster",
      "read generative-ai-work-request",
    ]
    endpoint = [
      "read generative-ai-model",
      "manage generative-ai-endpoint",
      "manage generative-ai-dedicated-ai-cluster",
      "read generative-ai-work-request",
    ]
    watch = [
      "read generative-ai-model",
      "read generative-ai-endpoint",
      "read generative-ai-dedicated-ai-cluster",
      "read generative-ai-work-request",
    ]
    infer = [
      "read generative-ai-endpoint",
      "read generative-ai-model",
      "use generative-ai-chat",
      "use generative-ai-text-generation",
    ]
  }

  stage_statements = {
    for stage in keys(local.stages) : stage => concat(
      length(local.object_reads[stage]) + length(local.object_writes[stage]) == 0 ? [] : [
        "Allow dynamic-group ${oci_identity_dynamic_group.stage[stage].name} to read buckets ${local.in_compartment} where ${local.bucket_is}",
        # Listing names carries no object name to match, so it is granted bucket-wide (names only, no content).
        "Allow dynamic-group ${oci_identity_dynamic_group.stage[stage].name} to inspect objects ${local.in_compartment} where ${local.bucket_is}",
      ],
      [for p in local.object_reads[stage] :
        "Allow dynamic-group ${oci_identity_dynamic_group.stage[stage].name} to read objects ${local.in_compartment} where all {${local.bucket_is}, ${local.object_patterns[p]}, ${local.read_perms}}"
      ],
      [for p in local.object_writes[stage] :
        "Allow dynamic-group ${oci_identity_dynamic_group.stage[stage].name} to manage objects ${local.in_compartment} where all {${local.bucket_is}, ${local.object_patterns[p]}, ${local.write_perms}}"
      ],
      [for verb_type in local.genai_statements[stage] :
        "Allow dynamic-group ${oci_identity_dynamic_group.stage[stage].name} to ${verb_type} ${local.in_compartment}"
      ],
    )
  }

  ons_statements = var.notification_topic_ocid == null ? [] : [
    "Allow dynamic-group ${oci_identity_dynamic_group.stage["endpoint"].name} to use ons-topics ${local.in_compartment} where target.topic.id = '${var.notification_topic_ocid}'",
  ]

  # Services that invoke the functions: OCI Events (rule actions), API Gateway (/infer)
  # and Resource Scheduler (the watcher), each limited to this compartment.
  invoker_statements = [
    "Allow service cloudEvents to use fn-invocation ${local.in_compartment}",
    "Allow service cloudEvents to read fn-function ${local.in_compartment}",
    "Allow any-user to use fn-invocation ${local.in_compartment} where all {request.principal.type = 'ApiGateway', request.resource.compartment.id = '${var.compartment_ocid}'}",
    "Allow any-user to use fn-invocation ${local.in_compartment} where all {request.principal.type = 'resourceschedule', request.principal.id = '${oci_resource_scheduler_schedule.watch.id}'}",
    "Allow any-user to read fn-function ${local.in_compartment} where all {request.principal.type = 'resourceschedule', request.principal.id = '${oci_resource_scheduler_schedule.watch.id}'}",
  ]
}

resource "oci_identity_policy" "stages" {
  compartment_id = var.compartment_ocid
  name           = "${var.pipeline_name}-functions"
  description    = "Least privilege for the ${var.pipeline_name} stage functions"
  statements     = concat(flatten([for s in keys(local.stages) : local.stage_statements[s]]), local.ons_statements)
  freeform_tags  = local.tags
}

resource "oci_identity_policy" "invokers" {
  compartment_id = var.compartment_ocid
  name           = "${var.pipeline_name}-invokers"
  description    = "Let Events, API Gateway and Resource Scheduler invoke the ${var.pipeline_name} functions"
  statements     = local.invoker_statements
  freeform_tags  = local.tags
}
