"""IAM calls that moto 5.2 lacks and switchrole's printed commands make.

- ``ListServiceSpecificCredentials``: ``switchrole offboard`` prints it, because ``DeleteUser`` refuses a user
  who still holds such credentials (CodeCommit, Keyspaces). moto has no service-specific credentials at all,
  so the emulator's answer is an empty list, after checking that the user exists as IAM does.
"""

from __future__ import annotations

from moto.core.responses import ActionResult
from moto.iam.responses import IamResponse


def list_service_specific_credentials(self: IamResponse) -> ActionResult:
    user_name = self._get_param("UserName")
    if user_name:
        self.backend.get_user(user_name)  # NoSuchEntity for an unknown user, as IAM answers
    return ActionResult({"ServiceSpecificCredentials": []})


def install() -> None:
    """Install the missing calls into moto (idempotent)."""
    IamResponse.list_service_specific_credentials = list_service_specific_credentials  # type: ignore[attr-defined]
