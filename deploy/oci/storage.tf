data "oci_objectstorage_namespace" "this" {
  compartment_id = var.tenancy_ocid
}

locals {
  namespace = data.oci_objectstorage_namespace.this.namespace
  tags      = { "ocift-pipeline" = var.pipeline_name }
}

# Private bucket; its object events drive convert -> train -> endpoint.
resource "oci_objectstorage_bucket" "datasets" {
  #checkov:skip=CKV_OCI_9:A customer-managed key is optional (bucket_kms_key_ocid); Oracle-managed encryption is always on.
  compartment_id        = var.compartment_ocid
  namespace             = local.namespace
  name                  = var.bucket_name
  access_type           = "NoPublicAccess"
  object_events_enabled = true
  versioning            = "Enabled"
  kms_key_id            = var.bucket_kms_key_ocid
  freeform_tags         = local.tags
}

# The convert stage writes through multipart uploads and the functions may not
# delete objects (see iam.tf), so uncommitted uploads are cleaned up here.
resource "oci_objectstorage_object_lifecycle_policy" "datasets" {
  namespace = local.namespace
  bucket    = oci_objectstorage_bucket.datasets.name
  # Object Storage applies the rules as objectstorage-<region>: it needs the service
  # statement first (400 InsufficientServicePermissions otherwise).
  depends_on = [oci_identity_policy.invokers]

  rules {
    name        = "abort-stale-multipart-uploads"
    action      = "ABORT"
    is_enabled  = true
    target      = "multipart-uploads"
    time_amount = 2
    time_unit   = "DAYS"
  }

  rules {
    name        = "expire-previous-versions"
    action      = "DELETE"
    is_enabled  = true
    target      = "previous-object-versions"
    time_amount = 30
    time_unit   = "DAYS"
  }
}
