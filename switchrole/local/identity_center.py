"""The emulator's stand-in for IAM Identity Center: permission set roles in the hub, and a sign-in.

What Identity Center does in an account a permission set is assigned to, :func:`provision` does in the hub
through the IAM API (as Identity Center's service-linked role would): a SAML provider
``AWSSSO_<16 hex>_DO_NOT_DELETE``; for each permission set a role ``AWSReservedSSO_<set>_<16 random hex>`` at
``/aws-reserved/sso.amazonaws.com/<region>/`` (no region segment for us-east-1), trusting only that provider
for ``sts:AssumeRoleWithSAML``; and the set's customer-managed policy references attached to it by name and
path (which must exist first: the hub stack's). Re-provisioning after a deploy attaches the references as
they are now, like Identity Center re-provisioning a changed permission set.

A person's sign-in is :func:`sign_in_permission_set`: the access portal's SAML assertion is replaced by the
emulator's admin API (this run's token), whose :func:`sign_in_endpoint` checks that the role is a permission
set role trusting a SAML provider and opens a session of it in the person's name, as ``AssumeRoleWithSAML``
would. Such a session carries ``aws:MultiFactorAuthPresent`` false and no ``aws:MultiFactorAuthAge``, as on
AWS, whatever MFA the person gave Identity Center.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlparse

from switchrole.model.organisation import HUB_PATH, PARTITION, SSO_ROLE_PATH, SSO_ROLE_PREFIX, Organisation

SAML_AUDIENCE = "https://signin.aws.amazon.com/saml"
# A permission set outside the file, assigned in the hub with AdministratorAccess: what trust: strict stops.
ADMIN_PERMISSION_SET = "SwitchroleDemoAdministrators"
ADMINISTRATOR = f"arn:{PARTITION}:iam::aws:policy/AdministratorAccess"


@dataclass(frozen=True)
class PermissionSetRole:
    """A provisioned permission set role in the hub."""

    permission_set: str
    arn: str
    name: str


def _metadata() -> str:
    """A SAML metadata document of the length IAM requires (1,000 characters or more)."""
    padding = "<!-- the emulator's stand-in for IAM Identity Center -->" * 20
    namespace = "urn:oasis:names:tc:SAML:2.0:metadata"
    return f'<EntityDescriptor xmlns="{namespace}" entityID="switchrole">{padding}</EntityDescriptor>'


def provision(iam: Any, org: Organisation, *, extra: tuple[tuple[str, str], ...] = ()) -> dict[str, PermissionSetRole]:
    """Create (or bring up to date) the hub's permission set roles for ``org``'s permission-set groups, plus
    ``extra`` (set name, AWS-managed policy ARN) sets outside the file; set name -> role."""
    center = org.hub.identity_center
    assert center is not None, "provision() needs hub.identity_center"
    provider = _provider(iam)
    roles = {r["RoleName"]: r for r in _reserved_roles(iam)}
    wanted: dict[str, list[str]] = {
        str(g.permission_set): [
            f"arn:{PARTITION}:iam::{org.hub.account_id}:policy{HUB_PATH}{name}" for name in _policy_names(iam, g.name)
        ]
        for g in org.permission_set_groups
    }
    wanted |= {name: [policy] for name, policy in extra}
    provisioned = {}
    for permission_set, policies in wanted.items():
        pattern = re.compile(rf"{re.escape(SSO_ROLE_PREFIX + permission_set)}_[0-9a-f]{{16}}")
        role = next((r for name, r in roles.items() if pattern.fullmatch(name)), None)
        if role is None:
            trust = {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Federated": provider},
                        "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"],
                        "Condition": {"StringEquals": {"SAML:aud": SAML_AUDIENCE}},
                    }
                ],
            }
            role = iam.create_role(
                RoleName=center.role_name(permission_set, secrets.token_hex(8)),
                Path=center.role_path,
                AssumeRolePolicyDocument=json.dumps(trust),
                MaxSessionDuration=3600,
            )["Role"]
        listed = iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"]
        attached = {p["PolicyArn"] for p in listed}
        for arn in sorted(attached - set(policies)):
            iam.detach_role_policy(RoleName=role["RoleName"], PolicyArn=arn)
        for arn in policies:
            if arn not in attached:
                iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn=arn)
        provisioned[permission_set] = PermissionSetRole(permission_set, role["Arn"], role["RoleName"])
    return provisioned


def _provider(iam: Any) -> str:
    for provider in iam.list_saml_providers()["SAMLProviderList"]:
        if provider["Arn"].rsplit("/", 1)[-1].startswith("AWSSSO_"):
            return str(provider["Arn"])
    name = f"AWSSSO_{secrets.token_hex(8)}_DO_NOT_DELETE"
    return str(iam.create_saml_provider(SAMLMetadataDocument=_metadata(), Name=name)["SAMLProviderArn"])


def _reserved_roles(iam: Any) -> list[dict[str, Any]]:
    pages = iam.get_paginator("list_roles").paginate(PathPrefix=SSO_ROLE_PATH)
    return [role for page in pages for role in page["Roles"]]


def _policy_names(iam: Any, group: str) -> list[str]:
    """The group's grant policies the hub stack deployed (``switchrole-<group>-<n>``), in number order: the
    permission set's references."""
    pages = iam.get_paginator("list_policies").paginate(Scope="Local", PathPrefix=HUB_PATH)
    pattern = re.compile(rf"switchrole-{re.escape(group)}-([0-9]+)")
    found = [(int(m.group(1)), p["PolicyName"]) for page in pages for p in page["Policies"]
             if (m := pattern.fullmatch(p["PolicyName"]))]  # fmt: skip
    return [name for _, name in sorted(found)]


# --------------------------------------------------------------------------- the sign-in (server side)


def sign_in_endpoint(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
    """``GET /moto-api/switchrole/sign-in?account=ID&role=NAME&user=PERSON`` (or ``permission_set=SET`` for the
    set's role whatever its suffix): a session of the permission set role in the person's name, as Identity
    Center's SAML sign-in gives it (the admin token stands for the signed assertion). Refused unless the role is
    at the reserved path and trusts a SAML provider."""
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    query = {k: v[0] for k, v in parse_qs(urlparse(full_url).query).items()}
    account, name, person = query.get("account", ""), query.get("role", ""), query.get("user", "")
    backend = iam_backends[account][PARTITION] if account in iam_backends else None
    if "permission_set" in query:  # the set's role, whatever its suffix
        wanted = re.compile(rf"{re.escape(SSO_ROLE_PREFIX + query['permission_set'])}_[0-9a-f]{{16}}")
        name = next((r.name for r in (backend.roles.values() if backend else ()) if wanted.fullmatch(r.name)), name)
    role = next((r for r in backend.roles.values() if r.name == name), None) if backend is not None else None
    trust = json.loads(role.assume_role_policy_document) if role is not None else {}
    federated = [
        s
        for s in trust.get("Statement", [])
        if s.get("Effect") == "Allow"
        and ":saml-provider/" in str(s.get("Principal", {}).get("Federated", ""))
        and "sts:AssumeRoleWithSAML" in (s.get("Action") if isinstance(s.get("Action"), list) else [s.get("Action")])
    ]
    if role is None or not role.path.startswith(SSO_ROLE_PATH) or not federated:
        return 404, {}, json.dumps({"Error": f"no permission set role {name!r} in account {account!r}"})
    if not re.fullmatch(r"[A-Za-z0-9+=,.@_-]{2,64}", person):
        return 400, {}, json.dumps({"Error": f"not a session name: {person!r}"})
    session = sts_backends[account][PARTITION].assume_role(
        region_name="us-east-1",
        role_session_name=person,
        role_arn=role.arn,
        policy="",
        duration=3600,
        external_id="",
    )
    answer = {
        "AccessKeyId": session.access_key_id,
        "SecretAccessKey": session.secret_access_key,
        "SessionToken": session.session_token,
        "Arn": session.arn,
    }
    return 200, {}, json.dumps(answer)


# --------------------------------------------------------------------------- the sign-in (client side)


def sign_in_permission_set(endpoint: str, org: Organisation, permission_set: str, person: str, token: str) -> Any:
    """A boto3 session of ``person`` signed in to ``permission_set``'s provisioned role in the hub (the server
    finds the role by the set's name; LookupError when the emulator has none: the demo provisions them)."""
    from switchrole.client.boto import session as boto3_session
    from switchrole.local.server import admin_query

    params = {"account": org.hub.account_id, "permission_set": permission_set, "user": person}
    answer = admin_query(endpoint, "sign-in", params, token)
    return boto3_session(
        answer["AccessKeyId"], answer["SecretAccessKey"], answer["SessionToken"], region_name=org.hub.region
    )
