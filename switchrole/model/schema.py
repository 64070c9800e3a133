"""The shape of ``accounts.yaml``: field names, types and ranges (pydantic v2).

This module only checks what one field can know on its own. Cross references
(a grant naming an unknown account, duplicate ids, ...) are checked in
:mod:`switchrole.model.organisation`, which also resolves defaults into the organisation
model the rest of switchrole reads. Models are strict and forbid unknown keys:
a typo must fail review, not silently drop a setting.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainValidator

from switchrole.model.text import described, short

MIN_SESSION_SECONDS = 3600
MAX_SESSION_SECONDS = 43200
MAX_MFA_AGE_SECONDS = 129600  # longest session token (GetSessionToken: 36 h)
MAX_POLICY_NAME = 128  # IAM: a policy's name
MAX_IAM_PATH = 512  # IAM: a path (/.../) of a role or policy
MIN_USER_NAME = 2  # STS: a role session name and a source identity, which switchrole's profiles set to the user name

# Character sets, all ASCII (Python's \w and \d also match other scripts' letters and digits, which IAM rejects).
# IAM allows [A-Za-z0-9+=,.@_-] in user, group, role, policy and session names (IAM_NAME_CHARSET, the inside
# of a [...] class, so that [^...] can use it too). switchrole leaves out the comma in its own names: a
# CloudFormation CommaDelimitedList parameter (StackSets' strict-trust grantees) splits on it, so "mallory,x"
# would become a second principal. Role names and paths also leave out "=", which the AWS Extend Switch Roles
# extension's INI reads as a second separator; and paths allow no wildcard ("*", "?"), which would widen the
# hub grants' arn:aws:iam::*:role/<path><name> pattern.
IAM_NAME_CHARSET = r"A-Za-z0-9+=,.@_-"
USER_NAME_CHARS = r"[A-Za-z0-9+=.@_-]"
ROLE_NAME_CHARS = r"[A-Za-z0-9+.@_-]"
ACCOUNT_ID_RE = re.compile(r"[0-9]{12}")
POLICY_SEGMENT = rf"(?!\.+(?:/|$))[{IAM_NAME_CHARSET}]+"  # IAM's policy name characters; no "." or ".." segment
POLICY_ARN_RE = re.compile(rf"arn:aws:iam::(?:aws|[0-9]{{12}}):policy(?:/{POLICY_SEGMENT})+")
POLICY_NAME_RE = re.compile(rf"{POLICY_SEGMENT}(?:/{POLICY_SEGMENT})*")
# IAM's description characters (role and policy descriptions): printable ASCII, tab, newlines, Latin-1 letters.
DESCRIPTION_RE = re.compile(r"[\t\n\r\x20-\x7e\xa1-\xff]*")
# IAM's policy document characters (PutRolePolicy's PolicyDocument): tab, newlines, U+0020 to U+00FF.
POLICY_DOCUMENT_CHAR_RE = re.compile(r"[^\t\n\r\x20-\xff]")
# Inside a key or string value of a policy, switchrole refuses every control character (C0, DEL, C1), tab and
# newlines included: IAM's grammar needs them only as whitespace between tokens, and in a value they reach the
# Markdown review (switchrole diff), where a newline can start an HTML comment that hides the rest of it.
POLICY_CONTROL_CHAR_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _account_id(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(
            f'must be a quoted string of 12 digits, e.g. "{"0" * 12}" (unquoted, YAML reads it as {described(value)})'
        )
    if not ACCOUNT_ID_RE.fullmatch(value):
        raise ValueError(f"must be exactly 12 digits, got {short(value)}")
    return value


def _matches(pattern: str, what: str) -> Any:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"{short(value)} is not a valid {what}")
        return value

    return AfterValidator(check)


def _policy_ref(value: str) -> str:
    if value.startswith("arn:"):
        if not POLICY_ARN_RE.fullmatch(value):
            raise ValueError(f"{short(value)} is not an IAM policy ARN (arn:aws:iam::<12 digits or aws>:policy/<name>)")
    elif not POLICY_NAME_RE.fullmatch(value):
        raise ValueError(f"{short(value)} is not a policy name or ARN")
    *folders, name = value.split(":policy/", 1)[-1].split("/")
    if len(name) > MAX_POLICY_NAME:
        raise ValueError(f"policy name {short(name)} is {len(name)} characters; IAM allows at most {MAX_POLICY_NAME}")
    path = "/" + "".join(f"{folder}/" for folder in folders)
    if len(path) > MAX_IAM_PATH:
        raise ValueError(f"policy path {short(path)} is {len(path)} characters; IAM allows at most {MAX_IAM_PATH}")
    return value


def _grant_accounts(value: Any) -> list[str] | Literal["*"]:
    if value == "*":
        return "*"
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    if isinstance(value, list) and not value:
        raise ValueError('is empty: list at least one account name, or "*" for every account with the role')
    raise ValueError('must be a list of account names, or "*" for every target account that has the role')


UNTIL_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:Z|\+00:00)")
UNTIL_EXAMPLE = "2027-03-31T00:00:00Z"


def _until(value: Any) -> dt.datetime:
    """An explicit UTC time to the second: what IAM's ``aws:CurrentTime`` is compared with. Quoted, it is text;
    unquoted, YAML reads it as a timestamp (a ``datetime``), so both are taken, and both must say UTC: a time
    without a zone would mean different moments to different readers."""
    if isinstance(value, dt.datetime):
        offset = value.utcoffset()
        if offset is None:
            raise ValueError(f"has no time zone: write it in UTC with a Z, e.g. {UNTIL_EXAMPLE}")
        if offset:
            raise ValueError(f"must be in UTC (Z or +00:00), not {value.isoformat()}; e.g. {UNTIL_EXAMPLE}")
        if value.microsecond:
            raise ValueError(f"must be a whole second (no fraction), e.g. {UNTIL_EXAMPLE}")
        return dt.datetime(*value.timetuple()[:6], tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        raise ValueError(f"is a date without a time: write the UTC moment, e.g. {value.isoformat()}T00:00:00Z")
    if not isinstance(value, str):
        raise ValueError(f"must be a UTC time like {UNTIL_EXAMPLE}, got {described(value)}")
    if not UNTIL_RE.fullmatch(value):
        zone = re.search(r"[+-][0-9]{2}:?[0-9]{2}$", value)
        if zone and zone.group() not in ("+00:00", "-00:00", "+0000", "-0000"):
            raise ValueError(f"must be in UTC (Z or +00:00), not {short(value)}; e.g. {UNTIL_EXAMPLE}")
        raise ValueError(f"must be a UTC time like {UNTIL_EXAMPLE} (with the Z), got {short(value)}")
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(dt.UTC)
    except ValueError:
        raise ValueError(f"{short(value)} is not a valid date and time") from None


Until = Annotated[dt.datetime, PlainValidator(_until)]
AccountId = Annotated[str, BeforeValidator(_account_id)]
AccountName = Annotated[
    str,
    Field(min_length=1, max_length=64),
    _matches(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?", "account name (letters, digits and inner hyphens)"),
]
RoleKindKey = Annotated[
    str,
    Field(max_length=64),
    _matches(r"[A-Za-z][A-Za-z0-9]*", "role kind key (letters and digits; set `name:` for another role name)"),
]
RoleName = Annotated[
    str, Field(min_length=1, max_length=64), _matches(f"{ROLE_NAME_CHARS}+", "role name ([A-Za-z0-9+.@_-])")
]
GroupName = Annotated[
    str, Field(min_length=1, max_length=128), _matches(f"{USER_NAME_CHARS}+", "group name ([A-Za-z0-9+=.@_-])")
]


def _user_name(value: str) -> str:
    if len(value) < MIN_USER_NAME:
        raise ValueError(
            f"{short(value)} is {len(value)} character; a user name needs at least {MIN_USER_NAME}: the generated "
            "profiles use it as the role session name and source identity, which AWS requires to be 2-64 characters"
        )
    return value


UserName = Annotated[
    str,
    Field(min_length=1, max_length=64),
    _matches(f"{USER_NAME_CHARS}+", "user name ([A-Za-z0-9+=.@_-])"),
    AfterValidator(_user_name),
]
RolePath = Annotated[
    str,
    Field(max_length=MAX_IAM_PATH),
    _matches(f"/(?:{ROLE_NAME_CHARS}+/)*", "role path (/ or /segment/.../ with [A-Za-z0-9+.@_-] segments)"),
]
Description = Annotated[
    str, Field(max_length=1000), _matches(DESCRIPTION_RE.pattern, "description (printable characters only)")
]
PolicyRef = Annotated[str, AfterValidator(_policy_ref)]
InlinePolicyName = Annotated[
    str,
    _matches(
        rf"[{IAM_NAME_CHARSET}]{{1,{MAX_POLICY_NAME}}}",
        f"policy name ([{IAM_NAME_CHARSET}], 1-{MAX_POLICY_NAME})",
    ),
]
Region = Annotated[str, _matches(r"[a-z]{2}(?:-[a-z]+)+-[0-9]", "AWS region name")]
OrganizationId = Annotated[str, _matches(r"o-[a-z0-9]{10,32}", "organization id (o-...)")]
ExternalId = Annotated[
    str,
    Field(min_length=2, max_length=1224),
    _matches(r"[A-Za-z0-9_+=,.@:/-]+", "external id ([A-Za-z0-9_+=,.@:/-], 2-1224 characters)"),
]
SessionSeconds = Annotated[int, Field(ge=MIN_SESSION_SECONDS, le=MAX_SESSION_SECONDS)]
MfaAgeSeconds = Annotated[int, Field(gt=0, le=MAX_MFA_AGE_SECONDS)]


def _tag_key(value: str) -> str:
    for prefix in ("aws:", "switchrole:"):  # AWS reserves aws: in any case; switchrole: keys are switchrole's own
        if value.lower().startswith(prefix):
            raise ValueError(f"{short(value)}: tag keys starting with {prefix!r} (in any case) are reserved")
    return value


TagKey = Annotated[
    str,
    Field(min_length=1, max_length=128),
    _matches(r"[A-Za-z0-9_ .:/=+@-]+", "tag key ([A-Za-z0-9_ .:/=+@-])"),
    AfterValidator(_tag_key),
]
TagValue = Annotated[str, Field(max_length=256), _matches(r"[A-Za-z0-9_ .:/=+@-]*", "tag value")]


def _session_tags(value: Any) -> Any:
    if value is True:
        raise ValueError(
            "list the tag keys callers may set, e.g. session_tags: [team] (any key at all would let them set "
            "the tags that attribute-based policies trust)"
        )
    return [] if value is False else value


SessionTagKeys = Annotated[list[TagKey], BeforeValidator(_session_tags)]

STATEMENT_KEYS = {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"}


def _strings(value: Any) -> bool:
    return isinstance(value, str) or (
        isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)
    )


def _policy_strings(value: Any, where: str = "") -> Iterator[tuple[str, str, str]]:
    """(where, "key" or "value", text) for every key and string inside a policy document."""
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{where}.{key}" if where else str(key)
            yield inner, "key", str(key)
            yield from _policy_strings(item, inner)
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from _policy_strings(item, f"{where}[{n}]")
    elif isinstance(value, str):
        yield where, "value", value


def _policy_document(value: Any) -> dict[str, Any]:
    """An identity policy document as IAM's grammar has it (what a role's inline policy must be), so that what
    validates is what CloudFormation and cdk-nag accept."""
    if not isinstance(value, dict):
        raise ValueError("must be a policy document (a map with Version and Statement)")
    for where, what, text in _policy_strings(value):
        if bad := POLICY_CONTROL_CHAR_RE.search(text):
            char, field = bad.group(), where if len(where) <= 60 else where[:59] + "…"
            raise ValueError(
                f"{field}: the {what} has the control character U+{ord(char):04X}; no policy string may hold one "
                "(U+0000 to U+001F, U+007F to U+009F: a newline in a value could rewrite the review that renders it)"
            )
        if bad := POLICY_DOCUMENT_CHAR_RE.search(text):
            char, field = bad.group(), where if len(where) <= 60 else where[:59] + "…"
            raise ValueError(
                f"{field}: the {what} has {char!r} (U+{ord(char):04X}); IAM allows only tab, newlines and "
                "U+0020 to U+00FF in a policy document"
            )
    unknown = set(value) - {"Version", "Id", "Statement"}
    if unknown:
        raise ValueError(f"unknown policy key {sorted(unknown)[0]!r} (a policy has Version, Id and Statement)")
    if value.get("Version") not in ("2012-10-17", "2008-10-17"):
        raise ValueError('Version must be "2012-10-17" (quoted: unquoted, YAML reads it as a date)')
    statements = value.get("Statement")
    statements = [statements] if isinstance(statements, dict) else statements
    if not isinstance(statements, list) or not statements:
        raise ValueError("Statement must be a statement or a non-empty list of statements")
    for n, statement in enumerate(statements):
        where = f"Statement[{n}]"
        if not isinstance(statement, dict):
            raise ValueError(f"{where} must be a map")
        if set(statement) - STATEMENT_KEYS:
            raise ValueError(f"{where}: unknown key {sorted(set(statement) - STATEMENT_KEYS)[0]!r} (no Principal here)")
        if statement.get("Effect") not in ("Allow", "Deny"):
            raise ValueError(f"{where}: Effect must be Allow or Deny")
        for one, other in (("Action", "NotAction"), ("Resource", "NotResource")):
            if (one in statement) == (other in statement):
                raise ValueError(f"{where}: exactly one of {one} and {other}")
            if not _strings(statement.get(one, statement.get(other))):
                raise ValueError(f"{where}: {one if one in statement else other} must be a string or a list of them")
        if "Sid" in statement and not (isinstance(statement["Sid"], str) and statement["Sid"].isascii()
                                       and statement["Sid"].isalnum()):  # fmt: skip
            raise ValueError(f"{where}: Sid must be letters and digits")
        condition = statement.get("Condition", {})
        if not isinstance(condition, dict) or not all(isinstance(v, dict) for v in condition.values()):
            raise ValueError(f"{where}: Condition must map operators to maps of keys and values")
        for operator, tests in condition.items():
            for key, expected in tests.items():
                values = expected if isinstance(expected, list) else [expected]
                if not values or not all(isinstance(v, str | int | float | bool) for v in values):
                    # a map here would reach the template as a CloudFormation function ({Ref: ...}, Fn::...)
                    raise ValueError(
                        f"{where}: Condition.{operator}.{key} must be a string, number or boolean, or a list of them"
                    )
    return value


PolicyDocument = Annotated[dict[str, Any], AfterValidator(_policy_document)]
GrantAccounts = Annotated[list[str] | Literal["*"], PlainValidator(_grant_accounts)]


class StrictModel(BaseModel):
    """The base of every section: unknown keys, wrong types and coercions are refused (pydantic strict)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class MfaSpec(StrictModel):
    """MFA settings; a missing field inherits from ``defaults.mfa``."""

    required: bool | None = None
    max_age_seconds: MfaAgeSeconds | None = None


# IAM's account alias: 3-63 of a-z 0-9 and single hyphens, starting and ending with a letter or digit.
AccountAlias = Annotated[
    str, _matches(r"(?=.{3,63}$)[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]", "IAM account alias (a-z 0-9 -, 3-63)")
]


# IAM Identity Center: a permission set's name is 1-32 of [\w+=,.@-] (the comma left out, as in switchrole's
# other names); its instance ARN is arn:aws:sso:::instance/ssoins-<16 characters>.
PermissionSetName = Annotated[
    str,
    Field(min_length=1, max_length=32),
    _matches(f"{USER_NAME_CHARS}+", "permission set name ([A-Za-z0-9+=.@_-], 1-32)"),
]
InstanceArn = Annotated[
    str, _matches(r"arn:aws:sso:::instance/(?:sso)?ins-[a-zA-Z0-9-.]{16}", "Identity Center instance ARN")
]
IdentityStoreId = Annotated[
    str,
    _matches(
        r"(?:[0-9a-f]{10}-)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "identity store group id"
    ),
]
StartUrl = Annotated[
    str,
    Field(max_length=256),
    _matches(r"https://[A-Za-z0-9.-]+(?:/[A-Za-z0-9._~#/-]*)?", "AWS access portal URL (https://...)"),
]


class IdentityCenterSpec(StrictModel):
    """``hub.identity_center:``: people who sign in through IAM Identity Center and reach the hub in a
    permission set's role (``groups.<group>.permission_set``)."""

    region: Region  # the instance's home region: the permission set roles' path carries it
    mfa_at_sign_in: bool = False  # Identity Center requires MFA at sign-in: the promise MFA-requiring kinds rely on
    start_url: StartUrl | None = None  # the AWS access portal, for the people's generated AWS CLI profiles
    instance_arn: InstanceArn | None = None  # with account_id: a stack that defines the permission sets
    account_id: AccountId | None = None  # the Identity Center administration account (management or delegated)


class HubSpec(StrictModel):
    """``hub:``: the identity account people sign in to."""

    account_id: AccountId
    name: AccountName
    region: Region = "us-east-1"
    organization_id: OrganizationId | None = None
    alias: AccountAlias | None = None  # what the console shows for the hub (AWS Extend Switch Roles matches it)
    identity_center: IdentityCenterSpec | None = None


class DefaultsSpec(StrictModel):
    """``defaults:``: what role kinds inherit unless they say otherwise."""

    mfa: MfaSpec = MfaSpec()
    max_session_duration: SessionSeconds = MIN_SESSION_SECONDS
    role_path: RolePath = "/switchrole/"


class RoleKindSpec(StrictModel):
    """``roles.<kind>:``: one kind of role, created in every account that lists it."""

    name: RoleName | None = None
    description: Description | None = None
    managed_policies: list[PolicyRef] = []
    inline_policies: dict[
        InlinePolicyName,
        PolicyDocument,
    ] = {}
    permissions_boundary: PolicyRef | None = None
    max_session_duration: SessionSeconds | None = None
    mfa: MfaSpec | None = None
    role_path: RolePath | None = None
    external_id: ExternalId | None = None
    source_identity: bool = False
    session_tags: SessionTagKeys = []  # the tag keys callers may set on their sessions (sts:TagSession)
    trust: Literal["account", "strict"] = "account"
    audit: bool = False  # `switchrole audit` reads target accounts through this role kind (at most one kind)
    tags: dict[TagKey, TagValue] = {}
    # cdk-nag findings this role kind accepts on purpose: finding id -> reason (both reviewed here)
    nag_acknowledgments: dict[
        Annotated[str, Field(max_length=300), _matches(r"AwsSolutions-[A-Za-z]+[0-9]+(\[.+\])?", "cdk-nag finding id")],
        Annotated[Description, Field(min_length=10)],
    ] = {}


class AccountSpec(StrictModel):
    """``accounts[]``: one target account and the role kinds it has."""

    name: AccountName
    account_id: AccountId
    roles: list[RoleKindKey] = Field(min_length=1)
    region: Region | None = None


class GrantSpec(StrictModel):
    """``groups.<group>.grants[]``: a role kind in some accounts, optionally until a time."""

    role: RoleKindKey
    accounts: GrantAccounts
    until: Until | None = None  # IAM ends the grant at this UTC time (aws:CurrentTime)


class GroupSpec(StrictModel):
    """``groups.<group>:``: a hub group and the switches its members may make; with ``permission_set``, its
    members are the people Identity Center assigns that permission set in the hub account (no ``users:``)."""

    description: Description | None = None
    permission_set: PermissionSetName | None = None
    # with the permission sets stack: the Identity Center group assigned the set in the hub (AWS::SSO::Assignment)
    identity_store_group: IdentityStoreId | None = None
    grants: list[GrantSpec] = []


class UserSpec(StrictModel):
    """``users.<user>:``: a hub user, their groups, tags and optional end."""

    groups: list[GroupName] = []
    until: Until | None = None  # every switch of this user ends at this UTC time (a Deny on the user)
    tags: dict[TagKey, TagValue] = {}  # the user's principal tags: the only values session tags may carry


class QuotasSpec(StrictModel):
    """IAM quotas that an account can raise; the defaults are AWS's defaults."""

    trust_policy_chars: Annotated[int, Field(ge=2048, le=8192)] = 2048
    role_managed_policies: Annotated[int, Field(ge=10, le=25)] = 10


OuId = Annotated[
    str,
    _matches(r"ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32}", "organizational unit or root id (ou-... or r-...)"),
]


class OuTargetSpec(StrictModel):
    """Every account of an OU gets these role kinds, including accounts added later (StackSets auto-deployment)."""

    ou: OuId
    roles: list[RoleKindKey] = Field(min_length=1)


class DeploymentSpec(StrictModel):
    """How target-account roles reach the accounts: one CDK stack each, or CloudFormation StackSets."""

    mode: Literal["stacks", "stacksets"] = "stacks"
    account_id: AccountId | None = None  # management or delegated-administrator account (stacksets)
    region: Region | None = None
    call_as: Literal["SELF", "DELEGATED_ADMIN"] = "SELF"
    organizational_unit_ids: list[OuId] = []  # OUs (or the root) that contain the listed accounts
    ou_targets: list[OuTargetSpec] = []
    max_concurrent_percentage: Annotated[int, Field(ge=1, le=100)] = 25
    failure_tolerance_percentage: Annotated[int, Field(ge=0, le=100)] = 10


class OrganisationSpec(StrictModel):
    """The whole file as written, before defaults are applied and references checked."""

    hub: HubSpec
    defaults: DefaultsSpec = DefaultsSpec()
    quotas: QuotasSpec = QuotasSpec()
    roles: dict[RoleKindKey, RoleKindSpec] = Field(min_length=1)
    accounts: list[AccountSpec] = Field(min_length=1)
    groups: dict[GroupName, GroupSpec] = {}
    users: dict[UserName, UserSpec] = {}
    deployment: DeploymentSpec = DeploymentSpec()
