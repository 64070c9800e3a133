"""The organisation model: the accounts file resolved, and the questions everything else asks of it.

Everything else in switchrole reads :class:`Organisation`, never raw YAML, so
defaults are resolved and cross references are checked exactly once:
:mod:`~switchrole.model.loading` reads and validates the file,
:mod:`~switchrole.model.references` checks its names, and
:mod:`~switchrole.model.resolve` builds this model from it.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from switchrole.model.expiry import End, earlier, ended, later
from switchrole.model.expiry import expired_entries as expired_entries  # where docs once named it
from switchrole.model.expiry import expiring_entries as expiring_entries

PARTITION = "aws"
STACK_PREFIX = "SwitchRole-"
HUB_STACK_NAME = f"{STACK_PREFIX}Hub"
IDENTITY_CENTER_STACK_NAME = f"{STACK_PREFIX}IdentityCenter"
MAX_STACK_NAME = 128
MAX_GROUPS_PER_USER = 10
MAX_CONSOLE_ROLE_CHARS = 64  # console Switch Role: path + name
MAX_GROUP_POLICIES = 10  # managed policies a group takes (its grant policies are numbered up to this)
HUB_PATH = "/switchrole/"  # IAM path of every group and managed policy switchrole creates in the hub
MANAGED_BY_TAG = ("switchrole:managed-by", "switchrole")  # on every role and user switchrole creates
ROLE_KIND_TAG = "switchrole:role-kind"  # on every role: its kind key
MAX_TAGS = 50  # IAM: tags on one role (or user); a role carries its kind's tags and switchrole's 2 own
# A role's construct id is its IAM role name, at the root of its stack (so that its logical id survives a kind-key
# rename). The CDK puts constructs of its own at a stack's root under these ids: the bootstrap version parameter
# and the rule checking it (DefaultStackSynthesizer; a role named BootstrapVersion made the CDK silently leave both
# out, one named CheckBootstrapVersion crashed synth), the version-reporting resource and the scope of cross-stack
# exports. Hub users and groups cannot take them: their construct ids are prefixed (User-<name>, Group-<name>).
CDK_ROOT_IDS = ("BootstrapVersion", "CheckBootstrapVersion", "CDKMetadata", "Exports")
# Without a role kind marked `audit: true`, `switchrole audit` reads target accounts through the first kind (file
# order) carrying one of these AWS-managed policies, each of which allows iam:Get* and iam:List*.
AUDIT_POLICIES = tuple(
    f"arn:{PARTITION}:iam::aws:policy/{name}" for name in ("SecurityAudit", "IAMReadOnlyAccess", "ReadOnlyAccess")
)


# --------------------------------------------------------------------------- model


def grant_policy_name(group: str, number: int) -> str:
    """The name of ``group``'s ``number``-th grant policy in the hub (at :data:`HUB_PATH`); a permission set
    references its group's policies by these names."""
    return f"switchrole-{group}-{number}"


def own_role_tags(key: str) -> dict[str, str]:
    """The tags switchrole puts on every role of kind ``key``, besides the kind's own ``tags:``."""
    return {MANAGED_BY_TAG[0]: MANAGED_BY_TAG[1], ROLE_KIND_TAG: key}


# IAM Identity Center creates, in every account a permission set is assigned to, the role
# AWSReservedSSO_<permission set>_<16 hexadecimal digits> under this path, followed by the instance's home region
# (documentation: Identity Center; facts and sources in iam-facts.md).
SSO_ROLE_PATH = "/aws-reserved/sso.amazonaws.com/"
SSO_ROLE_PREFIX = "AWSReservedSSO_"
SSO_ROLE_SUFFIX_CHARS = 16
CHAINED_SESSION_SECONDS = 3600  # a session assumed from another role session (role chaining) lasts at most 1 hour


def permission_set_grantee(permission_set: str) -> str:
    """How a permission set's people are named where a user's name would be (matrix, review): never a user
    name, which has no space."""
    return f"permission set {permission_set}"


@dataclass(frozen=True)
class IdentityCenter:
    """IAM Identity Center, where ``groups.<group>.permission_set`` people sign in."""

    region: str
    mfa_at_sign_in: bool
    start_url: str | None = None
    instance_arn: str | None = None
    account_id: str | None = None  # the administration account: a stack there defines the permission sets

    @property
    def stack(self) -> bool:
        """Does switchrole define the permission sets (SwitchRole-IdentityCenter, in the administration account)?"""
        return self.instance_arn is not None and self.account_id is not None

    @property
    def role_path(self) -> str:
        """The IAM path Identity Center gives a permission set's role: with the home region's segment, except
        for an instance in us-east-1, whose roles have none (AWS's documentation says so)."""
        return SSO_ROLE_PATH if self.region == "us-east-1" else f"{SSO_ROLE_PATH}{self.region}/"

    def role_patterns(self, account_id: str, permission_set: str) -> list[str]:
        """``ArnLike`` patterns matching exactly ``permission_set``'s role in ``account_id``: the path AWS writes
        for the home region, and the 16-character suffix as 16 ``?``, so that ``AWSReservedSSO_SRE_`` never
        matches the role of a set named ``SRE_Ops`` (``*`` would, and would cross into other paths)."""
        name = f"{SSO_ROLE_PREFIX}{permission_set}_{'?' * SSO_ROLE_SUFFIX_CHARS}"
        return [f"arn:{PARTITION}:iam::{account_id}:role{self.role_path}{name}"]

    def role_name(self, permission_set: str, suffix: str) -> str:
        """The role's name for ``permission_set`` with ``suffix`` (the emulator's stand-in creates them)."""
        return f"{SSO_ROLE_PREFIX}{permission_set}_{suffix}"


@dataclass(frozen=True)
class Hub:
    """The hub (identity) account: where people sign in and where their groups live."""

    account_id: str
    name: str
    region: str
    organization_id: str | None
    alias: str | None = None
    identity_center: IdentityCenter | None = None

    def user_arn(self, user: str) -> str:
        """The ARN of hub user ``user``."""
        return f"arn:{PARTITION}:iam::{self.account_id}:user/{user}"

    def mfa_serial(self, user: str) -> str:
        """The virtual MFA device ARN the AWS console creates for ``user``."""
        return f"arn:{PARTITION}:iam::{self.account_id}:mfa/{user}"


@dataclass(frozen=True)
class RoleKind:
    """A kind of role created in target accounts, with defaults resolved."""

    key: str
    name: str
    path: str
    description: str | None
    managed_policy_arns: tuple[str, ...]
    permissions_boundary: str | None  # policy name (in the target account) or ARN
    inline_policies: Mapping[str, Mapping[str, Any]]
    max_session_duration: int
    mfa_required: bool
    mfa_max_age_seconds: int
    external_id: str | None
    source_identity: bool
    session_tags: tuple[str, ...]  # tag keys callers may set on their sessions (empty: no sts:TagSession)
    strict_trust: bool
    tags: Mapping[str, str]
    nag_acknowledgments: Mapping[str, str]
    audit: bool = False  # marked `audit: true`: `switchrole audit` reads target accounts through it

    def arn(self, account_id: str) -> str:
        """This role kind's role ARN in ``account_id`` (its path included)."""
        return f"arn:{PARTITION}:iam::{account_id}:role{self.path}{self.name}"

    @property
    def role_tags(self) -> dict[str, str]:
        """Every tag the role carries: switchrole's own (:func:`own_role_tags`), then the kind's ``tags:``."""
        return {**own_role_tags(self.key), **self.tags}

    @property
    def any_account_arn(self) -> str:
        """The role in every account; identity policies narrow it by condition."""
        return f"arn:{PARTITION}:iam::*:role{self.path}{self.name}"

    @property
    def console_role_name(self) -> str:
        """What the console's Switch Role form calls the role name: path and name."""
        return f"{self.path.lstrip('/')}{self.name}"

    @property
    def console_switchable(self) -> bool:
        """The console's Switch Role can neither pass an external id nor set a source identity."""
        return self.external_id is None and not self.source_identity

    @property
    def cli_only_reason(self) -> str:
        """Why the console cannot switch into this kind (it needs an external id or a source identity)."""
        return "external id" if self.external_id is not None else "source identity"

    @property
    def assume_actions(self) -> tuple[str, ...]:
        """The STS actions a switch into this kind needs: AssumeRole, plus SetSourceIdentity and TagSession when
        the kind asks for them."""
        actions = ["sts:AssumeRole"]
        if self.source_identity:
            actions.append("sts:SetSourceIdentity")
        if self.session_tags:
            actions.append("sts:TagSession")
        return tuple(actions)

    def boundary_arn(self, account_id: str) -> str | None:
        """The permissions boundary's ARN in ``account_id`` (a name becomes that account's customer policy); None
        without one."""
        ref = self.permissions_boundary
        if ref is None or ref.startswith("arn:"):
            return ref
        return f"arn:{PARTITION}:iam::{account_id}:policy/{ref}"


@dataclass(frozen=True)
class TargetAccount:
    """A target account, its region and the role kinds it has."""

    name: str
    account_id: str
    role_keys: tuple[str, ...]
    region: str

    @property
    def stack_name(self) -> str:
        """The CloudFormation stack of this account's roles."""
        return f"{STACK_PREFIX}{self.name}"


@dataclass(frozen=True)
class Grant:
    """A role kind in some accounts for a group's members, until ``until`` (None: no end)."""

    role: str
    account_names: tuple[str, ...]  # resolved: "*" is expanded
    all_accounts: bool  # written as accounts: "*"
    until: End = None  # IAM ends the grant then (DateLessThan aws:CurrentTime)


@dataclass(frozen=True)
class Group:
    """A hub group: its grants; with ``permission_set``, the people Identity Center assigns that permission set
    in the hub (an IAM group for no user: its grant policies are the permission set's customer-managed ones)."""

    name: str
    description: str | None
    grants: tuple[Grant, ...]
    permission_set: str | None = None
    identity_store_group: str | None = None  # the Identity Center group assigned the set in the hub (its stack)

    @property
    def grantee(self) -> str | None:
        """The permission set's grantee name (:func:`permission_set_grantee`); None for an IAM-user group."""
        return None if self.permission_set is None else permission_set_grantee(self.permission_set)


@dataclass(frozen=True)
class User:
    """A hub user: groups, tags and an optional end of all their access."""

    name: str
    groups: tuple[str, ...]
    until: End = None  # every switch ends then (a Deny on the user, DateGreaterThanEquals aws:CurrentTime)
    tags: Mapping[str, str] = field(default_factory=dict)  # principal tags; session tags may only repeat them


@dataclass(frozen=True)
class Quotas:
    """The IAM quotas policies are measured against (the account's own, when raised)."""

    trust_policy_chars: int
    role_managed_policies: int


@dataclass(frozen=True)
class OuTarget:
    """An organizational unit a StackSet deploys to (StackSets mode)."""

    ou: str
    role_keys: tuple[str, ...]


@dataclass(frozen=True)
class Deployment:
    """How the target roles reach the accounts: one stack per account, or StackSets."""

    mode: str  # "stacks" or "stacksets"
    account_id: str | None
    region: str
    call_as: str
    organizational_unit_ids: tuple[str, ...]
    ou_targets: tuple[OuTarget, ...]
    max_concurrent_percentage: int
    failure_tolerance_percentage: int

    @property
    def stacksets(self) -> bool:
        """Target roles are deployed by a service-managed StackSet rather than a stack per account."""
        return self.mode == "stacksets"


@dataclass(frozen=True)
class Access:
    """One row of the access matrix: ``user`` may switch into ``role`` in ``account`` via ``group``."""

    user: str
    group: str
    account: TargetAccount
    role: RoleKind
    until: End = None  # the earlier of the grant's end and the user's own end
    permission_set: str | None = None  # a permission set's people (``user`` is then its grantee name)

    @property
    def session_seconds(self) -> int:
        """The longest session this switch gets: the role's maximum, but role chaining (a permission set's
        Identity Center session switching) is capped at 1 hour."""
        cap = CHAINED_SESSION_SECONDS if self.permission_set is not None else self.role.max_session_duration
        return min(self.role.max_session_duration, cap)

    def expired(self, now: datetime.datetime) -> bool:
        """Whether this access has ended at ``now`` (its ``until:`` passed)."""
        return ended(self.until, now)


@dataclass(frozen=True)
class Organisation:
    """A validated accounts file; the only thing the rest of switchrole reads."""

    hub: Hub
    quotas: Quotas
    role_kinds: Mapping[str, RoleKind]
    accounts: tuple[TargetAccount, ...]
    groups: Mapping[str, Group]
    users: Mapping[str, User]
    deployment: Deployment
    source: str = "accounts.yaml"

    # --- lookups
    @cached_property
    def _accounts_by_name(self) -> dict[str, TargetAccount]:
        return {a.name: a for a in self.accounts}

    def account(self, name: str) -> TargetAccount:
        """The target account named ``name`` (KeyError when the file has none)."""
        return self._accounts_by_name[name]

    @cached_property
    def _members(self) -> dict[str, tuple[str, ...]]:
        members: dict[str, list[str]] = defaultdict(list)
        for user in self.users.values():
            for group in user.groups:
                members[group].append(user.name)
        return {g: tuple(members.get(g, ())) for g in self.groups}

    def members(self, group: str) -> tuple[str, ...]:
        """Users of ``group``, in file order."""
        return self._members[group]

    # --- who may switch where
    @cached_property
    def _group_access(self) -> dict[str, dict[str, tuple[TargetAccount, ...]]]:
        result: dict[str, dict[str, tuple[TargetAccount, ...]]] = {}
        for group in self.groups.values():
            by_role: dict[str, dict[str, None]] = {}
            for grant in group.grants:
                by_role.setdefault(grant.role, {}).update(dict.fromkeys(grant.account_names))
            result[group.name] = {
                role: tuple(a for a in self.accounts if a.name in names) for role, names in by_role.items()
            }
        return result

    @cached_property
    def _grant_ends(self) -> dict[tuple[str, str, str], End]:
        ends: dict[tuple[str, str, str], End] = {}
        for group in self.groups.values():
            for grant in group.grants:
                for name in grant.account_names:
                    key = (group.name, grant.role, name)
                    ends[key] = later(ends[key], grant.until) if key in ends else grant.until
        return ends

    def grant_end(self, group: str, role: str, account: str) -> End:
        """When ``group``'s access to ``role`` in ``account`` ends: the latest of the grants naming it."""
        return self._grant_ends[(group, role, account)]

    def all_accounts_end(self, group: str, role: str) -> End:
        """When ``group``'s ``accounts: "*"`` grants of ``role`` end (the latest of them)."""
        ends = [g.until for g in self.groups[group].grants if g.role == role and g.all_accounts]
        assert ends, (group, role)
        return None if None in ends else max(e for e in ends if e is not None)

    def group_access(self, group: str) -> Mapping[str, tuple[TargetAccount, ...]]:
        """Role kind key -> the accounts (file order) where ``group`` may assume it."""
        return self._group_access[group]

    def group_all_accounts(self, group: str) -> frozenset[str]:
        """Role kinds ``group`` is granted with ``accounts: "*"``."""
        return frozenset(g.role for g in self.groups[group].grants if g.all_accounts)

    def org_wide(self, group: str, role: str) -> bool:
        """Is this grant expressed as "every account of the organisation that has the role" (constant size)?"""
        return self.hub.organization_id is not None and role in self.group_all_accounts(group)

    def group_requires_mfa(self, group: str) -> bool:
        """Does ``group`` carry the hub's MFA policy (an IAM-user group granted an MFA-requiring kind)? A
        permission set's people prove MFA to Identity Center at sign-in instead (``mfa_at_sign_in``)."""
        if self.groups[group].permission_set is not None:
            return False
        return any(self.role_kinds[role].mfa_required for role in self.group_access(group))

    @cached_property
    def permission_set_groups(self) -> tuple[Group, ...]:
        """The groups whose members are an Identity Center permission set's people, in file order."""
        return tuple(g for g in self.groups.values() if g.permission_set is not None)

    def permission_set_role_patterns(self, permission_set: str) -> list[str]:
        """``ArnLike`` patterns of ``permission_set``'s role in the hub (see :meth:`IdentityCenter.role_patterns`)."""
        assert self.hub.identity_center is not None, permission_set
        return self.hub.identity_center.role_patterns(self.hub.account_id, permission_set)

    def user_requires_mfa(self, user: str) -> bool:
        """Is ``user`` in a group that carries the hub's MFA policy (every switch then needs MFA)?"""
        return any(self.group_requires_mfa(group) for group in self.users[user].groups)

    @cached_property
    def _groups_granted(self) -> dict[tuple[str, str], tuple[str, ...]]:
        granted: dict[tuple[str, str], list[str]] = defaultdict(list)
        for group, by_role in self._group_access.items():
            for role, accounts in by_role.items():
                for account in accounts:
                    granted[(role, account.name)].append(group)
        return {k: tuple(v) for k, v in granted.items()}

    def groups_granted(self, role: str, account: str) -> tuple[str, ...]:
        """Groups granted ``role`` in ``account`` (file order)."""
        return self._groups_granted.get((role, account), ())

    def users_granted(self, role: str, account: str) -> tuple[str, ...]:
        """Hub users who may assume ``role`` in ``account`` (sorted, no duplicates)."""
        return tuple(sorted({u for g in self.groups_granted(role, account) for u in self.members(g)}))

    def permission_sets_granted(self, role: str, account: str) -> tuple[str, ...]:
        """Permission sets whose people may assume ``role`` in ``account`` (sorted, no duplicates)."""
        sets = (self.groups[g].permission_set for g in self.groups_granted(role, account))
        return tuple(sorted({s for s in sets if s is not None}))

    def permission_set_group(self, permission_set: str) -> Group:
        """The group that is ``permission_set`` (one per set: the file is checked for that)."""
        return next(g for g in self.permission_set_groups if g.permission_set == permission_set)

    def users_granted_everywhere(self, role: str) -> tuple[str, ...]:
        """Hub users granted ``role`` with ``accounts: "*"``: who may switch into it in accounts an OU target adds."""
        groups = [g for g in self.groups if role in self.group_all_accounts(g)]
        return tuple(sorted({u for g in groups for u in self.members(g)}))

    def permission_sets_granted_everywhere(self, role: str) -> tuple[str, ...]:
        """Permission sets granted ``role`` with ``accounts: "*"`` (sorted)."""
        granted = (g for g in self.permission_set_groups if role in self.group_all_accounts(g.name))
        return tuple(sorted({g.permission_set for g in granted if g.permission_set is not None}))

    def strict_roles_admitting_nobody(self) -> list[tuple[TargetAccount, RoleKind]]:
        """``trust: strict`` roles that no user or permission set is granted: deployed, but their trust admits
        nobody."""
        return [
            (account, self.role_kinds[key])
            for account in self.accounts
            for key in account.role_keys
            if self.role_kinds[key].strict_trust
            and not self.users_granted(key, account.name)
            and not self.permission_sets_granted(key, account.name)
        ]

    @cached_property
    def audit_role_kind(self) -> RoleKind | None:
        """The role kind ``switchrole audit`` reads target accounts through: the one marked ``audit: true``,
        else the first (file order) carrying one of :data:`AUDIT_POLICIES` (SecurityAudit preferred)."""
        return _audit_kind(self.role_kinds.values())

    def audit_kind_for(self, account: TargetAccount) -> RoleKind | None:
        """The role kind ``switchrole audit`` reads ``account`` through: the kind marked ``audit: true`` when the
        account has it, else the account's first kind (file order) carrying one of :data:`AUDIT_POLICIES`
        (SecurityAudit preferred); None when the account has no kind that can read IAM."""
        return _audit_kind(kind for kind in self.role_kinds.values() if kind.key in account.role_keys)

    def access(self, user: str | None = None) -> Iterator[Access]:
        """Every (user, group, account, role) switch the file grants, in file order."""
        users = [self.users[user]] if user is not None else list(self.users.values())
        for u in users:
            for group in u.groups:
                for role, accounts in self.group_access(group).items():
                    for account in accounts:
                        until = earlier(self.grant_end(group, role, account.name), u.until)
                        yield Access(u.name, group, account, self.role_kinds[role], until)

    def permission_set_access(self) -> Iterator[Access]:
        """Every (permission set, group, account, role) switch the file grants, in file order; ``user`` is the
        permission set's grantee name (:func:`permission_set_grantee`), ``until`` its grant's end."""
        for group in self.permission_set_groups:
            assert group.grantee is not None
            for role, accounts in self.group_access(group.name).items():
                for account in accounts:
                    until = self.grant_end(group.name, role, account.name)
                    kind = self.role_kinds[role]
                    yield Access(group.grantee, group.name, account, kind, until, group.permission_set)

    def grantee_access(self) -> Iterator[Access]:
        """:meth:`access` of every user, then :meth:`permission_set_access`: everyone the file lets switch."""
        yield from self.access()
        yield from self.permission_set_access()

    @cached_property
    def _access_ends(self) -> dict[tuple[str, str, str], End]:
        ends: dict[tuple[str, str, str], End] = {}
        for a in self.grantee_access():
            key = (a.user, a.account.name, a.role.key)
            ends[key] = later(ends[key], a.until) if key in ends else a.until
        return ends

    def access_end(self, user: str, account: str, role: str) -> End:
        """When ``user``'s switch into ``role`` in ``account`` ends, through whichever group lasts longest
        (``user`` may be a permission set's grantee name)."""
        return self._access_ends[(user, account, role)]

    def user_roles(self, user: str, *, now: datetime.datetime | None = None) -> list[tuple[TargetAccount, RoleKind]]:
        """Distinct (account, role) pairs ``user`` may switch into, in file order of accounts; with ``now``, only
        those IAM still allows then (expired grants, and everything of an expired user, left out)."""
        pairs = {
            (a.account.name, a.role.key)
            for a in self.access(user)
            if now is None or not ended(self.access_end(user, a.account.name, a.role.key), now)
        }
        return self._in_file_order(pairs)

    def permission_set_roles(
        self, permission_set: str, *, now: datetime.datetime | None = None
    ) -> list[tuple[TargetAccount, RoleKind]]:
        """:meth:`user_roles` for ``permission_set``'s people: its distinct (account, role) pairs, in file order;
        with ``now``, only those IAM still allows then."""
        grantee = permission_set_grantee(permission_set)
        pairs = {
            (a.account.name, a.role.key)
            for a in self.permission_set_access()
            if a.permission_set == permission_set
            and (now is None or not ended(self.access_end(grantee, a.account.name, a.role.key), now))
        }
        return self._in_file_order(pairs)

    def _in_file_order(self, pairs: set[tuple[str, str]]) -> list[tuple[TargetAccount, RoleKind]]:
        """(account name, kind key) ``pairs`` as (account, kind), in file order of accounts and their kinds."""
        return [
            (account, self.role_kinds[key])
            for account in self.accounts
            for key in account.role_keys
            if (account.name, key) in pairs
        ]


def _audit_kind(kinds: Iterable[RoleKind]) -> RoleKind | None:
    """Of ``kinds`` (file order): the one marked ``audit: true``, else the first carrying one of
    :data:`AUDIT_POLICIES`, SecurityAudit preferred; None when none can read IAM."""
    candidates = list(kinds)
    marked = [kind for kind in candidates if kind.audit]
    if marked:
        return marked[0]
    for policy in AUDIT_POLICIES:
        for kind in candidates:
            if policy in kind.managed_policy_arns:
                return kind
    return None
