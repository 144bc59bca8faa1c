# One image, one function per stage; OCIFT_STAGE tells each function its stage.
# Sizing (OCI allows 128-3072 MB and at most 300 s per invocation). `retry` is the
# SDK retry budget (OCIFT_RETRY_MAX_SECONDS) each function is configured with, set
# here beside its timeout so the two cannot drift: every timeout is at least the
# budget plus a 30 s margin (tests/deploy checks it), so a burst of 429s ends in the
# code's own error handling, never in the platform killing the function.
#   convert  512 MB / 300 s: streams the raw dataset and writes JSONL through a
#            multipart upload (8 MiB parts, dedupe index in memory); a ~70k-record
#            finance-alpaca file converts in seconds, the headroom is for large files.
#   train    256 MB / 150 s: reads the convert report (or streams a directly dropped
#            JSONL through the validator), then one CreateModel (and at most one
#            CreateDedicatedAiCluster) call; SDK retry budget 120 s.
#   endpoint 256 MB / 150 s: one CreateEndpoint (and maybe a hosting cluster) call.
#   watch    256 MB / 150 s: lists status/ and makes one state call per in-flight
#            dataset, rewriting a few small status objects (reconcile, every 15
#            minutes, also lists the pipeline's models).
#   infer    256 MB /  60 s: one Chat call; API Gateway's own backend timeout is
#            60 s, so more would be wasted; retry budget 30 s.
#   evaluate 256 MB / 300 s: Chat calls for the held-out split (fine-tuned and base,
#            OCIFT_EVAL_CONCURRENCY at a time); it stops claiming examples when the
#            deadline minus the 60 s retry budget nears and resumes in a new invocation.
locals {
  timeout_margin_seconds = 30
  stage_defaults = {
    convert  = { memory = 512, timeout = 300, retry = 120 }
    train    = { memory = 256, timeout = 150, retry = 120 }
    endpoint = { memory = 256, timeout = 150, retry = 120 }
    watch    = { memory = 256, timeout = 150, retry = 120 }
    infer    = { memory = 256, timeout = 60, retry = 30 }
    evaluate = { memory = 256, timeout = 300, retry = 60 }
  }
  stages = {
    for name, s in local.stage_defaults : name => {
      memory  = lookup(var.function_memory_mb, name, s.memory)
      timeout = s.timeout
      retry   = s.retry
    }
  }

  # Function configuration = shared/settings.py fields as OCIFT_* keys (unset ones omitted).
  optional_config = {
    OCIFT_FINETUNING_CLUSTER_ID = var.finetuning_cluster_ocid
    OCIFT_HOSTING_CLUSTER_ID    = var.hosting_cluster_ocid
    OCIFT_NOTIFICATION_TOPIC_ID = var.notification_topic_ocid
    OCIFT_UNIT_PRICES           = var.unit_prices == "" ? null : var.unit_prices
    OCIFT_EVAL_BASE_ENDPOINT_ID = var.eval_base_endpoint_ocid
    OCIFT_EVAL_MAX_PROMPTS      = var.eval_max_prompts == null ? null : tostring(var.eval_max_prompts)
  }
  common_config = merge(
    {
      OCIFT_BUCKET            = oci_objectstorage_bucket.datasets.name
      OCIFT_NAMESPACE         = local.namespace
      OCIFT_COMPARTMENT_ID    = var.compartment_ocid
      OCIFT_REGION            = var.region
      OCIFT_AUTH              = "resource_principal"
      OCIFT_BASE_MODEL        = var.base_model
      OCIFT_APPROVAL          = var.approval
      OCIFT_PIPELINE_NAME     = var.pipeline_name
      OCIFT_MAX_REQUEST_BYTES = tostring(var.max_request_bytes)
      OCIFT_LOG_LEVEL         = "INFO"
    },
    { for k, v in local.optional_config : k => v if v != null },
  )
}

resource "oci_functions_application" "pipeline" {
  compartment_id = var.compartment_ocid
  display_name   = "${var.pipeline_name}-app"
  subnet_ids     = [var.subnet_ocid]
  shape          = "GENERIC_X86"
  freeform_tags  = local.tags
}

resource "oci_functions_function" "stage" {
  for_each = local.stages

  application_id     = oci_functions_application.pipeline.id
  display_name       = "${var.pipeline_name}-${each.key}"
  image              = var.image
  memory_in_mbs      = each.value.memory
  timeout_in_seconds = each.value.timeout
  config = merge(local.common_config, {
    OCIFT_STAGE             = each.key
    OCIFT_RETRY_MAX_SECONDS = tostring(each.value.retry)
  })
  freeform_tags = merge(local.tags, { "ocift-stage" = each.key })
}
