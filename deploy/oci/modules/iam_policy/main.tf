# Renders the pipeline's IAM statements from deploy/iam/*.json (the single source
# of truth the local target enforces too) with templatefile. No provider: the
# tests evaluate this module with a bare `terraform apply`.

variable "iam_root" {
  description = "Directory holding the policy files (deploy/iam)."
  type        = string
}

variable "values" {
  description = "Every $${name} the files use; optional ones (e.g. bucket_kms_key_ocid) as \"\"."
  type        = map(string)
}

variable "dynamic_groups" {
  description = "Stage file name => dynamic group name, filled in as $${dynamic_group}."
  type        = map(string)
}

locals {
  files = { for f in fileset(var.iam_root, "*.json") : trimsuffix(f, ".json") => f }
  docs = {
    for name, f in local.files : name => jsondecode(templatefile("${var.iam_root}/${f}",
    merge(var.values, { dynamic_group = lookup(var.dynamic_groups, name, "") })))
  }
  # A statement with "requires" exists only when that value is non-empty.
  statements = {
    for name, doc in local.docs : name => [
      for s in doc.statements : s.statement
      if try(s.requires, null) == null || lookup(var.values, try(s.requires, ""), "") != ""
    ]
  }
}

output "statements" {
  description = "Policy file name => its rendered statements."
  value       = local.statements
}
