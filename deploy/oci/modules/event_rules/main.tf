# Reads the OCI Events rules kept as data in events/*.json (the single source of
# truth the local router reads too) and fills in the bucket name. No provider:
# the tests evaluate this module with a bare `terraform apply`.

variable "events_root" {
  description = "Directory that holds the events/ folder (the repository root)."
  type        = string
}

variable "bucket_name" {
  description = "Bucket whose object events the rules match; replaces $${bucket_name} in the rule files."
  type        = string
}

locals {
  rule_files = fileset(var.events_root, "events/*.json")
  # "$${bucket_name}" is Terraform's escape for the literal text ${bucket_name}.
  rules = {
    for f in local.rule_files : trimsuffix(basename(f), ".json") => jsondecode(
      replace(file("${var.events_root}/${f}"), "$${bucket_name}", var.bucket_name)
    )
  }
}

output "rules" {
  description = "Rule name => the decoded rule file, bucket name filled in."
  value       = local.rules
}
