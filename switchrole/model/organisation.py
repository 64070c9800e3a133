"""The organisation model: load ``accounts.yaml``, validate it, answer questions.

Everything else in switchrole reads :class:`Organisation`, never raw YAML, so
defaults are resolved and cross references are checked exactly once, here.
Loading collects every problem (with its field path and file line) before it
gives up, so one run of ``switchrole validate`` shows the whole list.
"""

from __future__ import annotations

import datetime
import difflib
import math
import os
import re
import struct
import types
import typing
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path as FsPath
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, TaggedScalar
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.reader import ReaderError

from switchrole.model.display_names import fit_display_name, portable_display_key
from switchrole.model.errors import ConfigError, Path, Problem, sorted_problems
from switchrole.model.schema import MAX_POLICY_NAME, OrganisationSpec, RoleKindSpec
from switchrole.model.text import described, short
from switchrole.model.yaml_bounds import (
    MAX_DEPTH,
    MAX_LINES,
    CheckingComposer,
    MergeKeysComposer,
    Refused,
    count_lines,
    prescan,
)
from switchrole.model.yaml_lines import LocatingConstructor, locate_line
from switchrole.model.yaml_messages import in_words

PARTITION = "aws"
STACK_PREFIX = "SwitchRole-"
HUB_STACK_NAME = f"{STACK_PREFIX}Hub"
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


def own_role_tags(key: str) -> dict[str, str]:
    """The tags switchrole puts on every role of kind ``key``, besides the kind's own ``tags:``."""
    return {MANAGED_BY_TAG[0]: MANAGED_BY_TAG[1], ROLE_KIND_TAG: key}


@dataclass(frozen=True)
class Hub:
    account_id: str
    name: str
    region: str
    organization_id: str | None
    alias: str | None = None

    def user_arn(self, user: str) -> str:
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
        return "external id" if self.external_id is not None else "source identity"

    @property
    def assume_actions(self) -> tuple[str, ...]:
        actions = ["sts:AssumeRole"]
        if self.source_identity:
            actions.append("sts:SetSourceIdentity")
        if self.session_tags:
            actions.append("sts:TagSession")
        return tuple(actions)

    def boundary_arn(self, account_id: str) -> str | None:
        ref = self.permissions_boundary
        if ref is None or ref.startswith("arn:"):
            return ref
        return f"arn:{PARTITION}:iam::{account_id}:policy/{ref}"


@dataclass(frozen=True)
class TargetAccount:
    name: str
    account_id: str
    role_keys: tuple[str, ...]
    region: str

    @property
    def stack_name(self) -> str:
        return f"{STACK_PREFIX}{self.name}"


# --------------------------------------------------------------------------- expiry

End = datetime.datetime | None  # when access ends (a UTC time); None: it does not
EXPIRING_SOON = datetime.timedelta(days=14)  # validate warns about access ending within this


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def earlier(a: End, b: End) -> End:
    """The end of access that needs both (a grant *and* the user's own end): the earlier one."""
    return b if a is None else a if b is None else min(a, b)


def later(a: End, b: End) -> End:
    """The end of access that either gives (two grants of the same role): the later one."""
    return None if a is None or b is None else max(a, b)


def ended(end: End, now: datetime.datetime) -> bool:
    """IAM's grant holds while ``aws:CurrentTime < until`` (DateLessThan): at ``until`` it has ended."""
    return end is not None and end <= now


def iso(end: datetime.datetime) -> str:
    """The form IAM's Date conditions and accounts.yaml both use: ``2027-03-31T00:00:00Z``."""
    return end.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Grant:
    role: str
    account_names: tuple[str, ...]  # resolved: "*" is expanded
    all_accounts: bool  # written as accounts: "*"
    until: End = None  # IAM ends the grant then (DateLessThan aws:CurrentTime)


@dataclass(frozen=True)
class Group:
    name: str
    description: str | None
    grants: tuple[Grant, ...]


@dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...]
    until: End = None  # every switch ends then (a Deny on the user, DateGreaterThanEquals aws:CurrentTime)
    tags: Mapping[str, str] = field(default_factory=dict)  # principal tags; session tags may only repeat them


@dataclass(frozen=True)
class Quotas:
    trust_policy_chars: int
    role_managed_policies: int


@dataclass(frozen=True)
class OuTarget:
    ou: str
    role_keys: tuple[str, ...]


@dataclass(frozen=True)
class Deployment:
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
        return self.mode == "stacksets"


@dataclass(frozen=True)
class Access:
    """One row of the access matrix: ``user`` may switch into ``role`` in ``account`` via ``group``."""

    user: str
    group: str
    account: TargetAccount
    role: RoleKind
    until: End = None  # the earlier of the grant's end and the user's own end

    def expired(self, now: datetime.datetime) -> bool:
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
        return any(self.role_kinds[role].mfa_required for role in self.group_access(group))

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
        return self._groups_granted.get((role, account), ())

    def users_granted(self, role: str, account: str) -> tuple[str, ...]:
        """Hub users who may assume ``role`` in ``account`` (sorted, no duplicates)."""
        return tuple(sorted({u for g in self.groups_granted(role, account) for u in self.members(g)}))

    def users_granted_everywhere(self, role: str) -> tuple[str, ...]:
        """Hub users granted ``role`` with ``accounts: "*"``: who may switch into it in accounts an OU target adds."""
        groups = [g for g in self.groups if role in self.group_all_accounts(g)]
        return tuple(sorted({u for g in groups for u in self.members(g)}))

    def strict_roles_admitting_nobody(self) -> list[tuple[TargetAccount, RoleKind]]:
        """``trust: strict`` roles that no user is granted: deployed, but their trust admits nobody."""
        return [
            (account, self.role_kinds[key])
            for account in self.accounts
            for key in account.role_keys
            if self.role_kinds[key].strict_trust and not self.users_granted(key, account.name)
        ]

    @cached_property
    def audit_role_kind(self) -> RoleKind | None:
        """The role kind ``switchrole audit`` reads target accounts through: the one marked ``audit: true``,
        else the first (file order) carrying one of :data:`AUDIT_POLICIES` (SecurityAudit preferred)."""
        marked = [k for k in self.role_kinds.values() if k.audit]
        if marked:
            return marked[0]
        for policy in AUDIT_POLICIES:
            for kind in self.role_kinds.values():
                if policy in kind.managed_policy_arns:
                    return kind
        return None

    def audit_kind_for(self, account: TargetAccount) -> RoleKind | None:
        """The role kind ``switchrole audit`` reads ``account`` through: the kind marked ``audit: true`` when the
        account has it, else the account's first kind (file order) carrying one of :data:`AUDIT_POLICIES`
        (SecurityAudit preferred); None when the account has no kind that can read IAM."""
        kinds = [kind for kind in self.role_kinds.values() if kind.key in account.role_keys]
        marked = [kind for kind in kinds if kind.audit]
        if marked:
            return marked[0]
        for policy in AUDIT_POLICIES:
            for kind in kinds:
                if policy in kind.managed_policy_arns:
                    return kind
        return None

    def access(self, user: str | None = None) -> Iterator[Access]:
        """Every (user, group, account, role) switch the file grants, in file order."""
        users = [self.users[user]] if user is not None else list(self.users.values())
        for u in users:
            for group in u.groups:
                for role, accounts in self.group_access(group).items():
                    for account in accounts:
                        until = earlier(self.grant_end(group, role, account.name), u.until)
                        yield Access(u.name, group, account, self.role_kinds[role], until)

    @cached_property
    def _access_ends(self) -> dict[tuple[str, str, str], End]:
        ends: dict[tuple[str, str, str], End] = {}
        for a in self.access():
            key = (a.user, a.account.name, a.role.key)
            ends[key] = later(ends[key], a.until) if key in ends else a.until
        return ends

    def access_end(self, user: str, account: str, role: str) -> End:
        """When ``user``'s switch into ``role`` in ``account`` ends, through whichever group lasts longest."""
        return self._access_ends[(user, account, role)]

    def user_roles(self, user: str, *, now: datetime.datetime | None = None) -> list[tuple[TargetAccount, RoleKind]]:
        """Distinct (account, role) pairs ``user`` may switch into, in file order of accounts; with ``now``, only
        those IAM still allows then (expired grants, and everything of an expired user, left out)."""
        pairs = {
            (a.account.name, a.role.key)
            for a in self.access(user)
            if now is None or not ended(self.access_end(user, a.account.name, a.role.key), now)
        }
        return [
            (account, self.role_kinds[key])
            for account in self.accounts
            for key in account.role_keys
            if (account.name, key) in pairs
        ]


def expiry_entries(org: Organisation) -> list[tuple[Path, datetime.datetime]]:
    """Every ``until:`` in the file, as (field path, time): grants in file order, then users."""
    entries: list[tuple[Path, datetime.datetime]] = [
        (("groups", name, "grants", i, "until"), grant.until)
        for name, group in org.groups.items()
        for i, grant in enumerate(group.grants)
        if grant.until is not None
    ]
    entries += [(("users", name, "until"), user.until) for name, user in org.users.items() if user.until is not None]
    return entries


def expired_entries(org: Organisation, now: datetime.datetime) -> list[tuple[Path, datetime.datetime]]:
    """The ``until:`` entries IAM already enforces at ``now`` (field path, time): they grant nothing any more
    and should leave the file. Pure, for ``validate`` and for audits."""
    return [(path, until) for path, until in expiry_entries(org) if ended(until, now)]


def expiring_entries(
    org: Organisation, now: datetime.datetime, within: datetime.timedelta = EXPIRING_SOON
) -> list[tuple[Path, datetime.datetime]]:
    """The ``until:`` entries that end after ``now`` but within ``within`` (field path, time)."""
    return [(path, until) for path, until in expiry_entries(org) if now < until <= now + within]


# --------------------------------------------------------------------------- loading


MAX_FILE_BYTES = 2_000_000  # accounts files of 5,000 accounts are under 1 MB
MAX_VALUES = 1_000_000  # values in the parsed file, aliases expanded (5,000 accounts: ~60,000)
# The limits on the YAML as written (lines, nodes, anchors, depth) are in yaml_bounds.


def read_text(path: str | FsPath, what: str = "the file", limit: int = MAX_FILE_BYTES) -> str:
    """A regular UTF-8 file of at most ``limit`` bytes, or :class:`ConfigError` saying why not: a FIFO would
    block forever and /dev/zero would never end, so anything but a regular file is refused before reading."""
    import stat

    source = str(path)
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError.single((), f"{what} is not a regular file", source)
        if info.st_size > limit:
            raise ConfigError.single((), f"{what} is {info.st_size:,} bytes; at most {limit:,} are read", source)
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise ConfigError.single((), f"cannot read {what}: {exc.strerror or exc}", source) from None
    if len(data) > limit:
        raise ConfigError.single((), f"{what} is over {limit:,} bytes", source)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        byte = data[exc.start]
        raise ConfigError.single((), f"not UTF-8: byte 0x{byte:02x} (save the file as UTF-8)", source, line) from None


def load(path: str | FsPath) -> Organisation:
    """Read and validate an accounts file; raise :class:`ConfigError` listing every problem."""
    return loads(read_text(path), str(path))


def loads(text: str, source: str = "accounts.yaml", *, merge_keys: bool = False) -> Organisation:
    """Validate accounts-file text (see :func:`load`); ``merge_keys``: see :func:`parse_yaml`."""
    root = parse_yaml(text, source, merge_keys=merge_keys)
    return from_data(to_plain(root, source), source, locate=lambda path: locate_line(root, path))


def from_data(
    data: Mapping[str, Any],
    source: str = "(generated)",
    *,
    locate: Callable[[Path], int | None] = lambda _: None,
) -> Organisation:
    """Validate parsed data: the schema, then cross references; ``locate`` maps field paths to file lines
    (generated organisations and benchmarks have none)."""
    try:
        spec = OrganisationSpec.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(sorted_problems(_schema_problems(exc, locate)), source) from None
    problems = check_references(spec)
    if problems:
        raise ConfigError(sorted_problems(ConfigError(problems).with_lines(locate).problems), source)
    return resolve(spec, source)


def parse_yaml(text: str, source: str, *, merge_keys: bool = False) -> CommentedMap:
    """Parse with ruamel.yaml (round-trip mode keeps line numbers for error messages). ``merge_keys`` lets
    YAML merge keys through (refused otherwise: :mod:`switchrole.model.yaml_merge`), for a base revision that an
    earlier switchrole accepted."""
    if len(text) > MAX_FILE_BYTES:
        raise ConfigError.single((), f"the file is over {MAX_FILE_BYTES:,} characters", source)
    lines = count_lines(text)
    if lines > MAX_LINES:
        raise ConfigError.single((), f"the file has {lines:,} lines; at most {MAX_LINES:,} are read", source)
    yaml = YAML(typ="rt")
    yaml.Composer = MergeKeysComposer if merge_keys else CheckingComposer
    yaml.Constructor = LocatingConstructor
    try:
        prescan(
            text, merge_keys=merge_keys
        )  # the limits, cheaply, before ruamel's (pure Python) parser composes anything
        root = yaml.load(text)
    except Refused as exc:
        raise ConfigError.single(exc.path, exc.message, source, exc.line) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
        what = in_words((exc.problem or exc.context or "parse error").strip())
        raise ConfigError.single((), f"not valid YAML: {short(what, 200)[1:-1]}", source, line, column) from None
    except ReaderError as exc:  # a character YAML does not allow, found before anything is parsed
        line, column = _line_and_column(text, exc.position)
        raise ConfigError.single((), _unreadable_character(exc.character), source, line, column) from None
    except YAMLError as exc:
        raise ConfigError.single((), f"not valid YAML: {short(str(exc).splitlines()[0], 200)[1:-1]}", source) from None
    except RecursionError:
        raise ConfigError.single((), f"not valid YAML: nested more than {MAX_DEPTH} levels", source) from None
    except Exception as exc:  # the parser's own failures (a 5,000-digit number, a %YAML 1.3 header, ...)
        reason = short(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, 200)[1:-1]
        raise ConfigError.single((), f"not valid YAML: {reason}", source) from None
    if root is None:
        raise ConfigError.single((), "the file is empty; see accounts.yaml in the repository for an example", source)
    if not isinstance(root, CommentedMap):
        raise ConfigError.single(
            (), f"the top level must be a mapping (hub:, roles:, accounts:, ...), not {_describe(root)}", source, 1
        )
    return root


_LINE_BREAKS = ("\n", "\r", "\x85", "\u2028", "\u2029")


def _line_and_column(text: str, position: int) -> tuple[int, int]:
    """1-based line and column of character ``position``, counting lines as YAML does (:func:`count_lines`)."""
    before = text[:position]
    start = max(before.rfind(end) for end in _LINE_BREAKS) + 1
    return count_lines(before) + 1, position - start + 1


def _unreadable_character(character: Any) -> str:
    """What YAML's reader refused (a control character, most often), in words."""
    import unicodedata

    code = character if isinstance(character, int) else ord(str(character)[:1] or "\0")
    kind = "control character" if unicodedata.category(chr(code)) == "Cc" else "character"
    return (
        f"not valid YAML: {kind} U+{code:04X}, which YAML does not allow in a file: delete it (in a "
        f'double-quoted string, write it as the escape "\\u{code:04X}")'
    )


def to_plain(node: Any, source: str = "accounts.yaml") -> Any:
    """ruamel's round-trip types -> plain dict/list/str/int/float/bool/None for strict pydantic, and only those:
    policy documents end up as JSON, so a date, a YAML tag, bytes or a set is refused (naming the field), as
    are non-finite numbers, non-string keys, self-referencing aliases, deep nesting, and aliases that expand to
    more than :data:`MAX_VALUES` values (checked while expanding, so an alias bomb stops early). Synthesis must
    carry every value as written: integers beyond 2^53, lone surrogates and CDK's token markers are refused."""
    budget = [MAX_VALUES]
    root = node

    def fail(path: Path, message: str, line: int | None = None) -> ConfigError:
        return ConfigError.single(path, message, source, line or locate_line(root, path))

    def plain(value: Any, path: Path, parents: tuple[int, ...]) -> Any:
        budget[0] -= 1
        if budget[0] < 0:
            raise fail((), f"the file expands to more than {MAX_VALUES:,} values (YAML aliases repeating content?)")
        if len(parents) > MAX_DEPTH:
            raise fail(path, f"nested more than {MAX_DEPTH} levels")
        if isinstance(value, Mapping | list) and id(value) in parents:
            raise fail(path, "refers to itself (a YAML alias inside its own anchor)")
        inner = (*parents, id(value))
        if isinstance(value, Mapping):
            result = {}
            for key, item in value.items():
                if not isinstance(key, str):
                    raise fail(path, _key_problem(key), _key_line(value, key))
                checked(str(key), (*path, str(key)))
                result[str(key)] = plain(item, (*path, str(key)), inner)
            return result
        if isinstance(value, list):
            return [plain(item, (*path, i), inner) for i, item in enumerate(value)]
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, str) and not isinstance(value, TaggedScalar):
            return checked(str(value), path)
        if isinstance(value, TaggedScalar) and str(value.tag) == "tag:yaml.org,2002:str":  # !!str, let in
            return checked(str(value.value), path)
        if isinstance(value, int):
            if abs(value) > MAX_EXACT_INTEGER:  # JSON numbers are doubles: CDK would write a rounded one, or null
                raise fail(path, f"{short(value)} is not a number JSON can carry exactly (at most 2^53 - 1)")
            return int(value)
        if isinstance(value, float):
            if not math.isfinite(value):
                raise fail(path, f"{value} is not a number JSON can carry")
            if struct.unpack("<Q", struct.pack("<d", value))[0] >> 48 == _CDK_NUMBER_TOKEN_BITS:
                raise fail(path, f"{value!r} is how CDK encodes a number token: {_CDK_TOKEN_EFFECT}")
            return float(value)
        if isinstance(value, datetime.datetime) and _until_path(path):  # an unquoted YAML timestamp
            # a plain datetime: ruamel's TimeStamp loses its zone when copied; the schema checks it is UTC
            return datetime.datetime(*value.timetuple()[:6], value.microsecond, tzinfo=value.tzinfo)
        if isinstance(value, datetime.date) and _until_path(path):
            return value  # a date without a time: the schema says what to write instead
        what = f"YAML tag {value.tag.value}" if isinstance(value, TaggedScalar) else described(value)
        if isinstance(value, datetime.date):  # ruamel's TimeStamp, or a date
            what = "a date (an unquoted timestamp)"
        raise fail(path, f"{what} is not allowed here: only strings, numbers, booleans, lists and maps (quote it)")

    def checked(text: str, path: Path) -> str:
        """A string synth can carry as written: whole Unicode characters, and no CDK token marker."""
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise fail(
                path,
                f"not valid Unicode: a lone surrogate U+{ord(text[exc.start]):04X} (a YAML escape must encode "
                "a whole character: \\U0001F600, not two \\u halves)",
            ) from None
        if "Token[" in text or "e+289" in text:
            found = _CDK_TOKEN.search(text)
            if found:
                raise fail(path, f"{found.group()!r} is how CDK marks a token: {_CDK_TOKEN_EFFECT}")
        return text

    return plain(node, (), ())


def _key_problem(key: Any) -> str:
    """Why a map key that is not a string is refused, in the words of the file (never a parser type)."""
    if isinstance(key, tuple | list):  # `? [a, b]: x` or `{[a]: 1}`
        what = "a list (a key written as [..] or ? [..])"
    elif isinstance(key, Mapping):
        what = "a map (a key written as {..} or ? {..})"
    elif key is None:
        what = "empty (null)"
    elif isinstance(key, bool):
        what = f"the boolean {str(key).lower()}: quote it if it is a name"
    elif isinstance(key, int | float):
        number = short(str(key), 40)[1:-1]
        what = f"the number {number}: quote it if it is a name ('{number}')"
    elif isinstance(key, datetime.date):
        what = "a date: quote it if it is a name"
    else:
        what = "a tagged or typed value: write it as a plain string"
    return f"a mapping key must be a plain string, not {what}"


def _key_line(mapping: Any, key: Any) -> int | None:
    """The line a key of a parsed map was written on, when ruamel recorded it."""
    try:
        return int(mapping.lc.key(key)[0]) + 1
    except (AttributeError, KeyError, TypeError, IndexError):
        return None


MAX_EXACT_INTEGER = 2**53 - 1
# CDK encodes unresolved values inside strings, lists and numbers (aws-cdk-lib core/lib/private/encoding.ts):
# "${Token[KEY]}" in a string, "#{Token[KEY]}" as a list's element, a double whose top 16 bits are 0xFBFF (about
# -1.888e+289) for a number, and that double written into a string. Synthesis looks each up and fails.
_CDK_TOKEN = re.compile(r"[$#]\{Token\[|-1\.\d{10,16}e\+289")
_CDK_NUMBER_TOKEN_BITS = 0xFBFF
_CDK_TOKEN_EFFECT = "synthesis would look it up as a reference to a value and fail (reword it)"


def _until_path(path: Path) -> bool:
    """``groups.<g>.grants[i].until`` or ``users.<u>.until``: the only places a timestamp may be unquoted."""
    shape = tuple(type(p) for p in path)
    grant = shape == (str, str, str, int, str) and path[0] == "groups" and path[2] == "grants"
    user = shape == (str, str, str) and path[0] == "users"
    return (grant or user) and path[-1] == "until"


def _schema_problems(exc: ValidationError, locate: Callable[[Path], int | None]) -> Iterable[Problem]:
    for error in exc.errors(include_url=False):
        loc = tuple(p for p in error["loc"] if p != "[key]")
        yield Problem(loc, _schema_message(error), locate(loc))


_BOUNDS = {
    "greater_than_equal": ("ge", "at least"),
    "greater_than": ("gt", "greater than"),
    "less_than_equal": ("le", "at most"),
    "less_than": ("lt", "less than"),
}


def _schema_message(error: Any) -> str:
    """Pydantic's message, phrased for someone editing YAML, with the offending value."""
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        return "unknown key" + _suggest(str(error["loc"][-1]), _fields_at(tuple(error["loc"][:-1])))
    if kind == "missing":
        return "is required"
    if kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        return f"must be {words} {ctx[key]}, got {short(value)}"
    if kind == "too_short" and ctx.get("min_length") == 1:
        return "must not be empty"
    return f"{_MODEL_TYPE.sub('a mapping', str(error['msg']))}, got {_describe(value)}"


_MODEL_TYPE = re.compile(r"a valid dictionary( or instance of \w+)?")  # pydantic names the model class


def _describe(value: Any) -> str:
    """A value as YAML calls it (never a Python type name: ``got NoneType None`` read like a crash)."""
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return described(value)


def _suggest(word: str, choices: Iterable[str] | None) -> str:
    choices = list(choices or [])
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f" (expected one of: {', '.join(choices)})" if choices else ""


def _fields_at(path: Path) -> list[str] | None:
    """Field names of the schema model at ``path``, for "did you mean" hints."""
    tp: Any = OrganisationSpec
    for part in path:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            info = tp.model_fields.get(str(part))
            tp = info.annotation if info else None
        elif typing.get_origin(tp) in (list, dict):
            tp = typing.get_args(tp)[-1]
        else:
            return None
    tp = _unwrap(tp)
    return list(tp.model_fields) if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _unwrap(tp: Any) -> Any:
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(tp) if a is not type(None)]
            tp = members[0]
        else:
            return tp


# --------------------------------------------------------------------------- cross references


def check_references(spec: OrganisationSpec) -> list[Problem]:
    """Everything one field cannot know alone: duplicates, references, name lengths."""
    problems: list[Problem] = []

    def add(path: Path, message: str) -> None:
        problems.append(Problem(path, message))

    kinds = spec.roles

    # role kinds: resolved names must be unique and switchable from the console
    names_seen: dict[str, str] = {}
    for key, kind in kinds.items():
        name, path = kind.name or key, kind.role_path or spec.defaults.role_path
        other = names_seen.setdefault(name.lower(), key)
        if other != key:
            add(("roles", key, "name" if kind.name else "roles"), f"role name {name!r} is also used by roles.{other}")
        if name in CDK_ROOT_IDS:
            add(
                ("roles", key, "name") if kind.name else ("roles", key),
                f"role name {name!r} is reserved by the AWS CDK (its own id at the root of every stack, where each "
                "role's id is its name); " + ("choose another name" if kind.name else "set `name:` to another name"),
            )
        if len(path.lstrip("/") + name) > MAX_CONSOLE_ROLE_CHARS:
            add(
                ("roles", key, "role_path" if kind.role_path else "name"),
                f"path + role name {path.lstrip('/') + name!r} is {len(path.lstrip('/') + name)} characters; "
                f"the console's Switch Role accepts at most {MAX_CONSOLE_ROLE_CHARS}",
            )
        if len(kind.managed_policies) > spec.quotas.role_managed_policies:
            add(
                ("roles", key, "managed_policies"),
                f"{len(kind.managed_policies)} managed policies; a role takes at most "
                f"{spec.quotas.role_managed_policies} (quotas.role_managed_policies)",
            )
        _check_duplicates(kind.managed_policies, ("roles", key, "managed_policies"), "policy", add)
        own = len(own_role_tags(key))
        if len(kind.tags) + own > MAX_TAGS:
            add(
                ("roles", key, "tags"),
                f"{len(kind.tags)} tags; IAM allows {MAX_TAGS} on a role and switchrole adds {own} of its own "
                f"({', '.join(own_role_tags(key))}): at most {MAX_TAGS - own} here",
            )
        _check_case_duplicates(kind.tags, ("roles", key, "tags"), "tag key", add)
        role_keys = {k.lower() for k in [*kind.tags, *own_role_tags(key)]}
        for i, tag in enumerate(kind.session_tags):
            if tag.lower() in role_keys:  # a session tag overrides the role's tag of the same key
                add(
                    ("roles", key, "session_tags", i),
                    f"{tag!r} is also a tag of the role: a session tag of that key would override it, so "
                    "attribute-based policies could no longer trust the role's value",
                )
    for name, user in spec.users.items():
        _check_case_duplicates(user.tags, ("users", name, "tags"), "tag key", add)
        if len(user.tags) + 1 > MAX_TAGS:
            add(("users", name, "tags"), f"{len(user.tags)} tags; IAM allows {MAX_TAGS} and switchrole adds 1")
    _check_case_duplicates(kinds, ("roles",), "role kind", add)
    audited = [key for key, kind in kinds.items() if kind.audit]
    for key in audited[1:]:
        add(("roles", key, "audit"), f"only one role kind can be the audit role; roles.{audited[0]} already is")

    # target accounts
    hub = spec.hub
    ids: dict[str, int] = {}
    names: dict[str, int] = {}
    for i, account in enumerate(spec.accounts):
        at: Path = ("accounts", i)
        if account.account_id == hub.account_id:
            add(
                (*at, "account_id"),
                f"{account.account_id} is the hub account (hub.account_id); the hub cannot be a target",
            )
        if (j := ids.setdefault(account.account_id, i)) != i:
            add((*at, "account_id"), f"duplicate account id {account.account_id} (also accounts[{j}])")
        if (j := names.setdefault(account.name.lower(), i)) != i:
            add((*at, "name"), f"duplicate account name {account.name!r} (also accounts[{j}])")
        if account.name.lower() in (hub.name.lower(), "hub"):
            add((*at, "name"), f"{account.name!r} clashes with the hub (stack {HUB_STACK_NAME}, hub.name)")
        if len(STACK_PREFIX + account.name) > MAX_STACK_NAME:
            add((*at, "name"), f"stack name {STACK_PREFIX}{account.name} would exceed {MAX_STACK_NAME} characters")
        for k, role in enumerate(account.roles):
            if role not in kinds:
                add((*at, "roles", k), f"unknown role kind {role!r}" + _suggest(role, kinds))
        _check_duplicates(account.roles, (*at, "roles"), "role kind", add)

    _check_console_names(spec, add)

    by_name = {a.name: a for a in spec.accounts}
    # groups and their grants
    for gname, group in spec.groups.items():
        for i, grant in enumerate(group.grants):
            at = ("groups", gname, "grants", i)
            if grant.role not in kinds:
                add((*at, "role"), f"unknown role kind {grant.role!r}" + _suggest(grant.role, kinds))
                continue
            if grant.accounts == "*":
                if not any(grant.role in a.roles for a in spec.accounts):
                    add((*at, "accounts"), f'"*" matches nothing: no target account has role kind {grant.role!r}')
                continue
            for k, name in enumerate(grant.accounts):
                target = by_name.get(name)
                if target is None:
                    add((*at, "accounts", k), f"unknown account {name!r}" + _suggest(name, by_name))
                elif grant.role not in target.roles:
                    add(
                        (*at, "accounts", k),
                        f"account {name!r} has no role kind {grant.role!r} (its roles: {', '.join(target.roles)})",
                    )
            _check_duplicates(grant.accounts, (*at, "accounts"), "account", add)
    _check_case_duplicates(spec.groups, ("groups",), "group", add)
    for gname in spec.groups:
        longest = f"switchrole-{gname}-{MAX_GROUP_POLICIES}"
        if len(longest) > MAX_POLICY_NAME:
            add(
                ("groups", gname),
                f"group name is {len(gname)} characters; its managed policies are named switchrole-<group>-<n>, "
                f"which IAM limits to {MAX_POLICY_NAME} characters (at most "
                f"{MAX_POLICY_NAME - len(longest) + len(gname)} for the group name)",
            )

    # users
    for uname, user in spec.users.items():
        at = ("users", uname, "groups")
        for k, gname in enumerate(user.groups):
            if gname not in spec.groups:
                add((*at, k), f"unknown group {gname!r}" + _suggest(gname, spec.groups))
        _check_duplicates(user.groups, at, "group", add)
        if len(user.groups) > MAX_GROUPS_PER_USER:
            add(at, f"{len(user.groups)} groups; an IAM user can be in at most {MAX_GROUPS_PER_USER}")
    _check_case_duplicates(spec.users, ("users",), "user", add)

    deployment = spec.deployment
    if deployment.mode == "stacksets":
        if deployment.account_id is None:
            add(("deployment", "account_id"), "stacksets mode needs the management or delegated-administrator account")
        if not deployment.organizational_unit_ids:
            add(
                ("deployment", "organizational_unit_ids"),
                "service-managed StackSets target OUs: list the OUs (or the root r-...) holding the listed accounts",
            )
    seen_ous: dict[str, int] = {}
    for i, ou_target in enumerate(deployment.ou_targets):
        if (j := seen_ous.setdefault(ou_target.ou, i)) != i:
            add(("deployment", "ou_targets", i, "ou"), f"OU {ou_target.ou} is listed twice (also ou_targets[{j}])")
        _check_duplicates(ou_target.roles, ("deployment", "ou_targets", i, "roles"), "role kind", add)
        for k, role in enumerate(ou_target.roles):
            if role not in kinds:
                add(("deployment", "ou_targets", i, "roles", k), f"unknown role kind {role!r}" + _suggest(role, kinds))
    if deployment.ou_targets and deployment.mode != "stacksets":
        add(("deployment", "ou_targets"), "OU targets need mode: stacksets")
    if deployment.ou_targets and spec.hub.organization_id is None:
        add(
            ("deployment", "ou_targets"),
            'accounts of an OU are reachable only by accounts: "*" grants with hub.organization_id set',
        )
    return problems


def _check_console_names(spec: OrganisationSpec, add: Callable[[Path, str], None]) -> None:
    """Console display names (cut to 64 characters) name one role each: the AWS Extend Switch Roles extension
    keeps one section of a name, and the console's role history one entry."""
    seen: dict[str, str] = {}
    for i, account in enumerate(spec.accounts):
        for key in dict.fromkeys(k for k in account.roles if k in spec.roles):
            name = fit_display_name(account.name, key)
            other = seen.setdefault(name, f"{account.name}-{key}")
            if other != f"{account.name}-{key}":
                add(
                    ("accounts", i, "name"),
                    f"the console display name {name!r} of {account.name}-{key} (cut to 64 characters) is also "
                    f"{other}'s: make the names differ nearer their start or end",
                )
    if spec.deployment.mode == "stacksets":
        keys: dict[str, str] = {}
        for key in spec.roles:
            if (other := keys.setdefault(portable_display_key(key), key)) != key:
                add(
                    ("roles", key),
                    f"the StackSets console link names it <account id>-{portable_display_key(key)}, as it names "
                    f"roles.{other}: make the keys differ nearer their start or end",
                )


def _check_duplicates(values: Iterable[str], path: Path, what: str, add: Callable[[Path, str], None]) -> None:
    seen: set[str] = set()
    for k, value in enumerate(values):
        if value in seen:
            add((*path, k), f"{what} {value!r} is listed twice")
        seen.add(value)


def _check_case_duplicates(mapping: Mapping[str, Any], path: Path, what: str, add: Callable[[Path, str], None]) -> None:
    """IAM names (and tag keys) are unique regardless of case: ``Readers`` and ``readers`` collide."""
    seen: dict[str, str] = {}
    for key in mapping:
        other = seen.setdefault(key.lower(), key)
        if other != key:
            add((*path, key), f"{what} {key!r} differs from {other!r} only by case; IAM does not tell them apart")


# --------------------------------------------------------------------------- resolution


def resolve(spec: OrganisationSpec, source: str) -> Organisation:
    """Apply defaults and expand ``"*"`` grants; the input is already cross-checked."""
    kinds = {key: _resolve_kind(key, kind, spec) for key, kind in spec.roles.items()}
    accounts = tuple(
        TargetAccount(a.name, a.account_id, tuple(a.roles), a.region or spec.hub.region) for a in spec.accounts
    )
    groups = {
        name: Group(
            name,
            g.description,
            tuple(
                Grant(
                    grant.role,
                    tuple(a.name for a in accounts if grant.role in a.role_keys)
                    if grant.accounts == "*"
                    else tuple(grant.accounts),
                    grant.accounts == "*",
                    grant.until,
                )
                for grant in g.grants
            ),
        )
        for name, g in spec.groups.items()
    }
    return Organisation(
        hub=Hub(spec.hub.account_id, spec.hub.name, spec.hub.region, spec.hub.organization_id, spec.hub.alias),
        quotas=Quotas(spec.quotas.trust_policy_chars, spec.quotas.role_managed_policies),
        role_kinds=kinds,
        accounts=accounts,
        groups=groups,
        users={name: User(name, tuple(u.groups), u.until, dict(u.tags)) for name, u in spec.users.items()},
        deployment=_resolve_deployment(spec),
        source=source,
    )


def _resolve_deployment(spec: OrganisationSpec) -> Deployment:
    d = spec.deployment
    return Deployment(
        mode=d.mode,
        account_id=d.account_id,
        region=d.region or spec.hub.region,
        call_as=d.call_as,
        organizational_unit_ids=tuple(d.organizational_unit_ids),
        ou_targets=tuple(OuTarget(t.ou, tuple(t.roles)) for t in d.ou_targets),
        max_concurrent_percentage=d.max_concurrent_percentage,
        failure_tolerance_percentage=d.failure_tolerance_percentage,
    )


def _resolve_kind(key: str, kind: RoleKindSpec, spec: OrganisationSpec) -> RoleKind:
    defaults = spec.defaults
    mfa_required = _first(kind.mfa and kind.mfa.required, defaults.mfa.required, True)
    return RoleKind(
        key=key,
        name=kind.name or key,
        path=kind.role_path or defaults.role_path,
        description=kind.description,
        managed_policy_arns=tuple(_managed_policy_arn(p) for p in kind.managed_policies),
        permissions_boundary=kind.permissions_boundary,
        inline_policies=dict(kind.inline_policies),
        max_session_duration=_first(kind.max_session_duration, defaults.max_session_duration),
        mfa_required=mfa_required,
        mfa_max_age_seconds=_first(kind.mfa and kind.mfa.max_age_seconds, defaults.mfa.max_age_seconds, 3600),
        external_id=kind.external_id,
        source_identity=kind.source_identity,
        session_tags=tuple(kind.session_tags),
        strict_trust=kind.trust == "strict",
        tags=dict(kind.tags),
        nag_acknowledgments=dict(kind.nag_acknowledgments),
        audit=kind.audit,
    )


def _first(*values: Any) -> Any:
    return next(v for v in values if v is not None)


def _managed_policy_arn(ref: str) -> str:
    """A bare name means an AWS-managed policy (``ReadOnlyAccess``, ``job-function/ViewOnlyAccess``)."""
    return ref if ref.startswith("arn:") else f"arn:{PARTITION}:iam::aws:policy/{ref}"
