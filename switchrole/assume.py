"""``switchrole assume``: an AWS CLI/SDK ``credential_process`` for roles the AWS CLI cannot assume itself.

The AWS CLI's ``role_arn`` profiles cannot set ``SourceIdentity``, which roles
with ``source_identity: true`` require. Generated profiles for those roles run
this command instead; it prints the role's temporary credentials in the
credential_process JSON format on stdout, for the CLI or SDK that called it
(and nothing else: no file, no log). The MFA code comes from ``--token-code``,
``$SWITCHROLE_TOKEN_CODE`` or a prompt on the terminal.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import boto3

from switchrole.smoke import RETRIES, SmokeFailed, SmokeRequest, classify


@dataclass(frozen=True)
class AssumeRequest:
    role_arn: str
    session_name: str
    duration: int | None = None
    external_id: str | None = None
    source_identity: bool = False
    mfa_serial: str | None = None
    token_code: str | None = None


def credential_process_output(session: boto3.Session, request: AssumeRequest) -> str:
    """AssumeRole and return the credential_process document; raises :class:`SmokeFailed` with one line."""
    sts = session.client("sts", region_name=session.region_name or "us-east-1", config=RETRIES)
    params: dict[str, Any] = {"RoleArn": request.role_arn, "RoleSessionName": request.session_name}
    step, caller = "GetCallerIdentity", ""
    try:
        if request.source_identity:
            caller = sts.get_caller_identity()["Arn"]
            params["SourceIdentity"] = caller.rsplit("/", 1)[-1]
        step = "AssumeRole"
        if request.duration:
            params["DurationSeconds"] = request.duration
        if request.external_id:
            params["ExternalId"] = request.external_id
        if request.mfa_serial:
            params["SerialNumber"], params["TokenCode"] = request.mfa_serial, request.token_code
        credentials = sts.assume_role(**params)["Credentials"]
    except Exception as exc:
        smoke_request = SmokeRequest(role_arn=request.role_arn, mfa_required=bool(request.mfa_serial))
        raise classify(exc, step, smoke_request, caller, None, bool(request.mfa_serial)) from None
    return json.dumps(
        {
            "Version": 1,
            "AccessKeyId": credentials["AccessKeyId"],
            "SecretAccessKey": credentials["SecretAccessKey"],
            "SessionToken": credentials["SessionToken"],
            "Expiration": credentials["Expiration"].isoformat(),
        }
    )


def token_code(given: str | None) -> str | None:
    """--token-code, else $SWITCHROLE_TOKEN_CODE, else a prompt on the controlling terminal (not stdout)."""
    if given:
        return given
    if os.environ.get("SWITCHROLE_TOKEN_CODE"):
        return os.environ["SWITCHROLE_TOKEN_CODE"]
    try:
        with open("/dev/tty", "r+", encoding="utf-8") as tty:
            tty.write("MFA code: ")
            tty.flush()
            return tty.readline().strip() or None
    except OSError:
        return None


__all__ = ["AssumeRequest", "SmokeFailed", "credential_process_output", "token_code"]
