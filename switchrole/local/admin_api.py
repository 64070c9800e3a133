"""Two emulator-only endpoints that make a kept-running local AWS usable from a shell.

``GET /moto-api/switchrole/access-key?account=ID&user=NAME`` creates an access
key for a hub user (what an administrator would hand out; at IAM's limit of
two, it rotates: the oldest key it created is deleted first), and
``GET /moto-api/switchrole/mfa-code?account=ID&user=NAME`` shows the current
code of the user's virtual MFA device, as an authenticator app would; the
device's seed never leaves the server. ``GET /moto-api/switchrole/first-access?account=ID``
gives the first access to a member account that AWS Organizations gives: its
OrganizationAccountAccessRole (created if missing) and a management-account key to assume it.
``/moto-api/switchrole/mfa-reading`` tells (GET) or sets (POST ``strict`` or ``lenient``) which reading of IAM's MFA
keys the authorization model plays (see :mod:`switchrole.local.authz`), and
``POST /moto-api/switchrole/age-sessions?account=ID&user=NAME`` makes a user's
MFA sessions older by the posted number of seconds, and
``POST /moto-api/switchrole/age-access-keys?account=ID&user=NAME`` moves a user's access keys' creation (and
last use) that many seconds into the past, so that ``switchrole audit`` can be shown a two-year-old key
without waiting two years. ``GET /moto-api/switchrole/sign-in?account=ID&role=NAME&user=PERSON`` signs a person
in to a permission set role (:mod:`switchrole.local.identity_center`). They exist only inside the emulator's
process, on 127.0.0.1, next to moto's own unauthenticated ``/moto-api``.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

from switchrole.iam.evaluate import totp
from switchrole.local import authz, identity_center

Response = tuple[int, dict[str, str], str]


def _user(full_url: str) -> tuple[Any, Any]:
    from moto.iam.models import iam_backends

    query = {k: v[0] for k, v in parse_qs(urlparse(full_url).query).items()}
    account, name = query.get("account", ""), query.get("user", "")
    backend = iam_backends[account]["aws"] if account in iam_backends else None
    user = backend.users.get(name) if backend is not None else None
    if user is None:
        raise LookupError(f"no user {name!r} in account {account!r}")
    return backend, user


def _error(exc: Exception) -> Response:
    return 404, {}, json.dumps({"Error": str(exc).strip("'\"")})


# Access keys this endpoint created: the only ones it may delete to make room (IAM allows two per user).
CREATED_KEYS: set[str] = set()
KEYS_PER_USER = 2


def access_key(request: Any, full_url: str, headers: Any) -> Response:
    """A new key for the user; at IAM's two-key limit, the oldest key switchrole created is deleted first
    (a key the user made themselves is never touched: then the answer says so)."""
    try:
        backend, user = _user(full_url)
        keys = sorted(user.access_keys, key=lambda k: k.create_date)
        if len(keys) >= KEYS_PER_USER:
            ours = [k for k in keys if k.access_key_id in CREATED_KEYS]
            if not ours:
                raise LookupError(
                    f"user {user.name!r} has {len(keys)} access keys that switchrole did not create; delete one "
                    f"(aws iam delete-access-key --user-name {user.name} --access-key-id ...)"
                )
            backend.delete_access_key(ours[0].access_key_id, user.name)
            CREATED_KEYS.discard(ours[0].access_key_id)
        key = backend.create_access_key(user.name)
    except Exception as exc:
        return _error(exc)
    CREATED_KEYS.add(key.access_key_id)
    return 200, {}, json.dumps({"AccessKeyId": key.access_key_id, "SecretAccessKey": key.secret_access_key})


MANAGEMENT_ACCOUNT = "999999999999"  # the emulated AWS Organizations management account
MANAGEMENT_USER = "switchrole-demo-management"  # an administrator there
FIRST_ACCESS_ROLE = "OrganizationAccountAccessRole"
ADMINISTRATOR = "arn:aws:iam::aws:policy/AdministratorAccess"


def first_access(request: Any, full_url: str, headers: Any) -> Response:
    """First access to ``account``, as AWS Organizations gives it: the member account's
    ``OrganizationAccountAccessRole`` (AdministratorAccess, trusting the management account), created if
    missing, and a new key of an administrator of the management account, who assumes it (the caller does,
    through STS, like any other switch). Answers ``AccessKeyId``, ``SecretAccessKey`` and ``RoleArn``."""
    from moto.iam.models import iam_backends

    account = parse_qs(urlparse(full_url).query).get("account", [""])[0]
    if not (len(account) == 12 and account.isdigit()) or account == MANAGEMENT_ACCOUNT:
        return _error(LookupError(f"not a member account id: {account!r}"))
    management = iam_backends[MANAGEMENT_ACCOUNT]["aws"]
    if MANAGEMENT_USER not in management.users:
        management.create_user(region_name="us-east-1", user_name=MANAGEMENT_USER)
        management.attach_user_policy(ADMINISTRATOR, MANAGEMENT_USER)
    member = iam_backends[account]["aws"]
    if FIRST_ACCESS_ROLE not in {role.name for role in member.roles.values()}:
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{MANAGEMENT_ACCOUNT}:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        member.create_role(
            role_name=FIRST_ACCESS_ROLE,
            assume_role_policy_document=json.dumps(trust),
            path="/",
            permissions_boundary=None,
            description="First access from the management account (AWS Organizations)",
            tags=[],
            max_session_duration="3600",
        )
        member.attach_role_policy(ADMINISTRATOR, FIRST_ACCESS_ROLE)
    query = f"account={MANAGEMENT_ACCOUNT}&user={MANAGEMENT_USER}"
    status, response_headers, body = access_key(request, f"{full_url.split('?')[0]}?{query}", headers)
    if status != 200:
        return status, response_headers, body
    answer = json.loads(body) | {"RoleArn": f"arn:aws:iam::{account}:role/{FIRST_ACCESS_ROLE}"}
    return 200, response_headers, json.dumps(answer)


def mfa_code(request: Any, full_url: str, headers: Any) -> Response:
    try:
        backend, user = _user(full_url)
    except LookupError as exc:
        return _error(exc)
    for serial in user.mfa_devices:
        device = backend.virtual_mfa_devices.get(serial)
        if device is not None:
            return 200, {}, json.dumps({"SerialNumber": serial, "Code": totp(device.base32_string_seed)})
    return _error(LookupError(f"user {user.name!r} has no virtual MFA device"))


def age_sessions(request: Any, full_url: str, headers: Any) -> Response:
    """POST seconds: make the user's MFA sessions that much older (the demo's "MFA older than the role's
    maximum age" refusal, without waiting 15 minutes)."""
    try:
        _, user = _user(full_url)
        seconds = float(request.data.decode())
    except (LookupError, ValueError) as exc:
        return _error(exc)
    aged = 0
    for key, session in list(authz.SESSIONS.items()):
        if session.user == user.name and session.mfa_at is not None:
            authz.SESSIONS[key] = replace(session, mfa_at=session.mfa_at - seconds)
            aged += 1
    return 200, {}, json.dumps({"Aged": aged})


def age_access_keys(request: Any, full_url: str, headers: Any) -> Response:
    """POST seconds: the user's access keys were created (and last used) that much earlier."""
    try:
        _, user = _user(full_url)
        seconds = float(request.data.decode())
    except (LookupError, ValueError) as exc:
        return _error(exc)
    from moto.iam.models import AccessKeyLastUsed

    delta = timedelta(seconds=seconds)
    keys = list(user.access_keys)
    for key in keys:
        key.create_date -= delta
        used = key.last_used
        if used is not None:
            key.last_used = AccessKeyLastUsed(used.timestamp - delta, used.service, used.region)
    return 200, {}, json.dumps({"Aged": len(keys)})


def organization(request: Any, full_url: str, headers: Any) -> Response:
    """POST {"id": "o-...", "accounts": [...]}: these accounts are members of that AWS Organizations
    organization from now on (aws:ResourceOrgID and aws:PrincipalOrgID in their requests, see authz)."""
    try:
        data = json.loads(request.data.decode())
        org_id, accounts = str(data["id"]), [str(a) for a in data["accounts"]]
    except (ValueError, KeyError, TypeError) as exc:
        return 400, {}, json.dumps({"Error": f"not an organization: {exc}"})
    authz.ORGANIZATION.update(dict.fromkeys(accounts, org_id))
    return 200, {}, json.dumps({"Members": len(accounts)})


def mfa_reading(request: Any, full_url: str, headers: Any) -> Response:
    if request.method == "POST":
        try:
            authz.set_mfa_reading(request.data.decode().strip())
        except ValueError as exc:
            return 400, {}, json.dumps({"Error": str(exc)})
    return 200, {}, json.dumps({"MfaReading": authz.MFA_READING["value"]})


def install() -> None:
    from moto.moto_api._internal import urls

    urls.url_paths["{0}/moto-api/switchrole/access-key"] = access_key
    urls.url_paths["{0}/moto-api/switchrole/mfa-code"] = mfa_code
    urls.url_paths["{0}/moto-api/switchrole/first-access"] = first_access
    urls.url_paths["{0}/moto-api/switchrole/mfa-reading"] = mfa_reading
    urls.url_paths["{0}/moto-api/switchrole/organization"] = organization
    urls.url_paths["{0}/moto-api/switchrole/age-sessions"] = age_sessions
    urls.url_paths["{0}/moto-api/switchrole/age-access-keys"] = age_access_keys
    urls.url_paths["{0}/moto-api/switchrole/sign-in"] = identity_center.sign_in_endpoint
