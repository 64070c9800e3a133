"""Which changes between two syntheses CloudFormation cannot deploy as one update, with the two-step plan.

A change to a create-only property (:mod:`switchrole.infra.create_only`, taken from CloudFormation's own resource
schemas) makes CloudFormation *replace* the resource: it creates the new one, then deletes the old one. Every
resource switchrole deploys has a custom physical name (the role, group, user, policy or StackSet name), so
the new one cannot be created while the old one still holds the name: IAM answers ``EntityAlreadyExists`` and
the stack rolls back. The same happens when a name leaves under one logical id and arrives under another in
the same account (IAM compares names without regard to case, so ``Alice`` -> ``alice`` is such a move).

switchrole's own resources are designed not to do this on routine edits (descriptions that never change with
the grants or dates; logical ids from IAM names). What remains (a role's path changed under the same name, a
name changed only in case) is refused here, at ``validate --base`` and ``diff``, naming the field and the two
deploys that do work, instead of failing half-way through a deploy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from switchrole.infra.assembly_reader import templates
from switchrole.infra.create_only import CREATE_ONLY
from switchrole.model.errors import Path as FieldPath
from switchrole.model.errors import Problem
from switchrole.model.organisation import Organisation


def name_property(kind: str) -> str | None:
    """The property that holds a type's custom physical name: its create-only ``...Name``."""
    return next((p for p in CREATE_ONLY.get(kind, ()) if p.endswith("Name")), None)


@dataclass(frozen=True)
class Resource:
    stack: str
    account: str
    logical_id: str
    kind: str
    properties: Mapping[str, Any]
    construct_path: str

    @property
    def name(self) -> str | None:
        prop = name_property(self.kind)
        value = self.properties.get(prop) if prop else None
        return value if isinstance(value, str) else None

    def name_key(self) -> tuple[str, str, str] | None:
        """Where the name must be unique: per account and type; IAM names compare without case."""
        name = self.name
        if name is None:
            return None
        return self.account, self.kind, name.lower() if self.kind.startswith("AWS::IAM::") else name


def resources(assembly: Path) -> dict[tuple[str, str], Resource]:
    """(stack, logical id) -> resource, for every resource of the cloud assembly in ``assembly``."""
    result = {}
    for stack, account, template in templates(assembly):
        for logical_id, resource in template.get("Resources", {}).items():
            result[stack, logical_id] = Resource(
                stack,
                account,
                logical_id,
                resource["Type"],
                resource.get("Properties", {}),
                resource.get("Metadata", {}).get("aws:cdk:path", logical_id),
            )
    return result


@dataclass(frozen=True)
class Collision:
    """A resource whose update CloudFormation would perform as a replacement that cannot succeed."""

    old: Resource
    new: Resource
    changed: tuple[str, ...]  # the create-only properties that changed; empty: the name moved between ids

    def reason(self) -> str:
        what = f"{self.new.kind} {self.new.name}"
        if self.changed:
            props = ", ".join(
                f"{p} {_shown(self.old.properties.get(p))} -> {_shown(self.new.properties.get(p))}"
                for p in self.changed
            )
            cause = f"CloudFormation replaces {what} in {self.new.stack} ({props}: create-only)"
        else:
            cause = f"{what} in {self.new.stack} leaves as {self.old.name} ({self.old.logical_id}) and arrives as "
            cause += f"{self.new.name} ({self.new.logical_id})"
        return (
            f"cannot deploy as one update: {cause}, and the new one cannot be created while the old one holds the "
            "name (IAM names ignore case). Deploy it in two steps: remove it from the file and deploy, then add it "
            "back as changed and deploy"
        )


def _shown(value: Any) -> str:
    return "(none)" if value is None else repr(value) if isinstance(value, str) else "(changed)"


def collisions(before: Path, after: Path) -> list[Collision]:
    """Every replacement of a named resource, and every name moving between logical ids, from the cloud assembly
    in ``before`` to the one in ``after``."""
    old, new = resources(before), resources(after)
    found: list[Collision] = []
    for key, res in new.items():
        prev = old.get(key)
        if prev is None or prev.kind != res.kind or res.name is None:
            continue
        changed = tuple(p for p in CREATE_ONLY.get(res.kind, ()) if prev.properties.get(p) != res.properties.get(p))
        if changed and prev.name_key() == res.name_key():
            found.append(Collision(prev, res, changed))
    leaving = {r.name_key(): r for key, r in old.items() if key not in new and r.name_key() is not None}
    for key, res in new.items():
        if key not in old and (prev := leaving.get(res.name_key())) is not None:
            found.append(Collision(prev, res, ()))
    return sorted(found, key=lambda c: (c.new.stack, c.new.logical_id))


def problems(before: Path, after: Path, org: Organisation) -> list[Problem]:
    """:func:`collisions` as one problem each, at the field of ``org`` (the changed file) that owns the resource."""
    return [Problem(field_of(c.new, org), c.reason()) for c in collisions(before, after)]


def field_of(resource: Resource, org: Organisation) -> FieldPath:
    """The accounts-file field a resource comes from, read from its construct path (``Stack/Construct/...``)."""
    parts = resource.construct_path.split("/")
    construct = parts[1] if len(parts) > 1 else ""
    for prefix, section in (("Group-", "groups"), ("User-", "users")):
        if construct.startswith(prefix):
            return section, construct.removeprefix(prefix)
    if resource.kind == "AWS::IAM::Role":
        for kind in org.role_kinds.values():
            if kind.name.lower() == str(resource.name).lower():
                return "roles", kind.key
        return ("roles",)
    return ()


def update_problems(base: Organisation, head: Organisation, head_assembly: Path | None = None) -> list[Problem]:
    """Synthesize ``base`` (and ``head``, unless its cloud assembly is given) and return :func:`problems`: what
    deploying ``head`` over a deployed ``base`` cannot do as one update. cdk-nag is not run here (``validate``
    runs it on the head); ``SynthFailed`` is raised as synth does."""
    import tempfile

    from switchrole.infra.assembly import synth

    with tempfile.TemporaryDirectory(prefix="switchrole-update-") as scratch:
        before = Path(scratch) / "base.out"
        synth(base, before, checks=False)  # what is deployed: its cdk-nag findings are not this change's
        if head_assembly is None:
            head_assembly = Path(scratch) / "head.out"
            synth(head, head_assembly, checks=False)
        return problems(before, head_assembly, head)
