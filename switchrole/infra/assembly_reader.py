"""Read a synthesized cloud assembly: its stacks, their IAM resources, and what IAM should hold after a deploy.

Shared by the emulator's read-back (:mod:`switchrole.local.verify`) and ``switchrole audit``, which both compare
live IAM state with the templates. The templates are the truth of what switchrole deploys (CDK renders them), so
the expected state is read from them, with the few intrinsics switchrole's templates use resolved: ``Ref`` to a
resource of the same template or to a pseudo parameter, ``Fn::Sub`` and ``Fn::Join``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from switchrole.model.organisation import HUB_STACK_NAME, PARTITION

# What ``Ref`` of a resource returns, per type: its name, or (a managed policy) its ARN.
_REF_FIELDS = {
    "AWS::IAM::Group": "GroupName",
    "AWS::IAM::User": "UserName",
    "AWS::IAM::Role": "RoleName",
}
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


def stacks(assembly: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(stack name, manifest artifact) for every CloudFormation stack of a cloud assembly."""
    manifest = json.loads((assembly / "manifest.json").read_text())
    for name, artifact in manifest["artifacts"].items():
        if artifact.get("type") == "aws:cloudformation:stack":
            yield artifact["properties"].get("stackName", name), artifact


def templates(assembly: Path) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(stack name, account id, template) for every stack of a cloud assembly."""
    for name, artifact in stacks(assembly):
        account = artifact["environment"].split("/")[2]
        yield name, account, json.loads((assembly / artifact["properties"]["templateFile"]).read_text())


def of_type(template: Mapping[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """Logical id -> properties of every resource of type ``kind``."""
    return {lid: r.get("Properties", {}) for lid, r in template.get("Resources", {}).items() if r["Type"] == kind}


def names(refs: list[Any], resources: Mapping[str, Mapping[str, Any]], field_name: str) -> set[str]:
    """IAM names of ``refs``: a ``Ref`` to one of ``resources`` (its ``field_name``), or a name written out."""
    return {resources[r["Ref"]][field_name] if isinstance(r, dict) else str(r) for r in refs}


def members(template: Mapping[str, Any], groups: Mapping[str, Mapping[str, Any]]) -> dict[str, set[str]]:
    """Group name -> user names, from ``UserToGroupAddition`` resources (and ``User.Groups``, if any)."""
    users = of_type(template, "AWS::IAM::User")
    result: dict[str, set[str]] = {props["GroupName"]: set() for props in groups.values()}
    for props in of_type(template, "AWS::IAM::UserToGroupAddition").values():
        for group in names([props["GroupName"]], groups, "GroupName"):
            result.setdefault(group, set()).update(names(props["Users"], users, "UserName"))
    for props in users.values():
        for group in names(props.get("Groups", []), groups, "GroupName"):
            result.setdefault(group, set()).add(props["UserName"])
    return result


class UnresolvedIntrinsic(ValueError):
    """A template value that needs CloudFormation to evaluate (a condition, an attribute of a created resource)."""


def resolve(value: Any, template: Mapping[str, Any], account_id: str, region: str) -> Any:
    """``value`` with switchrole's intrinsics evaluated as CloudFormation would in ``account_id``/``region``."""
    pseudo = {
        "AWS::AccountId": account_id,
        "AWS::Partition": PARTITION,
        "AWS::Region": region,
        "AWS::URLSuffix": "amazonaws.com",
    }
    resources = template.get("Resources", {})

    def ref(name: str) -> str:
        if name in pseudo:
            return pseudo[name]
        resource = resources.get(name)
        if resource is None:
            raise UnresolvedIntrinsic(f"Ref {name}: not a resource of the template or a pseudo parameter")
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::ManagedPolicy":
            return f"arn:{PARTITION}:iam::{account_id}:policy{props.get('Path', '/')}{props['ManagedPolicyName']}"
        field_name = _REF_FIELDS.get(resource["Type"])
        if field_name is None or field_name not in props:
            raise UnresolvedIntrinsic(f"Ref {name}: a {resource['Type']} without a name in the template")
        return str(props[field_name])

    def sub(text: str, variables: Mapping[str, Any]) -> str:
        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            return str(walk(variables[name])) if name in variables else ref(name)

        return _SUB_VARIABLE.sub(one, text).replace("${!", "${")

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, arg), = node.items()  # fmt: skip
            if key == "Ref":
                return ref(str(arg))
            if key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                return sub(text, variables)
            if key == "Fn::Join":
                return str(arg[0]).join(str(walk(part)) for part in walk(arg[1]))
            if key.startswith("Fn::"):
                raise UnresolvedIntrinsic(f"{key} is not resolved outside CloudFormation")
        return {k: walk(v) for k, v in node.items()}

    return walk(value)


# --------------------------------------------------------------------------- the state a deploy should leave


@dataclass(frozen=True)
class ExpectedRole:
    name: str
    path: str
    trust: dict[str, Any]
    managed_policy_arns: frozenset[str]
    inline_policies: Mapping[str, dict[str, Any]]
    boundary: str | None
    max_session_duration: int


@dataclass(frozen=True)
class ExpectedPolicy:
    """A customer-managed policy in the hub and the groups (or, for an ``until:`` Deny, the user) it is
    attached to."""

    name: str
    path: str
    document: dict[str, Any]
    groups: frozenset[str]
    users: frozenset[str] = frozenset()  # a user's own policy (its ``until:`` Deny)

    def arn(self, account_id: str) -> str:
        return f"arn:{PARTITION}:iam::{account_id}:policy{self.path}{self.name}"


@dataclass(frozen=True)
class ExpectedHub:
    account_id: str
    groups: Mapping[str, str]  # name -> path
    policies: Mapping[str, ExpectedPolicy]  # name -> policy
    users: frozenset[str]
    members: Mapping[str, frozenset[str]]  # group -> users


@dataclass(frozen=True)
class ExpectedState:
    hub: ExpectedHub
    roles: Mapping[str, Mapping[str, ExpectedRole]] = field(default_factory=dict)  # account id -> role name -> role


def expected_state(assembly: Path, hub_account_id: str, region: str) -> ExpectedState:
    """What IAM holds once every stack of ``assembly`` (stacks mode) is deployed, intrinsics resolved."""
    hub = ExpectedHub(hub_account_id, {}, {}, frozenset(), {})
    roles: dict[str, dict[str, ExpectedRole]] = {}
    for stack, account, template in templates(assembly):
        resolved = resolve(template.get("Resources", {}), template, account, region)
        if stack == HUB_STACK_NAME:
            hub = _hub(template, resolved, account)
            continue
        for props in of_type({"Resources": resolved}, "AWS::IAM::Role").values():
            role = ExpectedRole(
                name=props["RoleName"],
                path=props.get("Path", "/"),
                trust=props["AssumeRolePolicyDocument"],
                managed_policy_arns=frozenset(props.get("ManagedPolicyArns", [])),
                inline_policies={p["PolicyName"]: p["PolicyDocument"] for p in props.get("Policies", [])},
                boundary=props.get("PermissionsBoundary"),
                max_session_duration=int(props.get("MaxSessionDuration", 3600)),
            )
            roles.setdefault(account, {})[role.name] = role
    return ExpectedState(hub, roles)


def _hub(template: Mapping[str, Any], resolved: Mapping[str, Any], account: str) -> ExpectedHub:
    groups = of_type(template, "AWS::IAM::Group")
    policies = {
        props["ManagedPolicyName"]: ExpectedPolicy(
            props["ManagedPolicyName"],
            props.get("Path", "/"),
            props["PolicyDocument"],
            frozenset(str(g) for g in props.get("Groups", [])),
            frozenset(str(u) for u in props.get("Users", [])),
        )
        for props in of_type({"Resources": resolved}, "AWS::IAM::ManagedPolicy").values()
    }
    return ExpectedHub(
        account_id=account,
        groups={props["GroupName"]: props.get("Path", "/") for props in groups.values()},
        policies=policies,
        users=frozenset(props["UserName"] for props in of_type(template, "AWS::IAM::User").values()),
        members={group: frozenset(users) for group, users in members(template, groups).items()},
    )
