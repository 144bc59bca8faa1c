terraform {
  required_version = ">= 1.5.0"
  required_providers {
    oci = {
      source = "oracle/oci"
      # 6.1.0 (2024-07-02) added "Support for Resource Scheduler"
      # (oci_resource_scheduler_schedule, schedule.tf) and the Generative AI LoRA
      # fine-tuning method: provider CHANGELOG.md,
      # https://github.com/oracle/terraform-provider-oci/blob/master/CHANGELOG.md
      version = ">= 6.1.0, < 8.0.0"
    }
  }
}

# Authentication: API key from ~/.oci/config (the provider's default), profile
# var.oci_config_profile or DEFAULT; see deploy/oci/README.md "Provider authentication".
provider "oci" {
  region              = var.region
  config_file_profile = var.oci_config_profile != "" ? var.oci_config_profile : null
}
