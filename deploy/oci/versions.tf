terraform {
  required_version = ">= 1.5.0"
  required_providers {
    oci = {
      source  = "oracle/oci"
      version = ">= 6.0.0, < 8.0.0"
    }
  }
}

# Authentication: API key from ~/.oci/config (the provider's default), profile
# var.oci_config_profile or DEFAULT; see deploy/oci/README.md "Provider authentication".
provider "oci" {
  region              = var.region
  config_file_profile = var.oci_config_profile != "" ? var.oci_config_profile : null
}
