"""IAM calls that moto 5.2 lacks or answers more leniently than IAM, on the paths switchrole's printed
commands take (``switchrole offboard``'s follow-up).

- ``ListServiceSpecificCredentials``: missing. ``DeleteUser`` refuses a user who still holds such credentials
  (CodeCommit, Keyspaces), so the follow-up lists them. moto has no service-specific credentials at all: the
  answer is an empty list, after checking that the user exists as IAM does.
- ``DeleteUser``: moto refuses only a user with policies. IAM also refuses (``DeleteConflict``) a user who still
  has a console password, access keys, signing certificates, SSH public keys, MFA devices or group
  memberships. Modelled on the API only: CloudFormation's own deletes inside moto are unchanged.
"""

from __future__ import annotations

from typing import Any

from moto.core.responses import ActionResult
from moto.iam.exceptions import DeleteConflictException
from moto.iam.responses import IamResponse

_MOTO_DELETE_USER = IamResponse.delete_user


def list_service_specific_credentials(self: IamResponse) -> ActionResult:
    user_name = self._get_param("UserName")
    if user_name:
        self.backend.get_user(user_name)  # NoSuchEntity for an unknown user, as IAM answers
    return ActionResult({"ServiceSpecificCredentials": []})


def what_blocks_deleting(backend: Any, user_name: str) -> list[str]:
    """What IAM's DeleteUser would refuse ``user_name`` for, in its documentation's order."""
    user = backend.get_user(user_name)
    held = {
        "a login profile": user.password is not None,
        "access keys": bool(user.access_keys),
        "signing certificates": bool(user.signing_certificates),
        "SSH public keys": bool(user.ssh_public_keys),
        "MFA devices": bool(user.mfa_devices),
        "group memberships": bool(backend.get_groups_for_user(user_name)),
    }
    return [what for what, present in held.items() if present]


def delete_user(self: IamResponse) -> Any:
    user_name = self._get_param("UserName")
    blocking = what_blocks_deleting(self.backend, user_name)
    if blocking:
        raise DeleteConflictException(f"Cannot delete entity, must remove {', '.join(blocking)} first.")
    return _MOTO_DELETE_USER(self)


def install() -> None:
    """Install the calls into moto (idempotent)."""
    IamResponse.list_service_specific_credentials = list_service_specific_credentials  # type: ignore[attr-defined]
    IamResponse.delete_user = delete_user  # type: ignore[method-assign]
