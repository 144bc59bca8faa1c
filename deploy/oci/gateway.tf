# POST /<pipeline_name>/infer -> the infer function. Authentication: an OCI IAM
# identity domain (or any OIDC issuer) JWT by default, or an authorizer function,
# or none. Rate limited per client IP. Body size: API Gateway has no per-route
# body-size setting, so the infer function enforces OCIFT_MAX_REQUEST_BYTES (413)
# and OCI Functions caps an invoke body at 6 MB.
resource "oci_apigateway_gateway" "infer" {
  compartment_id = var.compartment_ocid
  display_name   = "${var.pipeline_name}-gateway"
  endpoint_type  = var.gateway_endpoint_type
  subnet_id      = coalesce(var.gateway_subnet_ocid, var.subnet_ocid)
  freeform_tags  = local.tags
}

resource "oci_apigateway_deployment" "infer" {
  compartment_id = var.compartment_ocid
  gateway_id     = oci_apigateway_gateway.infer.id
  display_name   = "${var.pipeline_name}-infer"
  path_prefix    = "/${var.pipeline_name}"
  freeform_tags  = local.tags

  specification {
    request_policies {
      dynamic "authentication" {
        for_each = var.gateway_auth == "jwt" ? [1] : []
        content {
          type                        = "JWT_AUTHENTICATION"
          token_header                = "Authorization"
          token_auth_scheme           = "Bearer"
          issuers                     = [var.jwt_issuer]
          audiences                   = [var.jwt_audience]
          is_anonymous_access_allowed = false
          max_clock_skew_in_seconds   = 60
          public_keys {
            type                        = "REMOTE_JWKS"
            uri                         = var.jwt_jwks_uri
            max_cache_duration_in_hours = 1
          }
        }
      }
      dynamic "authentication" {
        for_each = var.gateway_auth == "function" ? [1] : []
        content {
          type                        = "CUSTOM_AUTHENTICATION"
          function_id                 = var.authorizer_function_ocid
          token_header                = "Authorization"
          is_anonymous_access_allowed = false
        }
      }
      rate_limiting {
        rate_in_requests_per_second = var.infer_rate_limit_rps
        rate_key                    = "CLIENT_IP"
      }
    }

    logging_policies {
      access_log {
        is_enabled = true
      }
      execution_log {
        is_enabled = true
        log_level  = "WARN"
      }
    }

    routes {
      path    = "/infer"
      methods = ["POST"]
      backend {
        type        = "ORACLE_FUNCTIONS_BACKEND"
        function_id = oci_functions_function.stage["infer"].id
      }
      request_policies {
        authorization {
          type = var.gateway_auth == "none" ? "ANONYMOUS" : "AUTHENTICATION_ONLY"
        }
        body_validation {
          required        = true
          validation_mode = "ENFORCING"
          content {
            media_type      = "application/json"
            validation_type = "NONE"
          }
        }
      }
    }
  }

  # API Gateway checks, when the deployment is created, that it may invoke the backend
  # function ("Creating a Policy to Give API Gateways Access to Functions",
  # https://docs.oracle.com/iaas/Content/APIGateway/Tasks/apigatewaycreatingpolicies.htm;
  # "Gateway or deployment create or update fails because of missing IAM policies",
  # https://docs.oracle.com/iaas/Content/APIGateway/Tasks/apigatewaytroubleshooting_topic-gateway_create_or_update_fails.htm):
  # without this edge Terraform may create it before the invoke grant and fail at random.
  depends_on = [oci_identity_policy.invokers]

  lifecycle {
    precondition {
      condition     = var.gateway_auth != "jwt" || var.jwt_jwks_uri != ""
      error_message = "gateway_auth = \"jwt\" needs jwt_jwks_uri (the issuer's JWKS URL)."
    }
    precondition {
      condition     = var.gateway_auth != "function" || var.authorizer_function_ocid != null
      error_message = "gateway_auth = \"function\" needs authorizer_function_ocid."
    }
  }
}
