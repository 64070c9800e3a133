"""AWS CLI profiles for the people of a permission set: an Identity Center sign-in, then plain role switches.

A permission set's people hold no IAM keys and no IAM MFA device, so switchrole's ``credential_process`` (MFA
session, then AssumeRole) has nothing to work with. The AWS CLI and every SDK do the whole of it themselves:

- ``[sso-session switchrole]``: the AWS access portal (``hub.identity_center.start_url``) and the instance's
  region; ``aws sso login --sso-session switchrole`` signs in (with Identity Center's MFA);
- ``[profile <hub>-<set>]``: the permission set's role in the hub (``sso_account_id``, ``sso_role_name``);
- one ``[profile <account>-<kind>]`` per role the set is granted: ``role_arn`` with ``source_profile`` the hub
  profile, an hour at most (a switch from a role session is role chaining), the external id where the role
  requires one, and the person's name as the session name when given (CloudTrail shows it; IAM cannot check it).
"""

from __future__ import annotations

import re
from datetime import datetime

from switchrole.client.console import display_name
from switchrole.client.profiles import MARK_BEGIN, MARK_END, PROFILE_CHARS, Profile, _printable
from switchrole.model.errors import ConfigError, Problem
from switchrole.model.expiry import iso, utc_now
from switchrole.model.organisation import CHAINED_SESSION_SECONDS, Organisation, permission_set_grantee
from switchrole.model.text import short

SSO_SESSION = "switchrole"
SSO_SCOPES = "sso:account:access"
SESSION_NAME_RE = re.compile(f"[{PROFILE_CHARS}]{{2,64}}")  # AssumeRole's RoleSessionName, from the profile


def owner(permission_set: str) -> str:
    """Whose block the profiles are in an AWS config file (a user's name has no "/")."""
    return f"permission-set/{permission_set}"


def hub_profile_name(org: Organisation, permission_set: str) -> str:
    """The AWS CLI profile of ``permission_set``'s role in the hub: ``<hub name>-<set>``."""
    return f"{org.hub.name}-{permission_set}"


def permission_set_profiles(
    org: Organisation, permission_set: str, *, session_name: str | None = None, now: datetime | None = None
) -> list[Profile]:
    """The sso-session, the permission set's hub profile, and a role profile per switch the set may still make at
    ``now`` (expired grants get none)."""
    center = org.hub.identity_center
    if center is None or center.start_url is None:
        raise ConfigError.single(
            ("hub", "identity_center", "start_url"),
            "profiles for a permission set need the AWS access portal URL (start_url) the AWS CLI signs in at",
        )
    now = now or utc_now()
    hub = hub_profile_name(org, permission_set)
    result = [
        Profile(
            SSO_SESSION,
            (
                ("sso_start_url", center.start_url),
                ("sso_region", center.region),
                ("sso_registration_scopes", SSO_SCOPES),
            ),
            "sign in with `aws sso login --sso-session switchrole` (Identity Center asks for your MFA)",
            section="sso-session",
        ),
        Profile(
            hub,
            (
                ("sso_session", SSO_SESSION),
                ("sso_account_id", org.hub.account_id),
                ("sso_role_name", permission_set),
                ("region", org.hub.region),
            ),
            f"permission set {permission_set} in the hub account {org.hub.name}",
        ),
    ]
    grantee = permission_set_grantee(permission_set)
    for account, kind in org.permission_set_roles(permission_set, now=now):
        end = org.access_end(grantee, account.name, kind.key)
        settings = [("role_arn", kind.arn(account.account_id)), ("source_profile", hub)]
        if session_name:
            settings.append(("role_session_name", session_name))
        settings.append(("duration_seconds", str(min(kind.max_session_duration, CHAINED_SESSION_SECONDS))))
        if kind.external_id:
            settings.append(("external_id", kind.external_id))
        settings.append(("region", account.region))
        comment = None if end is None else f"ends {iso(end)}: IAM refuses this switch from then (until: in the file)"
        result.append(Profile(display_name(account, kind), tuple(settings), comment))
    return result


def permission_set_block(
    org: Organisation, permission_set: str, *, session_name: str | None = None, now: datetime | None = None
) -> str:
    """The marked block ``--merge`` owns in an AWS config file, for ``permission_set``'s people."""
    if session_name is not None and not SESSION_NAME_RE.fullmatch(session_name):
        raise ConfigError(
            [Problem((), f"--session-name: {short(session_name)} is not a role session name (2-64 of {PROFILE_CHARS})")]
        )
    items = permission_set_profiles(org, permission_set, session_name=session_name, now=now)
    body = "\n\n".join(p.render() for p in items)
    begin = MARK_BEGIN.format(user=owner(permission_set), source=_printable(org.source.rsplit("/", 1)[-1]))
    return f"{begin}\n{body}\n{MARK_END.format(user=owner(permission_set))}\n"
