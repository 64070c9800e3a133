"""CloudFormation's limits on one template, checked for every stack switchrole generates.

Counts (resources, outputs, parameters) are known from the organisation alone, so they are checked before
anything is synthesized, with the field to change (``validate --quick`` and the CDK app included): they mirror
what :mod:`switchrole.infra.stacks` creates, and the tests compare them with the synthesized templates. A template's
size is only known once it is rendered, so it is measured on the cloud assembly (:func:`assembly_problems`).
The CDK's own template validation (the ``@aws-cdk/core:validateAgainstDefaultRules`` flag, on in every app
switchrole builds) is the net under both.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from switchrole.iam.policies import PolicyError, grant_policies
from switchrole.infra.assembly_reader import stacks
from switchrole.infra.stacksets import STACKSETS_STACK_NAME, role_key_sets
from switchrole.model.errors import Path as FieldPath
from switchrole.model.errors import Problem
from switchrole.model.organisation import HUB_STACK_NAME, Organisation, RoleKind

MAX_RESOURCES = 500
MAX_OUTPUTS = 200
MAX_PARAMETERS = 200
MAX_TEMPLATE_BODY = 51_200  # bytes of a template passed in a request (a StackSet's TemplateBody)
MAX_TEMPLATE_URL_BYTES = 1_000_000  # bytes of a template read from S3 (1 MB; the CDK CLI uploads every stack's)
BOOTSTRAP_PARAMETERS = 1  # BootstrapVersion, in every stack of the default synthesizer (not in StackSet templates)


@dataclass(frozen=True)
class Count:
    """How many of each limited thing one template holds, with what makes it up (for the message)."""

    resources: int
    outputs: int
    parameters: int
    resources_detail: str = ""
    outputs_detail: str = ""


def role_outputs(kind: RoleKind) -> int:
    """Outputs per role: its ARN, and a console link where the console can switch into it."""
    return 1 + kind.console_switchable


def roles_count(org: Organisation, role_keys: tuple[str, ...], parameters: int) -> Count:
    """A template with one role per kind (a target account's stack, or a StackSet's role template)."""
    kinds = [org.role_kinds[key] for key in role_keys]
    links = sum(kind.console_switchable for kind in kinds)
    return Count(
        resources=len(kinds),
        outputs=sum(role_outputs(kind) for kind in kinds),
        parameters=parameters,
        resources_detail=f"a role per kind: {len(kinds)}",
        outputs_detail=f"the ARN of each of its {len(kinds)} roles, and a console link for {links}",
    )


def _grant_policy_count(org: Organisation, group: str) -> int:
    try:
        return len(grant_policies(org, group))
    except PolicyError:  # a statement that fits no policy: reported by policy_problems, with the group
        return 0


def hub_count(org: Organisation) -> tuple[Count, int, int]:
    """The hub stack, and how many of its resources come from groups and from users."""
    policies = sum(_grant_policy_count(org, group) for group in org.groups)
    memberships = sum(1 for group in org.groups if org.members(group))
    mfa = 1 if any(org.group_requires_mfa(group) for group in org.groups) else 0
    expiring = sum(1 for user in org.users.values() if user.until is not None)
    sets = len(org.permission_set_groups)  # no IAM group; an output listing the policies the set references
    from_groups = len(org.groups) - sets + policies + memberships + mfa
    from_users = len(org.users) + expiring
    detail = (
        f"{len(org.groups) - sets} groups, {policies} grant policies, {memberships} group memberships, "
        f"{mfa} MFA policy, {len(org.users)} users, {expiring} until: policies"
    )
    outputs = f"{sets} permission sets' policy lists"
    return Count(from_groups + from_users, sets, BOOTSTRAP_PARAMETERS, detail, outputs), from_groups, from_users


def _over(what: str, count: Count) -> Iterator[str]:
    limits = (
        ("resources", count.resources, MAX_RESOURCES, count.resources_detail),
        ("outputs", count.outputs, MAX_OUTPUTS, count.outputs_detail),
        ("parameters", count.parameters, MAX_PARAMETERS, ""),
    )
    for noun, n, limit, detail in limits:
        if n > limit:
            yield (
                f"{what} would have {n:,} {noun}" + (f" ({detail})" if detail else "")
                + f"; CloudFormation allows at most {limit} in a template"
            )  # fmt: skip


def template_problems(org: Organisation) -> Iterator[Problem]:
    """Every generated template over CloudFormation's resource, output or parameter limit, at the field to change."""
    hub, from_groups, from_users = hub_count(org)
    hub_field: FieldPath = ("users",) if from_users >= from_groups else ("groups",)
    for message in _over(f"stack {HUB_STACK_NAME}", hub):
        yield Problem(hub_field, message + " (one hub stack holds every group and user)")
    if hub.resources == 0:
        yield Problem(
            ("users",),
            f"stack {HUB_STACK_NAME} would have no resources (no groups, no users) and CloudFormation refuses an "
            "empty template: add a user or a group",
        )
    index = {account.name: i for i, account in enumerate(org.accounts)}
    if not org.deployment.stacksets:
        for account in org.accounts:
            count = roles_count(org, account.role_keys, BOOTSTRAP_PARAMETERS)
            for message in _over(f"stack {account.stack_name}", count):
                yield Problem(("accounts", index[account.name], "roles"), message + ": list fewer role kinds here")
        return
    sets = role_key_sets(org)
    stack_sets = len(sets.accounts) + len(org.deployment.ou_targets)
    if stack_sets > MAX_RESOURCES:
        yield Problem(
            ("accounts",),
            f"stack {STACKSETS_STACK_NAME} would have {stack_sets:,} resources (a StackSet per distinct set of role "
            f"kinds among the accounts, and one per OU target); CloudFormation allows at most {MAX_RESOURCES} "
            "in a template",
        )
    fields: dict[tuple[str, ...], FieldPath] = {}
    for role_keys, accounts in sets.accounts.items():
        fields.setdefault(role_keys, ("accounts", index[accounts[0].name], "roles"))
    for i, role_keys in enumerate(sets.ou_targets):
        fields.setdefault(role_keys, ("deployment", "ou_targets", i, "roles"))
    for role_keys, field in fields.items():
        strict = sum(org.role_kinds[key].strict_trust for key in role_keys)
        count = roles_count(org, role_keys, strict)
        for message in _over(f"the StackSet template of these {len(role_keys)} role kinds", count):
            yield Problem(field, message + ": list fewer role kinds here")


def assembly_problems(org: Organisation, assembly: Path, limit: int | None = None) -> list[Problem]:
    """Templates of a synthesized cloud assembly over the size CloudFormation reads from S3 (``limit``, by default
    :data:`MAX_TEMPLATE_URL_BYTES`)."""
    limit = MAX_TEMPLATE_URL_BYTES if limit is None else limit
    index = {account.stack_name: i for i, account in enumerate(org.accounts)}
    problems = []
    for name, artifact in stacks(assembly):
        size = (assembly / artifact["properties"]["templateFile"]).stat().st_size
        if size <= limit:
            continue
        if name == HUB_STACK_NAME:
            field: FieldPath = ("groups",)
            remedy = 'split large groups, or grant with accounts: "*" and hub.organization_id'
        elif name in index:
            field, remedy = ("accounts", index[name], "roles"), "list fewer role kinds here"
        else:
            field, remedy = ("accounts",), "give more accounts the same set of role kinds"
        problems.append(
            Problem(
                field,
                f"stack {name}'s template is {size:,} bytes; CloudFormation reads at most {limit:,} from S3: {remedy}",
            )
        )
    return problems
