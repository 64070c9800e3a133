"""Reusable constructs, one per concept. (Never add a top-level ``constructs/`` package: it shadows the library.)"""

from switchrole.infra.constructs.cross_account_role import CrossAccountRole
from switchrole.infra.constructs.hub_access_group import HubAccessGroup
from switchrole.infra.constructs.hub_user import HubUser
from switchrole.infra.constructs.mfa_enforcement import MfaEnforcementPolicy

__all__ = ["CrossAccountRole", "HubAccessGroup", "HubUser", "MfaEnforcementPolicy"]
