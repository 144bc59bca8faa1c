variable "tenancy_ocid" {
  description = "Tenancy OCID: dynamic groups live at the tenancy level (policies stay compartment-scoped)."
  type        = string
  validation {
    condition     = can(regex("^ocid1\\.tenancy\\.[a-z0-9-]+\\.[a-z0-9-]*\\.[a-z0-9]+$", var.tenancy_ocid))
    error_message = "tenancy_ocid must be a tenancy OCID (ocid1.tenancy.oc1..xxxx)."
  }
}

variable "compartment_ocid" {
  description = "Compartment that holds every pipeline resource and that every policy statement is scoped to."
  type        = string
  validation {
    condition     = can(regex("^ocid1\\.(compartment|tenancy)\\.[a-z0-9-]+\\.[a-z0-9-]*\\.[a-z0-9]+$", var.compartment_ocid))
    error_message = "compartment_ocid must be a compartment OCID (ocid1.compartment.oc1..xxxx)."
  }
}

variable "oci_config_profile" {
  description = "Profile of ~/.oci/config the oci provider signs with when run from your machine (API key auth); empty = DEFAULT. Leave empty in Resource Manager, which authenticates the stack itself."
  type        = string
  default     = ""
}

variable "region" {
  description = "Region identifier, e.g. us-chicago-1 (one where OCI Generative AI fine-tuning is offered)."
  type        = string
  validation {
    condition     = can(regex("^[a-z]+-[a-z]+-[0-9]+$", var.region))
    error_message = "region must look like us-chicago-1."
  }
}

variable "subnet_ocid" {
  description = "Subnet for the Functions application and the API gateway (private subnet with a NAT or service gateway recommended; the gateway may use a public one)."
  type        = string
  validation {
    condition     = can(regex("^ocid1\\.subnet\\.[a-z0-9-]+\\.[a-z0-9-]*\\.[a-z0-9]+$", var.subnet_ocid))
    error_message = "subnet_ocid must be a subnet OCID."
  }
}

variable "gateway_subnet_ocid" {
  description = "Subnet of the API gateway; defaults to subnet_ocid. A PUBLIC gateway needs a public subnet."
  type        = string
  default     = null
  validation {
    condition     = var.gateway_subnet_ocid == null || can(regex("^ocid1\\.subnet\\.", var.gateway_subnet_ocid))
    error_message = "gateway_subnet_ocid must be a subnet OCID."
  }
}

variable "gateway_endpoint_type" {
  description = "PUBLIC or PRIVATE API gateway."
  type        = string
  default     = "PUBLIC"
  validation {
    condition     = contains(["PUBLIC", "PRIVATE"], var.gateway_endpoint_type)
    error_message = "gateway_endpoint_type is PUBLIC or PRIVATE."
  }
}

variable "image" {
  description = "Full OCIR reference of the ONE function image (fn build or deploy/oci/Dockerfile), e.g. us-chicago-1.ocir.io/<namespace>/ocift/ocift:0.1.0."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9-]+\\.ocir\\.io/[a-z0-9_-]+/[a-z0-9._/-]+:[A-Za-z0-9._-]+$", var.image))
    error_message = "image must be an OCIR reference with a tag: <region-key>.ocir.io/<namespace>/<repo>:<tag>."
  }
}

variable "pipeline_name" {
  description = "Names every resource and tags everything the pipeline creates (several pipelines may share a compartment)."
  type        = string
  default     = "ocift"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.pipeline_name))
    error_message = "pipeline_name: 2-31 lower-case letters, digits or '-', starting with a letter."
  }
}

variable "bucket_name" {
  description = "Name of the dataset bucket (raw/, training/, reports/, status/)."
  type        = string
  default     = "ocift-datasets"
  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,256}$", var.bucket_name))
    error_message = "bucket_name: letters, digits, '.', '_' or '-'."
  }
}

variable "bucket_kms_key_ocid" {
  description = "Optional Vault key to encrypt the bucket with (customer-managed key); Oracle-managed keys otherwise."
  type        = string
  default     = null
  validation {
    condition     = var.bucket_kms_key_ocid == null || can(regex("^ocid1\\.key\\.", var.bucket_kms_key_ocid))
    error_message = "bucket_kms_key_ocid must be a key OCID."
  }
}

variable "base_model" {
  description = "Base model to fine-tune (OCIFT_BASE_MODEL)."
  type        = string
  default     = "cohere.command-r-08-2024"
}

variable "approval" {
  description = "OCIFT_APPROVAL: \"required\" (recommended for tenancies) stops every valid dataset at AWAITING_APPROVAL with its plan until a user runs `ocift approve NAME`; \"none\" trains at once."
  type        = string
  default     = "none"
  validation {
    condition     = contains(["none", "required"], var.approval)
    error_message = "approval must be \"none\" or \"required\"."
  }
}

variable "unit_prices" {
  description = "OCIFT_UNIT_PRICES: your price per unit-hour by unit shape (\"SMALL_COHERE_V2=12.5,LARGE_GENERIC=30\") for money in plans; empty shows unit-hours only."
  type        = string
  default     = ""
}

variable "finetuning_cluster_ocid" {
  description = "Existing fine-tuning dedicated AI cluster to reuse (OCIFT_FINETUNING_CLUSTER_ID); the train stage creates one when unset."
  type        = string
  default     = null
  validation {
    condition     = var.finetuning_cluster_ocid == null || can(regex("^ocid1\\.generativeaidedicatedaicluster\\.", var.finetuning_cluster_ocid))
    error_message = "finetuning_cluster_ocid must be a dedicated AI cluster OCID."
  }
}

variable "hosting_cluster_ocid" {
  description = "Existing hosting dedicated AI cluster to reuse (OCIFT_HOSTING_CLUSTER_ID); the endpoint stage creates one when unset."
  type        = string
  default     = null
  validation {
    condition     = var.hosting_cluster_ocid == null || can(regex("^ocid1\\.generativeaidedicatedaicluster\\.", var.hosting_cluster_ocid))
    error_message = "hosting_cluster_ocid must be a dedicated AI cluster OCID."
  }
}

variable "notification_topic_ocid" {
  description = "Optional ONS topic the endpoint stage publishes to when an endpoint is ready (OCIFT_NOTIFICATION_TOPIC_ID)."
  type        = string
  default     = null
  validation {
    condition     = var.notification_topic_ocid == null || can(regex("^ocid1\\.onstopic\\.", var.notification_topic_ocid))
    error_message = "notification_topic_ocid must be a Notifications topic OCID."
  }
}

variable "function_memory_mb" {
  description = "Memory per stage in MB (OCI allows 128, 256, 512, 1024, 2048, 3072). Missing stages keep the defaults in functions.tf."
  type        = map(number)
  default     = {}
  validation {
    condition     = alltrue([for m in values(var.function_memory_mb) : contains([128, 256, 512, 1024, 2048, 3072], m)])
    error_message = "function_memory_mb values must be one of 128, 256, 512, 1024, 2048, 3072."
  }
  validation {
    condition     = alltrue([for k in keys(var.function_memory_mb) : contains(["convert", "train", "endpoint", "watch", "infer", "evaluate"], k)])
    error_message = "function_memory_mb keys are stage names: convert, train, endpoint, watch, infer, evaluate."
  }
}

variable "watch_schedule_cron" {
  description = "How often the watcher polls in-flight models (CRON, UTC). Resource Scheduler runs it; GenAI emits no events."
  type        = string
  default     = "*/5 * * * *"
  validation {
    condition     = length(split(" ", var.watch_schedule_cron)) == 5
    error_message = "watch_schedule_cron is a 5-field cron expression."
  }
}

variable "gateway_auth" {
  description = "Authentication of POST /infer: \"jwt\" (OCI IAM identity domain / any OIDC issuer, see jwt_* variables), \"function\" (an authorizer function, see authorizer_function_ocid) or \"none\" (not recommended: the route then rests on network controls alone)."
  type        = string
  default     = "jwt"
  validation {
    condition     = contains(["jwt", "function", "none"], var.gateway_auth)
    error_message = "gateway_auth is jwt, function or none."
  }
}

variable "jwt_issuer" {
  description = "Accepted JWT issuer, e.g. https://identity.oraclecloud.com/ for an OCI IAM identity domain."
  type        = string
  default     = "https://identity.oraclecloud.com/"
}

variable "jwt_audience" {
  description = "Accepted JWT audience (the identity domain application's primary audience)."
  type        = string
  default     = "ocift"
}

variable "jwt_jwks_uri" {
  description = "JWKS URI of the issuer, e.g. https://idcs-<id>.identity.oraclecloud.com/admin/v1/SigningCert/jwk."
  type        = string
  default     = ""
}

variable "authorizer_function_ocid" {
  description = "Authorizer function OCID when gateway_auth = \"function\" (receives the token header)."
  type        = string
  default     = null
  validation {
    condition     = var.authorizer_function_ocid == null || can(regex("^ocid1\\.fnfunc\\.", var.authorizer_function_ocid))
    error_message = "authorizer_function_ocid must be a function OCID."
  }
}

variable "infer_rate_limit_rps" {
  description = "Requests per second per client IP accepted on /infer (API Gateway rate limiting)."
  type        = number
  default     = 10
  validation {
    condition     = var.infer_rate_limit_rps >= 1 && var.infer_rate_limit_rps <= 10000
    error_message = "infer_rate_limit_rps must be between 1 and 10000."
  }
}

variable "max_request_bytes" {
  description = "Largest /infer body the infer function accepts (OCIFT_MAX_REQUEST_BYTES); larger bodies get 413."
  type        = number
  default     = 262144
  validation {
    condition     = var.max_request_bytes >= 1024 && var.max_request_bytes <= 6291456
    error_message = "max_request_bytes must be between 1 KiB and 6 MiB (the OCI Functions invoke body limit)."
  }
}

variable "log_retention_days" {
  description = "Retention of the function and gateway logs (30-day steps, as OCI Logging allows)."
  type        = number
  default     = 30
  validation {
    condition     = contains([30, 60, 90, 120, 150, 180], var.log_retention_days)
    error_message = "log_retention_days is one of 30, 60, 90, 120, 150, 180."
  }
}

variable "eval_base_endpoint_ocid" {
  description = "Endpoint the evaluate stage compares each fine-tuned version with (OCIFT_EVAL_BASE_ENDPOINT_ID); unset: the base model on demand where the region offers it."
  type        = string
  default     = null
  validation {
    condition     = var.eval_base_endpoint_ocid == null || can(regex("^ocid1\\.generativeaiendpoint\\.", var.eval_base_endpoint_ocid))
    error_message = "eval_base_endpoint_ocid must be a Generative AI endpoint OCID."
  }
}

variable "eval_max_prompts" {
  description = "At most this many held-out prompts evaluated per model version (OCIFT_EVAL_MAX_PROMPTS); on-demand base calls are billed per call. Unset: the whole split (at most 200 by default)."
  type        = number
  default     = null
  validation {
    condition     = var.eval_max_prompts == null || try(var.eval_max_prompts >= 0, false)
    error_message = "eval_max_prompts is a number of prompts, 0 or more."
  }
}
