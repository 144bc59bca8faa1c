# OCI Events rules GENERATED from events/*.json (the same files the local
# router reads): no rule condition is written here. Each rule invokes the
# function named by its action.function.
module "event_rules" {
  source      = "./modules/event_rules"
  events_root = "${path.module}/../.."
  bucket_name = var.bucket_name # known at plan time, so the rule set is too
}

resource "oci_events_rule" "pipeline" {
  for_each = toset(keys(module.event_rules.rules))

  compartment_id = var.compartment_ocid
  display_name   = module.event_rules.rules[each.key].displayName
  description    = module.event_rules.rules[each.key].description
  is_enabled     = module.event_rules.rules[each.key].isEnabled
  condition      = jsonencode(module.event_rules.rules[each.key].condition)
  freeform_tags  = local.tags

  actions {
    actions {
      action_type = "FAAS"
      is_enabled  = true
      function_id = oci_functions_function.stage[module.event_rules.rules[each.key].action.function].id
      description = "Invoke the ${module.event_rules.rules[each.key].action.function} stage"
    }
  }
}
