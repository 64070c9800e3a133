"""Lifecycle campaign (`make lifecycle`): random but realistic edit sequences of an accounts file, every step checked.

Why: the tests cover the changes the developers thought of; organisations make the others (issue 18). A first
deploy being right says little about the hundredth weekly edit: a description that changes with a date, a
group whose grants need one managed policy more, a kind renamed under its IAM name. So this campaign starts from
an organisation (the repository's ``accounts.yaml``, or a generated one of a few accounts in 2-3 regions) and
applies random edits of the kinds an organisation makes (people join and leave, grants come and go, ``until:``
moves, accounts arrive in other regions, kinds are renamed, policies and session settings change, strict roles
lose their last holder and get one back, groups cross a grant-policy boundary both ways), seeded so that any
step can be replayed.

Every step (base file -> changed file) is checked, in one Python process (jsii's node kernel starts once; the
base's cloud assembly is the previous step's):

1. the changed file validates (``load_checked``): a file that does not is a generator bug, counted and skipped,
   never a product failure;
2. both synthesize (``switchrole.infra.assembly.synth``, cdk-nag included);
3. the replacement guard (``switchrole.infra.replacement.collisions``) is empty for every routine edit, and refuses
   the edits that really cannot deploy as one update (a role's path changed under the same IAM name, a user or
   group renamed only in case); a refused edit is dropped and the sequence continues from the previous file;
4. the access review (``switchrole.review.access_diff.diff``) agrees with an independent recomputation of who may
   switch where, read from the synthesized templates alone (hub group managed policies, memberships, the users'
   ``until:`` Deny policies, the target roles' trust policies) by a small IAM evaluator written here, at one
   fixed moment (``--now``): the sets of (user, account id, IAM role name) that gain and that lose access
   must be equal. Roles are compared by their IAM name, as IAM identifies them in an account, so kind renames
   are judged by what IAM sees.

A sample of sequences is also deployed as chained CloudFormation updates on the local emulator
(``switchrole.local.demo.Demo``: ``run()`` once, then ``apply()`` per step), and every check of every step must
pass. Failures are reported by kind with the seed, sequence and step that reproduce them, and with ``--out``
each failing step's two files are written for ``--check BASE HEAD``.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import datetime as dt
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# As the Makefile and the tests: jsii's caches inside the project, Node 20's banner and the CLIs quiet.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_RUNTIME_PACKAGE_CACHE_ROOT", str(ROOT / ".cache" / "jsii"))
os.environ.setdefault("CDK_HOME", str(ROOT / ".cache" / "cdk"))

import yaml  # noqa: E402

from switchrole.model.errors import ConfigError  # noqa: E402
from switchrole.model.loading import from_data  # noqa: E402
from switchrole.model.organisation import Organisation  # noqa: E402
from tests.factories import EXAMPLE, account_id, dump, generated  # noqa: E402

Data = dict[str, Any]
Access = tuple[str, str, str]  # user, account id, IAM role name (unique in an account, whatever its path)

DEFAULT_NOW = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
PERSON_NAMES = ("frank", "grace", "heidi", "ivan", "judy", "kai", "liam", "mia", "noah", "olga", "pia", "quinn")
KIND_NAMES = ("Viewer", "Engineer", "Operator", "Breakglass", "Support", "Billing", "Security", "Analyst")
# Each lets the role list buckets, which the demo's smoke check does after switching (a role that cannot is reported
# failed although the switch worked: see the campaign's report), so a kind keeps at least one of them.
MANAGED = ("ReadOnlyAccess", "job-function/ViewOnlyAccess", "SecurityAudit", "PowerUserAccess")
BOUNDARIES = ("arn:aws:iam::aws:policy/PowerUserAccess", "arn:aws:iam::aws:policy/ReadOnlyAccess", None)
INLINE = {
    "deny-iam-users": {"Effect": "Deny", "Action": ["iam:CreateUser", "iam:CreateAccessKey"], "Resource": "*"},
    "read-logs-bucket": {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": "arn:aws:s3:::acme-logs"},
    "deny-leave-org": {"Effect": "Deny", "Action": ["organizations:LeaveOrganization"], "Resource": "*"},
}
MAX_GROUP_POLICY_GROWTH = 60  # grants one "+1 policy" edit may add before it gives up


# --------------------------------------------------------------------------- starting organisations


def _plain(value: Any) -> Any:
    """YAML data as plain Python: ``until:`` timestamps as the UTC strings a file may hold."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dt.datetime):
        return _iso(value)
    return value


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def example() -> Data:
    """The repository's ``accounts.yaml``."""
    data: Data = _plain(yaml.safe_load(EXAMPLE.read_text()))
    return data


def small_organisation(rng: random.Random) -> Data:
    """A generated organisation: 4-7 accounts in 2-3 regions, five role kinds, a few groups and users."""
    roles = {
        "ReadOnly": {"managed_policies": ["ReadOnlyAccess"], "max_session_duration": 14400},
        "Developer": {"managed_policies": ["PowerUserAccess"], "source_identity": True},
        "Admin": {"managed_policies": ["AdministratorAccess"], "trust": "strict", "mfa": {"max_age_seconds": 900}},
        "Auditor": {
            "managed_policies": ["SecurityAudit"],
            "mfa": {"required": False},
            "external_id": "lifecycle-audit",
            "audit": True,
        },
        "Support": {"managed_policies": ["job-function/ViewOnlyAccess"]},
    }
    n = rng.randint(4, 7)
    data = generated(n, roles=roles)
    regions = REGIONS[: rng.randint(2, 3)]
    for i, account in enumerate(data["accounts"]):
        region = regions[i % len(regions)]
        if region != "us-east-1":
            account["region"] = region
        account["roles"] = [k for k in roles if k in ("ReadOnly", "Admin") or rng.random() < 0.7]
    names = [a["name"] for a in data["accounts"]]
    data["groups"] = {
        "admins": {"grants": [{"role": "Admin", "accounts": rng.sample(names, 2)}]},
        "readers": {"grants": [{"role": "ReadOnly", "accounts": "*"}]},
        "devs": {"grants": [{"role": "ReadOnly", "accounts": "*"}]},
        "oncall": {"grants": [{"role": "Admin", "accounts": "*", "until": _iso(DEFAULT_NOW + dt.timedelta(days=40))}]},
    }
    if any("Developer" in a["roles"] for a in data["accounts"]):
        data["groups"]["devs"]["grants"].append({"role": "Developer", "accounts": "*"})
    data["users"] = {
        "ana": {"groups": ["admins", "readers"]},
        "ben": {"groups": ["devs"]},
        "cho": {"groups": ["readers", "oncall"], "until": _iso(DEFAULT_NOW + dt.timedelta(days=200))},
        "dee": {"groups": []},
    }
    return data


# --------------------------------------------------------------------------- the edits


@dataclass
class Ctx:
    rng: random.Random
    now: dt.datetime
    serial: int = 0

    def fresh(self) -> int:
        self.serial += 1
        return self.serial

    def moment(self, past: bool | None = None) -> str:
        """A UTC time on the hour: in the past, in the future, or either (None), within ~3 years of now."""
        days = self.rng.randint(1, 1100)
        if past is None:
            past = self.rng.random() < 0.3
        delta = dt.timedelta(days=days, hours=self.rng.randint(0, 23))
        return _iso(self.now - delta if past else self.now + delta)


class NotApplicable(Exception):
    """The edit does not apply to this file (e.g. no group to remove)."""


def _org(data: Data) -> Organisation:
    return from_data(copy.deepcopy(data), "lifecycle")


def _pick(ctx: Ctx, items: Iterable[Any]) -> Any:
    seq = list(items)
    if not seq:
        raise NotApplicable
    return ctx.rng.choice(seq)


def _accounts_with(data: Data, kind: str) -> list[str]:
    return [a["name"] for a in data["accounts"] if kind in a["roles"]]


def _role_names(data: Data) -> set[str]:
    """Every role kind key and IAM role name of the file, lower-cased (IAM names ignore case)."""
    names = {k.lower() for k in data["roles"]}
    return names | {str(v.get("name", k)).lower() for k, v in data["roles"].items()}


def _fresh_user(data: Data, ctx: Ctx) -> str:
    name = ctx.rng.choice(PERSON_NAMES)
    taken = {u.lower() for u in data["users"]}
    return name if name not in taken else f"{name}{ctx.fresh()}"


def _prune_grants(data: Data) -> None:
    """Drop grants left naming no account, and '*' grants of a kind no account has any more."""
    for group in data["groups"].values():
        kept = []
        for grant in group.get("grants", []):
            if grant["accounts"] == "*":
                if _accounts_with(data, grant["role"]):
                    kept.append(grant)
                continue
            having = set(_accounts_with(data, grant["role"]))
            grant["accounts"] = [a for a in grant["accounts"] if a in having]
            if grant["accounts"]:
                kept.append(grant)
        group["grants"] = kept


def add_user(data: Data, ctx: Ctx) -> str:
    name = _fresh_user(data, ctx)
    groups = ctx.rng.sample(sorted(data["groups"]), min(len(data["groups"]), ctx.rng.randint(0, 2)))
    data["users"][name] = {"groups": groups}
    if ctx.rng.random() < 0.3:
        data["users"][name]["until"] = ctx.moment()
    return "user added"


def remove_user(data: Data, ctx: Ctx) -> str:
    del data["users"][_pick(ctx, data["users"])]
    return "user removed"


def join_group(data: Data, ctx: Ctx) -> str:
    user = _pick(ctx, data["users"])
    groups = data["users"][user].setdefault("groups", [])
    group = _pick(ctx, [g for g in data["groups"] if g not in groups])
    groups.append(group)
    return "user joins a group"


def leave_group(data: Data, ctx: Ctx) -> str:
    user = _pick(ctx, [u for u, v in data["users"].items() if v.get("groups")])
    data["users"][user]["groups"].remove(_pick(ctx, data["users"][user]["groups"]))
    return "user leaves a group"


def _random_grant(data: Data, ctx: Ctx) -> Data:
    kind = _pick(ctx, [k for k in data["roles"] if _accounts_with(data, k)])
    accounts = _accounts_with(data, kind)
    grant: Data = {"role": kind}
    if ctx.rng.random() < 0.3:
        grant["accounts"] = "*"
    else:
        grant["accounts"] = ctx.rng.sample(accounts, ctx.rng.randint(1, len(accounts)))
    if ctx.rng.random() < 0.3:
        grant["until"] = ctx.moment()
    return grant


def add_group(data: Data, ctx: Ctx) -> str:
    name = f"team-{ctx.fresh()}"
    data["groups"][name] = {"grants": [_random_grant(data, ctx) for _ in range(ctx.rng.randint(1, 3))]}
    for user in ctx.rng.sample(sorted(data["users"]), min(len(data["users"]), ctx.rng.randint(0, 3))):
        data["users"][user].setdefault("groups", []).append(name)
    return "group added"


def remove_group(data: Data, ctx: Ctx) -> str:
    group = _pick(ctx, data["groups"])
    del data["groups"][group]
    for user in data["users"].values():
        user["groups"] = [g for g in user.get("groups", []) if g != group]
    return "group removed"


def add_grant(data: Data, ctx: Ctx) -> str:
    group = _pick(ctx, data["groups"])
    data["groups"][group].setdefault("grants", []).append(_random_grant(data, ctx))
    return "grant added"


def remove_grant(data: Data, ctx: Ctx) -> str:
    group = _pick(ctx, [g for g, v in data["groups"].items() if v.get("grants")])
    grants = data["groups"][group]["grants"]
    grants.remove(_pick(ctx, grants))
    return "grant removed"


def _move_until(holder: Data, ctx: Ctx) -> str:
    """Move ``holder``'s ``until:``: forward, back (still ahead), into the past, added or removed."""
    current = holder.get("until")
    if current is None:
        holder["until"] = ctx.moment()
        return "added"
    end = dt.datetime.strptime(current, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    how = ctx.rng.choice(["forward", "back", "into the past", "removed"])
    if how == "removed":
        del holder["until"]
    elif how == "into the past":
        holder["until"] = ctx.moment(past=True)
    elif how == "forward":
        holder["until"] = _iso(end + dt.timedelta(days=ctx.rng.randint(1, 400)))
    else:
        days = (end - ctx.now).days
        if days < 2:
            raise NotApplicable
        holder["until"] = _iso(end - dt.timedelta(days=ctx.rng.randint(1, days - 1)))
    return how


def user_until(data: Data, ctx: Ctx) -> str:
    return f"user until: {_move_until(data['users'][_pick(ctx, data['users'])], ctx)}"


def grant_until(data: Data, ctx: Ctx) -> str:
    grants = [g for v in data["groups"].values() for g in v.get("grants", [])]
    return f"grant until: {_move_until(_pick(ctx, grants), ctx)}"


def add_account(data: Data, ctx: Ctx) -> str:
    n = ctx.fresh()
    kinds = [k for k in data["roles"] if ctx.rng.random() < 0.6] or [next(iter(data["roles"]))]
    hub_region = data["hub"].get("region", "us-east-1")
    account: Data = {"name": f"new-{n}", "account_id": account_id(700 + n), "roles": kinds}
    other = ctx.rng.random() < 0.5
    if other:
        account["region"] = _pick(ctx, [r for r in REGIONS if r != hub_region])
    data["accounts"].append(account)
    for group in data["groups"].values():  # the team that asked for it gets access
        for grant in group.get("grants", []):
            if grant["role"] in kinds and grant["accounts"] != "*" and ctx.rng.random() < 0.3:
                grant["accounts"].append(account["name"])
    return "account added (other region)" if other else "account added"


def remove_account(data: Data, ctx: Ctx) -> str:
    if len(data["accounts"]) < 2:
        raise NotApplicable
    gone = _pick(ctx, data["accounts"])
    data["accounts"].remove(gone)
    _prune_grants(data)
    return "account removed"


def add_role_to_account(data: Data, ctx: Ctx) -> str:
    account = _pick(ctx, [a for a in data["accounts"] if len(a["roles"]) < len(data["roles"])])
    account["roles"].append(_pick(ctx, [k for k in data["roles"] if k not in account["roles"]]))
    return "role kind added to an account"


def remove_role_from_account(data: Data, ctx: Ctx) -> str:
    account = _pick(ctx, [a for a in data["accounts"] if len(a["roles"]) > 1])
    account["roles"].remove(_pick(ctx, account["roles"]))
    _prune_grants(data)
    return "role kind removed from an account"


def _rename_key(data: Data, old: str, new: str) -> None:
    data["roles"] = {new if k == old else k: v for k, v in data["roles"].items()}
    for account in data["accounts"]:
        account["roles"] = [new if r == old else r for r in account["roles"]]
    for group in data["groups"].values():
        for grant in group.get("grants", []):
            grant["role"] = new if grant["role"] == old else grant["role"]


def _new_kind_key(data: Data, ctx: Ctx) -> str:
    taken = _role_names(data)
    key = ctx.rng.choice(KIND_NAMES)
    return key if key.lower() not in taken else f"{key}{ctx.fresh()}"


def rename_kind_keep_name(data: Data, ctx: Ctx) -> str:
    old = _pick(ctx, data["roles"])
    new = _new_kind_key(data, ctx)
    data["roles"][old].setdefault("name", old)
    _rename_key(data, old, new)
    return "kind renamed (IAM name kept)"


def rename_kind_new_name(data: Data, ctx: Ctx) -> str:
    old = _pick(ctx, data["roles"])
    new = _new_kind_key(data, ctx)
    data["roles"][old].pop("name", None)
    _rename_key(data, old, new)
    return "kind renamed (new IAM name)"


def managed_policies(data: Data, ctx: Ctx) -> str:
    kind = data["roles"][_pick(ctx, data["roles"])]
    policies = kind.setdefault("managed_policies", [])
    if len(policies) > 1 and ctx.rng.random() < 0.5:
        policies.remove(_pick(ctx, policies))
        return "managed policy removed"
    policies.append(_pick(ctx, [p for p in MANAGED if p not in policies]))
    return "managed policy added"


def inline_policy(data: Data, ctx: Ctx) -> str:
    kind = data["roles"][_pick(ctx, data["roles"])]
    inline = kind.setdefault("inline_policies", {})
    if inline and ctx.rng.random() < 0.4:
        del inline[_pick(ctx, inline)]
        if not inline:
            del kind["inline_policies"]
        return "inline policy removed"
    name = _pick(ctx, INLINE)
    inline[name] = {"Version": "2012-10-17", "Statement": [copy.deepcopy(INLINE[name])]}
    return "inline policy set"


def boundary(data: Data, ctx: Ctx) -> str:
    kind = data["roles"][_pick(ctx, data["roles"])]
    new = _pick(ctx, [b for b in BOUNDARIES if b != kind.get("permissions_boundary")])
    if new is None:
        del kind["permissions_boundary"]
        return "permissions boundary removed"
    kind["permissions_boundary"] = new
    return "permissions boundary set"


def mfa_age(data: Data, ctx: Ctx) -> str:
    kind = data["roles"][_pick(ctx, data["roles"])]
    mfa = kind.setdefault("mfa", {})
    if mfa.get("required") is False:
        raise NotApplicable
    mfa["max_age_seconds"] = ctx.rng.choice([900, 1800, 3600, 7200, 43200])
    return "MFA max age"


def session_length(data: Data, ctx: Ctx) -> str:
    kind = data["roles"][_pick(ctx, data["roles"])]
    kind["max_session_duration"] = ctx.rng.choice([3600, 7200, 14400, 28800, 43200])
    return "session length"


def trust_mode(data: Data, ctx: Ctx) -> str:
    kind = data["roles"][_pick(ctx, data["roles"])]
    if kind.get("trust") == "strict":
        del kind["trust"]
        return "trust: strict removed"
    kind["trust"] = "strict"
    return "trust: strict added"


def _policy_count(data: Data, group: str) -> int:
    from switchrole.iam.policies import grant_policies

    return len(grant_policies(_org(data), group))


def grant_policies_up(data: Data, ctx: Ctx) -> str:
    """Grants with distinct ends, each its own ~350-character statement, until the group needs one more policy."""
    group = _pick(ctx, data["groups"])
    grants = data["groups"][group].setdefault("grants", [])
    named = {(g["role"], a) for g in grants if g["accounts"] != "*" for a in g["accounts"]}
    pairs = [(k, a["name"]) for a in data["accounts"] for k in a["roles"] if (k, a["name"]) not in named]
    ctx.rng.shuffle(pairs)
    before = _policy_count(data, group)
    for kind, account in pairs[:MAX_GROUP_POLICY_GROWTH]:
        grants.append({"role": kind, "accounts": [account], "until": ctx.moment(past=False)})
        if _policy_count(data, group) > before:
            return "group crosses a grant-policy boundary (+1)"
    raise NotApplicable  # too few (role, account) pairs to fill a policy


def grant_policies_down(data: Data, ctx: Ctx) -> str:
    """Remove grants (those with an end first) until the group needs one policy fewer."""
    group = _pick(ctx, [g for g in data["groups"] if _policy_count(data, g) > 1])
    grants = data["groups"][group]["grants"]
    before = _policy_count(data, group)
    order = sorted(range(len(grants)), key=lambda i: ("until" not in grants[i], ctx.rng.random()))
    drop: set[int] = set()
    for i in order:
        drop.add(i)
        data["groups"][group]["grants"] = [g for n, g in enumerate(grants) if n not in drop]
        if _policy_count(data, group) < before:
            return "group crosses a grant-policy boundary (-1)"
    raise NotApplicable


def strict_last_holder_removed(data: Data, ctx: Ctx) -> str:
    """A strict role in one account loses every holder: its grants stop naming that account."""
    org = _org(data)
    held = [
        (a.name, k)
        for a in org.accounts
        for k in a.role_keys
        if org.role_kinds[k].strict_trust and org.users_granted(k, a.name)
    ]
    account, kind = _pick(ctx, held)
    for group in data["groups"].values():
        for grant in group.get("grants", []):
            if grant["role"] != kind:
                continue
            if grant["accounts"] == "*":
                grant["accounts"] = _accounts_with(data, kind)
            grant["accounts"] = [a for a in grant["accounts"] if a != account]
    _prune_grants(data)
    return "strict role: last holder removed"


def strict_holder_given_back(data: Data, ctx: Ctx) -> str:
    org = _org(data)
    account, kind = _pick(ctx, [(a.name, k.key) for a, k in org.strict_roles_admitting_nobody()])
    group = _pick(ctx, [g for g in data["groups"] if org.members(g)])
    data["groups"][group].setdefault("grants", []).append({"role": kind, "accounts": [account]})
    return "strict role: holder given back"


def organisation_id(data: Data, ctx: Ctx) -> str:
    if data["hub"].pop("organization_id", None) is not None:
        return "hub.organization_id removed"
    data["hub"]["organization_id"] = "o-lifecycle01"
    return "hub.organization_id set"


# Edits that cannot deploy as one update: the replacement guard must refuse them.


def role_path_moved(data: Data, ctx: Ctx) -> str:
    kind = data["roles"][_pick(ctx, [k for k in data["roles"] if _accounts_with(data, k)])]
    path = kind.get("role_path", data.get("defaults", {}).get("role_path", "/switchrole/"))
    kind["role_path"] = "/switchrole/moved/" if path != "/switchrole/moved/" else "/switchrole/"
    return "role path changed (same IAM name)"


def user_renamed_in_case(data: Data, ctx: Ctx) -> str:
    user = _pick(ctx, [u for u in data["users"] if u != u.capitalize()])
    data["users"] = {(u.capitalize() if u == user else u): v for u, v in data["users"].items()}
    return "user renamed in case"


def group_renamed_in_case(data: Data, ctx: Ctx) -> str:
    group = _pick(ctx, [g for g in data["groups"] if g != g.capitalize()])
    data["groups"] = {(g.capitalize() if g == group else g): v for g, v in data["groups"].items()}
    for user in data["users"].values():
        user["groups"] = [g.capitalize() if g == group else g for g in user.get("groups", [])]
    return "group renamed in case"


Edit = Callable[[Data, Ctx], str]
ROUTINE: list[tuple[Edit, int]] = [
    (add_user, 8),
    (remove_user, 5),
    (join_group, 8),
    (leave_group, 6),
    (add_group, 4),
    (remove_group, 3),
    (add_grant, 8),
    (remove_grant, 6),
    (user_until, 8),
    (grant_until, 8),
    (add_account, 5),
    (remove_account, 3),
    (add_role_to_account, 3),
    (remove_role_from_account, 3),
    (rename_kind_keep_name, 3),
    (rename_kind_new_name, 2),
    (managed_policies, 4),
    (inline_policy, 3),
    (boundary, 3),
    (mfa_age, 3),
    (session_length, 3),
    (trust_mode, 3),
    (grant_policies_up, 4),
    (grant_policies_down, 4),
    (strict_last_holder_removed, 4),
    (strict_holder_given_back, 4),
    (organisation_id, 1),
]
REFUSED: list[tuple[Edit, int]] = [(role_path_moved, 2), (user_renamed_in_case, 1), (group_renamed_in_case, 1)]
EXPECTED_REFUSALS = {"role path changed (same IAM name)", "user renamed in case", "group renamed in case"}


def propose(data: Data, ctx: Ctx, *, deployable_only: bool = False) -> tuple[Data, str]:
    """A copy of ``data`` with one random edit applied, and the edit's kind (retrying edits that do not apply)."""
    edits = ROUTINE if deployable_only else ROUTINE + REFUSED
    for _ in range(50):
        edit = ctx.rng.choices([e for e, _ in edits], weights=[w for _, w in edits])[0]
        changed = copy.deepcopy(data)
        try:
            return changed, edit(changed, ctx)
        except (NotApplicable, ConfigError):  # ConfigError: the file read mid-edit (policy counts) is not whole
            continue
    raise RuntimeError("no edit applies to this file")


# --------------------------------------------------------------------------- the independent IAM reading


class Unmodelled(Exception):
    """A policy element the evaluator does not model: a campaign bug, reported as such."""


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _substitute(value: str, variables: dict[str, str]) -> str:
    return re.sub(r"\$\{([^}]+)\}", lambda m: variables.get(m.group(1), m.group(0)), value)


def _time(value: str) -> dt.datetime:
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)


def _test(operator: str, actual: str, expected: str) -> bool:
    base = operator.removesuffix("IfExists")
    if base in ("StringEquals", "ArnEquals", "Bool"):
        return actual == expected
    if base in ("StringNotEquals", "ArnNotEquals"):
        return actual != expected
    if base in ("StringLike", "ArnLike"):
        return fnmatchcase(actual, expected)
    if base in ("StringNotLike", "ArnNotLike"):
        return not fnmatchcase(actual, expected)
    if base.startswith("Numeric"):
        a, e = float(actual), float(expected)
        return {"LessThan": a < e, "LessThanEquals": a <= e, "GreaterThan": a > e, "GreaterThanEquals": a >= e,
                "Equals": a == e, "NotEquals": a != e}[base.removeprefix("Numeric")]  # fmt: skip
    if base.startswith("Date"):
        t, u = _time(actual), _time(expected)
        return {"LessThan": t < u, "LessThanEquals": t <= u, "GreaterThan": t > u, "GreaterThanEquals": t >= u,
                "Equals": t == u, "NotEquals": t != u}[base.removeprefix("Date")]  # fmt: skip
    raise Unmodelled(f"condition operator {operator}")


def _conditions_hold(conditions: dict[str, Any], context: dict[str, Any], variables: dict[str, str]) -> bool:
    for operator, tests in conditions.items():
        for key, expected in tests.items():
            values = [_substitute(str(v).lower() if isinstance(v, bool) else str(v), variables)
                      for v in _as_list(expected)]  # fmt: skip
            actual = context.get(key)
            negated = "Not" in operator
            if operator.startswith(("ForAllValues:", "ForAnyValue:")):
                quantifier, inner = operator.split(":", 1)
                present = _as_list(actual) if actual is not None else []
                if quantifier == "ForAllValues":
                    ok = all(any(_test(inner, str(a), e) for e in values) for a in present)
                else:
                    ok = any(any(_test(inner, str(a), e) for e in values) for a in present)
            elif actual is None:
                ok = operator.endswith("IfExists") or negated
            elif negated:  # a negated operator holds when the value matches none of the listed ones
                ok = all(_test(operator, str(actual), e) for e in values)
            else:
                ok = any(_test(operator, str(actual), e) for e in values)
            if not ok:
                return False
    return True


def _matches(patterns: Any, value: str) -> bool:
    return any(fnmatchcase(value.lower(), str(p).lower()) for p in _as_list(patterns))


def _applies(statement: dict[str, Any], action: str, resource: str | None) -> bool:
    if "Action" in statement:
        if not _matches(statement["Action"], action):
            return False
    elif "NotAction" in statement:
        if _matches(statement["NotAction"], action):
            return False
    else:
        raise Unmodelled("statement without Action")
    if resource is None:
        return True
    if "Resource" in statement:
        return any(fnmatchcase(resource, str(p)) for p in _as_list(statement["Resource"]))
    if "NotResource" in statement:
        return not any(fnmatchcase(resource, str(p)) for p in _as_list(statement["NotResource"]))
    raise Unmodelled("identity statement without Resource")


def _principal_names(statement: dict[str, Any], caller: str) -> bool:
    if "NotPrincipal" in statement:
        raise Unmodelled("NotPrincipal")
    principal = statement.get("Principal")
    if principal == "*":
        return True
    if not isinstance(principal, dict) or set(principal) - {"AWS"}:
        raise Unmodelled(f"principal {principal!r}")
    account = caller.split(":")[4]
    return any(p in ("*", caller, account, f"arn:aws:iam::{account}:root") for p in _as_list(principal["AWS"]))


def _decide(
    statements: list[dict[str, Any]], action: str, resource: str | None, context: dict[str, Any], caller: str | None
) -> bool:
    """IAM's decision for one policy set: some Allow applies and holds, and no Deny does."""
    user = context["aws:username"]
    allowed = False
    for s in statements:
        if caller is not None and not _principal_names(s, caller):
            continue
        if not _applies(s, action, resource):
            continue
        if not _conditions_hold(s.get("Condition", {}), context, {"aws:username": user}):
            continue
        if s["Effect"] == "Deny":
            return False
        allowed = True
    return allowed


@dataclass(frozen=True)
class Role:
    account_id: str
    arn: str
    trust: tuple[dict[str, Any], ...]


@dataclass
class Estate:
    """What the templates of one cloud assembly say about switching: hub users' policies and target roles."""

    hub: str
    user_statements: dict[str, list[dict[str, Any]]]
    roles: list[Role]

    @classmethod
    def read(cls, assembly: Path) -> Estate:
        from switchrole.infra.assembly_reader import resolve, templates

        hub_template: dict[str, Any] | None = None
        hub = ""
        roles = []
        for stack, account, template in templates(assembly):
            if stack == "SwitchRole-Hub":
                hub_template, hub = template, account
                continue
            for props in _of_type(template, "AWS::IAM::Role").values():
                props = resolve(props, template, account, "us-east-1")
                path = props.get("Path", "/")
                arn = f"arn:aws:iam::{account}:role{path}{props['RoleName']}"
                roles.append(Role(account, arn, tuple(_as_list(props["AssumeRolePolicyDocument"]["Statement"]))))
        assert hub_template is not None, "no hub stack"
        return cls(hub, _user_statements(hub_template), roles)

    def access(self, now: dt.datetime) -> set[Access]:
        """(user, account id, role ARN) for every switch IAM allows at ``now`` to a user with a fresh MFA session
        who passes the external id a role requires and, where needed, their own name as source identity."""
        result = set()
        for user, statements in self.user_statements.items():
            caller = f"arn:aws:iam::{self.hub}:user/{user}"
            for role in self.roles:
                if self._switches(user, caller, statements, role, now):
                    result.add((user, role.account_id, role.arn.rsplit("/", 1)[1]))
        return result

    @staticmethod
    def _switches(user: str, caller: str, statements: list[dict[str, Any]], role: Role, now: dt.datetime) -> bool:
        trust = list(role.trust)
        external = next(
            (
                str(v)
                for s in trust
                for op, tests in s.get("Condition", {}).items()
                for k, v in tests.items()
                if k == "sts:ExternalId"
            ),
            None,
        )
        context: dict[str, Any] = {
            "aws:username": user,
            "aws:PrincipalArn": caller,
            "aws:MultiFactorAuthPresent": "true",
            "aws:MultiFactorAuthAge": "0",
            "aws:CurrentTime": _iso(now),
            "aws:ResourceAccount": role.account_id,
            "aws:ResourceOrgID": "o-lifecycle01",  # every target account is in the hub's organisation
            "sts:ExternalId": external,
        }
        modes: list[tuple[list[str], dict[str, str]]] = [
            (["sts:AssumeRole"], {}),
            (["sts:AssumeRole", "sts:SetSourceIdentity"], {"sts:SourceIdentity": user}),
        ]
        for actions, extra in modes:
            ctx = {**context, **extra}
            if all(
                _decide(statements, a, role.arn, ctx, None) and _decide(trust, a, None, ctx, caller) for a in actions
            ):
                return True
        return False


def _of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {lid: r.get("Properties", {}) for lid, r in template.get("Resources", {}).items() if r["Type"] == kind}


def _user_statements(hub: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """User name -> every identity-policy statement that applies to them (their own and their groups')."""
    users = {lid: p["UserName"] for lid, p in _of_type(hub, "AWS::IAM::User").items()}
    groups = {lid: p["GroupName"] for lid, p in _of_type(hub, "AWS::IAM::Group").items()}

    def name(ref: Any, names: dict[str, str]) -> str:
        return names[ref["Ref"]] if isinstance(ref, dict) else str(ref)

    members: dict[str, set[str]] = {}
    for props in _of_type(hub, "AWS::IAM::UserToGroupAddition").values():
        members.setdefault(name(props["GroupName"], groups), set()).update(name(u, users) for u in props["Users"])
    by_group: dict[str, list[dict[str, Any]]] = {}
    by_user: dict[str, list[dict[str, Any]]] = {u: [] for u in users.values()}
    policies = {**_of_type(hub, "AWS::IAM::ManagedPolicy"), **_of_type(hub, "AWS::IAM::Policy")}
    for props in policies.values():
        statements = _as_list(props["PolicyDocument"]["Statement"])
        for g in props.get("Groups", []):
            by_group.setdefault(name(g, groups), []).extend(statements)
        for u in props.get("Users", []):
            by_user.setdefault(name(u, users), []).extend(statements)
        if props.get("Roles"):
            raise Unmodelled("a hub policy attached to roles")
    for kind in ("AWS::IAM::Group", "AWS::IAM::User"):
        for props in _of_type(hub, kind).values():
            if props.get("ManagedPolicyArns") or props.get("Policies") or props.get("Groups"):
                raise Unmodelled(f"{kind} with policies or groups of its own")
    for group, users_in in members.items():
        for user in users_in:
            by_user.setdefault(user, []).extend(by_group.get(group, []))
    return by_user


# --------------------------------------------------------------------------- what the review says


TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def _live(until: str | None, now: dt.datetime) -> bool:
    return until is None or now < _time(until)


def _end_change(text: str) -> tuple[str | None, str | None]:
    """(old end, new end) of a review line about when someone's access ends; ``Unmodelled`` if not understood."""
    times = TIMESTAMP.findall(text)
    if "ends now" in text and times:  # "ends now: until NEW is past (was until OLD | did not end)"
        return (times[1] if len(times) > 1 else None), times[0]
    if "no longer ends" in text and len(times) == 1:
        return times[0], None
    if "now ends at" in text and len(times) == 1:
        return None, times[0]
    if ("extended" in text or "shortened" in text) and len(times) == 2:
        return times[0], times[1]
    raise Unmodelled(f"review end change not understood: {text!r}")


def review_changes(
    review: dict[str, Any], base: Organisation, head: Organisation, now: dt.datetime
) -> tuple[set[Access], set[Access]]:
    """(gained, lost) at ``now`` as the review's JSON says: its gained and lost rows that are live, and the end
    changes (``until:``) that make held access start or stop being live.

    An end-change row names its roles and its accounts as two lists (one line per user and change), so its
    (account, role) pairs are those of the cross product whose end, as the files say, moved as the line says;
    the row's count of roles must match them."""

    def key(row: dict[str, Any]) -> Access:
        return row["user"], row["account_id"], row["role_arn"].rsplit("/", 1)[1]

    gained = {key(r) for r in review["gained"] if _live(r["until"], now)}
    lost = {key(r) for r in review["lost"] if _live(r["until"], now)}
    for row in review["weaker"] + review["changed"]:
        holders = row["holders"]
        if len(holders) != 1 or not row["change"].startswith(f"{holders[0]}'s access"):
            continue  # a change to the role itself, not to when someone's access ends
        user, text = holders[0], row["change"]
        old, new = _end_change(text)
        pairs = []
        for name in row["accounts"]:
            for role in row["role"].split(", "):
                account, kind = head.account(name), head.role_kinds[role]
                was = next((k for k in base.role_kinds.values() if k.name == kind.name), None)
                held = {(a.account.name, a.role.key) for a in base.access(user)} if user in base.users else set()
                if (
                    was is None
                    or (name, was.key) not in held
                    or (name, role) not in {(a.account.name, a.role.key) for a in head.access(user)}
                ):
                    continue
                old_end, new_end = base.access_end(user, name, was.key), head.access_end(user, name, role)
                if (_iso(old_end) if old_end else None, _iso(new_end) if new_end else None) == (old, new):
                    pairs.append((account.account_id, kind.name))
        count = re.search(r"\((\d+) roles\)$", text)
        if not pairs or (count is not None and int(count.group(1)) != len(pairs)):
            raise Unmodelled(f"review end change matches {len(pairs)} (account, role) pairs: {row!r}")
        if _live(old, now) != _live(new, now):
            (gained if _live(new, now) else lost).update((user, a, r) for a, r in pairs)
    return gained, lost


# --------------------------------------------------------------------------- the campaign


@dataclass
class Failure:
    kind: str
    seed: int
    sequence: int
    step: int
    edit: str
    detail: str
    files: tuple[str, str] | None = None


@dataclass
class Figures:
    sequences: int = 0
    steps: int = 0
    edits: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)  # generator produced an invalid file: edit dropped
    skipped_why: dict[str, str] = field(default_factory=dict)
    refusals: Counter[str] = field(default_factory=Counter)
    deployed: int = 0
    deployed_sequences: int = 0
    failures: list[Failure] = field(default_factory=list)
    timings: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    wall: float = 0.0


@dataclass
class Step:
    """One synthesized file: its organisation, cloud assembly and who may switch where at ``now``."""

    data: Data
    org: Organisation
    assembly: Path
    access: set[Access]


class Campaign:
    def __init__(self, *, seed: int, now: dt.datetime, workdir: Path, out: Path | None, log: Callable[[str], None]):
        self.seed, self.now, self.workdir, self.out, self.log = seed, now, workdir, out, log
        self.figures = Figures()
        self._n = 0
        self._rows_reported: set[tuple[int, str, str, str]] = set()

    def timed(self, what: str, start: float) -> None:
        self.figures.timings[what] += time.monotonic() - start

    def load(self, data: Data) -> Organisation:
        path = self.workdir / "candidate.yaml"
        path.write_text(dump(data))
        from switchrole.infra.validate import load_checked

        return load_checked(path)

    def build(self, data: Data, org: Organisation) -> Step:
        from switchrole.infra.assembly import synth

        self._n += 1
        assembly = self.workdir / f"a{self._n}" / "cdk.out"
        start = time.monotonic()
        synth(org, assembly)
        self.timed("synth", start)
        start = time.monotonic()
        access = Estate.read(assembly).access(self.now)
        self.timed("recompute", start)
        return Step(data, org, assembly, access)

    def drop(self, step: Step) -> None:
        shutil.rmtree(step.assembly.parent, ignore_errors=True)

    def fail(self, kind: str, sequence: int, step: int, edit: str, detail: str, base: Data, head: Data) -> None:
        files = None
        if self.out is not None:
            stem = self.out / f"seed{self.seed}-seq{sequence}-step{step}"
            stem.mkdir(parents=True, exist_ok=True)
            (stem / "base.yaml").write_text(dump(base))
            (stem / "head.yaml").write_text(dump(head))
            files = (str(stem / "base.yaml"), str(stem / "head.yaml"))
        self.figures.failures.append(Failure(kind, self.seed, sequence, step, edit, detail, files))
        self.log(f"FAIL {kind} seed={self.seed} sequence={sequence} step={step} ({edit}): {detail[:300]}")

    def check_step(self, base: Step, head: Step, edit: str, sequence: int, n: int) -> bool:
        """Guard and review for one step; True when the step is deployable (the sequence moves on to it)."""
        from switchrole.infra.replacement import collisions
        from switchrole.review.access_diff import diff

        start = time.monotonic()
        found = collisions(base.assembly, head.assembly)
        self.timed("guard", start)
        expected = edit in EXPECTED_REFUSALS
        if expected and not found:
            self.fail("guard: replacement not refused", sequence, n, edit, "no collision found", base.data, head.data)
        elif found and not expected:
            reasons = "; ".join(c.reason() for c in found)
            self.fail("guard: routine edit refused", sequence, n, edit, reasons, base.data, head.data)
        elif found:
            self.figures.refusals[edit] += 1
        start = time.monotonic()
        try:
            review = diff(base.org, head.org, base_label="base", head_label="head", now=self.now).to_json()
            said_gained, said_lost = review_changes(json.loads(review), base.org, head.org, self.now)
        except Unmodelled as exc:
            self.fail("campaign: review not understood", sequence, n, edit, str(exc), base.data, head.data)
        else:
            gained, lost = head.access - base.access, base.access - head.access
            if (said_gained, said_lost) != (gained, lost):
                detail = json.dumps(
                    {
                        "review gains, templates do not": sorted(said_gained - gained),
                        "templates gain, review does not": sorted(gained - said_gained),
                        "review loses, templates do not": sorted(said_lost - lost),
                        "templates lose, review does not": sorted(lost - said_lost),
                    }
                )
                self.fail("review disagrees with the templates", sequence, n, edit, detail, base.data, head.data)
        self.timed("review", start)
        return not found

    def sequence(self, index: int, steps: int, deploy: int) -> None:
        """One sequence of ``steps`` edits; the first ``deploy`` accepted steps also deployed as chained updates."""
        ctx = Ctx(random.Random(f"{self.seed}:{index}"), self.now)
        data = example() if index % 2 == 0 else small_organisation(ctx.rng)
        self.figures.sequences += 1
        base = self.build(data, self.load(data))
        demo = self.start_demo(base, index) if deploy else None
        try:
            for n in range(1, steps + 1):
                head_data, edit = propose(base.data, ctx)
                try:
                    start = time.monotonic()
                    head_org = self.load(head_data)
                    self.timed("validate", start)
                except ConfigError as exc:
                    self.figures.skipped[edit] += 1
                    self.figures.skipped_why.setdefault(edit, exc.lines[0] if exc.lines else str(exc))
                    continue
                try:
                    head = self.build(head_data, head_org)
                except Exception as exc:  # SynthFailed (cdk-nag, sizes) is the full validate's answer
                    self.figures.skipped[f"{edit} (synth refused)"] += 1
                    lines = getattr(exc, "lines", None) or [str(exc)]
                    self.figures.skipped_why.setdefault(f"{edit} (synth refused)", str(lines[0]))
                    continue
                self.figures.steps += 1
                self.figures.edits[edit] += 1
                try:
                    accepted = self.check_step(base, head, edit, index, n)
                except Unmodelled as exc:
                    self.fail("campaign: evaluator", index, n, edit, str(exc), base.data, head.data)
                    accepted = False
                except Exception:
                    self.fail("crash", index, n, edit, traceback.format_exc(), base.data, head.data)
                    accepted = False
                if not accepted:
                    self.drop(head)
                    continue
                if demo is not None and deploy > 0:
                    if not self.deploy_step(demo, head, edit, index, n, base.data):
                        demo.stop()
                        demo, deploy = None, 0
                    else:
                        deploy -= 1
                self.drop(base)
                base = head
        finally:
            self.drop(base)
            if demo is not None:
                demo.stop()

    # --- deployed sample
    def start_demo(self, step: Step, index: int) -> Any:
        from rich.console import Console

        from switchrole.local.demo import Demo

        workdir = Path(tempfile.mkdtemp(prefix=f"demo{index}-", dir=self.workdir))
        demo = Demo(step.org, console=Console(file=open(os.devnull, "w")), workdir=workdir)  # noqa: SIM115
        start = time.monotonic()
        try:
            checks = demo.run()
        except Exception as exc:
            demo.stop()
            self.fail(_deploy_kind(exc, "first deploy"), index, 0, "first deploy", str(exc), step.data, step.data)
            return None
        finally:
            self.timed("deploy", start)
        self.check_rows(checks, step.org, index, 0, "first deploy", step.data, step.data)
        self.figures.deployed_sequences += 1
        return demo

    def deploy_step(self, demo: Any, head: Step, edit: str, index: int, n: int, base: Data) -> bool:
        start = time.monotonic()
        demo.timings.clear()
        try:
            checks = demo.apply(head.org)
        except Exception as exc:
            self.fail(_deploy_kind(exc, edit), index, n, edit, str(exc), base, head.data)
            return False
        finally:
            self.timed("deploy", start)
        self.figures.deployed += 1
        for phase, seconds in demo.timings.items():  # this apply's phases: where a deployed update's time goes
            self.figures.timings["deploy: " + re.sub(r"\d+", "N", phase.split(" (")[0])[:60]] += seconds
        self.check_rows(checks, head.org, index, n, edit, base, head.data)
        return True

    def check_rows(self, checks: list[Any], org: Organisation, index: int, n: int, edit: str, base: Data,
                   head: Data) -> None:  # fmt: skip
        """One failure per kind of demo row not as expected (its ``why``, kind keys and numbers generalised)."""
        bad: dict[str, list[Any]] = {}
        for check in checks:
            row = (index, check.who, check.request.label, check.why)
            if not check.passed and row not in self._rows_reported:  # a wrong row stays wrong: reported once
                self._rows_reported.add(row)
                why = re.sub(r"\d+", "N", check.why)
                for key in sorted(org.role_kinds, key=len, reverse=True):
                    why = re.sub(rf"\b{re.escape(key)}\b", "<kind>", why)
                bad.setdefault(f"deploy: demo row not as expected [{why}]", []).append(check)
        for kind, rows in bad.items():
            self.fail(kind, index, n, edit, _checks(rows), base, head)


def _checks(bad: list[Any]) -> str:
    return "; ".join(
        f"{c.who} {c.request.label} [{c.why}] expected {'a switch' if c.expect_ok else f'refusal {c.because!r}'}, "
        f"got {(c.report.aws_message or c.report.failure) if c.report else 'not run'}"
        for c in bad[:10]
    )


def _deploy_kind(exc: BaseException, edit: str) -> str:
    text = str(exc)
    if "cdk-hnb659fds-deploy-role" in text and "does not exist" in text:
        return "deploy: account not bootstrapped (Demo.apply)"
    if "already exists" in text:
        return f"deploy: resource already exists ({edit})"
    if "differs from the templates" in text:
        return f"deploy: emulator differs from the templates ({edit})"
    return f"deploy: failed ({edit})"


def run(
    *, sequences: int, steps: int, seed: int, deploy: int, now: dt.datetime, out: Path | None, quiet: bool = False
) -> Figures:
    """The campaign: ``sequences`` x ``steps`` edits, ``deploy`` updates deployed (chained, sequence after
    sequence, each deployed sequence at most ``steps`` updates)."""
    start = time.monotonic()
    log: Callable[[str], None] = (lambda _: None) if quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    with tempfile.TemporaryDirectory(prefix="switchrole-lifecycle-") as scratch:
        campaign = Campaign(seed=seed, now=now, workdir=Path(scratch), out=out, log=log)
        remaining = deploy
        for index in range(sequences):
            share = min(remaining, steps)
            before = campaign.figures.deployed
            campaign.sequence(index, steps, share)
            remaining -= campaign.figures.deployed - before
            f = campaign.figures
            log(f"sequence {index + 1}/{sequences}: {f.steps} steps, {f.deployed} deployed, "
                f"{len(f.failures)} failures, {time.monotonic() - start:.0f} s")  # fmt: skip
        campaign.figures.wall = time.monotonic() - start
        return campaign.figures


def check_pair(base_path: Path, head_path: Path, now: dt.datetime, edit: str) -> Figures:
    """Replay one step from two files (a reproducer that ``--out`` wrote)."""
    with tempfile.TemporaryDirectory(prefix="switchrole-lifecycle-") as scratch:
        campaign = Campaign(seed=0, now=now, workdir=Path(scratch), out=None, log=print)
        steps = []
        for path in (base_path, head_path):
            data = _plain(yaml.safe_load(path.read_text()))
            steps.append(campaign.build(data, campaign.load(data)))
        campaign.figures.steps = 1
        campaign.figures.edits[edit] += 1
        campaign.check_step(steps[0], steps[1], edit, 0, 1)
        return campaign.figures


def table(figures: Figures, command: str) -> str:
    f = figures
    rows = [
        ("command", f"`{command}`"),
        ("sequences", f"{f.sequences}"),
        ("steps checked (validate, synth, guard, review)", f"{f.steps:,}"),
        ("edits dropped: the generator made a file validate refuses", f"{sum(f.skipped.values())}"),
        ("guard refusals (expected)", f"{sum(f.refusals.values())}"),
        ("sequences deployed / updates deployed", f"{f.deployed_sequences} / {f.deployed}"),
        ("failures", f"{len(f.failures)}"),
        ("wall time", f"{f.wall / 60:.1f} min ({f.wall / max(f.steps, 1):.2f} s a step)"),
    ]
    rows += [(f"time in {what}", f"{seconds:.0f} s") for what, seconds in sorted(f.timings.items())]
    out = ["| figure | value |", "|---|---|", *(f"| {a} | {b} |" for a, b in rows), ""]
    out += ["| edit | steps | guard refusals |", "|---|---:|---:|"]
    out += [f"| {edit} | {count} | {f.refusals.get(edit, 0)} |" for edit, count in sorted(f.edits.items())]
    if f.skipped:
        out += ["", "| dropped edit (invalid file) | count | first reason |", "|---|---:|---|"]
        out += [f"| {e} | {c} | {f.skipped_why[e][:160].replace('|', '/')} |" for e, c in sorted(f.skipped.items())]
    if f.failures:
        by_kind = Counter(x.kind for x in f.failures)
        out += ["", "| failure | count | first: seed / sequence / step (edit) |", "|---|---:|---|"]
        for kind, count in sorted(by_kind.items()):
            first = next(x for x in f.failures if x.kind == kind)
            out.append(f"| {kind} | {count} | {first.seed} / {first.sequence} / {first.step} ({first.edit}) |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sequences", type=int, default=20)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--deploy", type=int, default=0, help="updates to deploy on the local emulator in all")
    parser.add_argument("--now", default=_iso(DEFAULT_NOW), help="the moment access is judged at (UTC)")
    parser.add_argument("--out", type=Path, help="write each failing step's base and head files here")
    parser.add_argument("--check", nargs=2, type=Path, metavar=("BASE", "HEAD"), help="replay one step")
    parser.add_argument("--edit", default="replayed", help="with --check: the edit's kind (guard expectation)")
    parser.add_argument("--json", type=Path, help="also write the figures and failures as JSON here")
    args = parser.parse_args(argv)
    now = _time(args.now)
    command = "python bench/lifecycle.py " + " ".join(sys.argv[1:] if argv is None else argv)
    if args.check:
        figures = check_pair(args.check[0], args.check[1], now, args.edit)
    else:
        figures = run(
            sequences=args.sequences, steps=args.steps, seed=args.seed, deploy=args.deploy, now=now, out=args.out
        )
    print(table(figures, command))
    for failure in figures.failures:
        where = f" files: {failure.files[0]} {failure.files[1]}" if failure.files else ""
        print(f"- {failure.kind}: seed {failure.seed}, sequence {failure.sequence}, step {failure.step} "
              f"({failure.edit}): {failure.detail[:600]}{where}")  # fmt: skip
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "sequences": figures.sequences,
                    "steps": figures.steps,
                    "edits": figures.edits,
                    "skipped": figures.skipped,
                    "refusals": figures.refusals,
                    "deployed": figures.deployed,
                    "failures": [f.__dict__ for f in figures.failures],
                    "wall_seconds": figures.wall,
                    "timings": figures.timings,
                },
                indent=2,
            )
        )
    return 1 if figures.failures else 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        raise SystemExit(main())
    raise SystemExit(130)
