"""IAM for the emulator: policy statements, principals and per-request enforcement.

See :mod:`.policy` (syntax), :mod:`.permissions` (verbs and resource-types),
:mod:`.operations` (what each API operation needs), :mod:`.engine` (evaluation),
:mod:`.principals` (who signs) and :mod:`.enforcer` (the server hook).
"""

from deploy.local.emulator.iam.enforcer import Authorizer
from deploy.local.emulator.iam.engine import Access, Policy, Principal
from deploy.local.emulator.iam.policy import PolicyParseError, Statement, parse_statement
from deploy.local.emulator.iam.principals import (
    ADMIN_GROUP,
    ADMIN_STATEMENT,
    PrincipalRegistry,
    admin_principal,
    function_ocid,
    function_principal,
)

__all__ = ["ADMIN_GROUP", "ADMIN_STATEMENT", "Access", "Authorizer", "Policy",
           "PolicyParseError", "Principal", "PrincipalRegistry", "Statement",
           "admin_principal", "function_ocid", "function_principal", "parse_statement"]
