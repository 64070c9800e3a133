"""Stack updates in the local AWS, in CloudFormation's order: what moto 5.2 gets wrong after the first deploy.

moto's ``ResourceMap.update`` deletes removed resources *first* (so a removed
group is deleted while its policies still point at it), deletes them even with
``DeletionPolicy: Retain`` (so a retained user leaving the template is deleted
instead of kept), and leaves the outputs and the change set bookkeeping of the
previous version. AWS CloudFormation instead:

1. creates the resources the new template adds, in dependency order;
2. updates the resources whose properties changed, in dependency order (each
   model decides in place or replacement; see :mod:`switchrole.local.cfn_models`);
3. in the cleanup phase, deletes the resources the new template no longer has,
   dependents first, *except* those whose previous ``DeletionPolicy`` was
   ``Retain``: those leave the stack with no API call at all.

That is what :func:`update` does. A failure marks the stack ``UPDATE_ROLLBACK_COMPLETE``
(with the reason in its events) for the CDK CLI to report, as CloudFormation does;
unlike CloudFormation, what was already applied is not rolled back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

_SUB_REFERENCE = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}")


def references(value: Any) -> set[str]:
    """Logical ids a template value refers to (``Ref``, ``Fn::GetAtt``, ``Fn::Sub``, ``DependsOn``)."""
    found: set[str] = set()
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str):
                found.add(item)
            elif key == "Fn::GetAtt":
                found.add(item[0] if isinstance(item, list) else str(item).split(".")[0])
            elif key == "Fn::Sub":
                text = item[0] if isinstance(item, list) else item
                found |= set(_SUB_REFERENCE.findall(str(text)))
                found |= references(item[1] if isinstance(item, list) and len(item) > 1 else {})
            elif key == "DependsOn":
                found |= set(item if isinstance(item, list) else [item])
            else:
                found |= references(item)
    elif isinstance(value, list):
        for item in value:
            found |= references(item)
    return found


def dependency_order(names: Iterable[str], resources: Mapping[str, Any]) -> list[str]:
    """``names`` ordered so that every resource comes after the resources (among ``names``) it refers to."""
    wanted = list(names)
    pending = set(wanted)
    ordered: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name not in pending or name in path:
            return
        for dependency in sorted(references(resources[name]) & pending):
            visit(dependency, (*path, name))
        if name in pending:
            pending.discard(name)
            ordered.append(name)

    for name in wanted:
        visit(name, ())
    return ordered


def update(self: Any, template: dict[str, Any], parameters: dict[str, Any] | None = None) -> None:
    """Drop-in for moto's ``ResourceMap.update`` (``self`` is the stack's resource map)."""
    from moto.cloudformation.parsing import parse_and_update_resource

    old_resources = dict(self._resource_json_map)
    changes = self.build_resource_diff(template, parameters)
    self._template = template
    if parameters:
        self.input_parameters = parameters
    self.load_mapping()
    self.load_parameters()
    self.load_conditions()
    self._resource_json_map = template["Resources"]

    for name in dependency_order(changes["Add"], template["Resources"]):
        _ = self[name]  # moto creates a resource (and what it refers to) on first access
    for name in dependency_order(changes["Modify"], template["Resources"]):
        updated = parse_and_update_resource(
            name, self._resource_json_map[name], self, account_id=self._account_id, region_name=self._region_name
        )
        if updated is None:
            raise NotImplementedError(f"the local AWS cannot update {template['Resources'][name]['Type']} {name}")
        self._parsed_resources[name] = updated
    for name in reversed(dependency_order(changes["Remove"], old_resources)):
        resource = self._parsed_resources.pop(name, None)
        if resource is None or old_resources[name].get("DeletionPolicy") == "Retain":
            continue  # a retained resource leaves the stack without any API call
        self._delete_resource(resource, old_resources[name])


def delete_resource(original: Any) -> Any:
    """Wrap ``ResourceMap._delete_resource``: switchrole's models delete from the properties they were
    last deployed with (references resolved), not from the raw template JSON moto passes."""

    def delete(self: Any, parsed_resource: Any, resource_json: dict[str, Any]) -> None:
        from moto.cloudformation.parsing import parse_and_delete_resource

        from switchrole.local.cfn_common import PROPERTIES

        properties = getattr(parsed_resource, PROPERTIES, None)
        if properties is None:
            original(self, parsed_resource, resource_json)
            return
        resolved = {**resource_json, "Properties": properties}
        parse_and_delete_resource(parsed_resource.physical_resource_id, resolved, self._account_id, self._region_name)

    delete.switchrole = True  # type: ignore[attr-defined]
    return delete


def execute_change_set(original: Any) -> Any:
    """Wrap ``CloudFormationBackend.execute_change_set``: refresh outputs, drop the stack's change sets
    (AWS removes them once one is executed), and turn a failure into a rolled-back stack, not an HTTP 500."""

    def execute(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        change_set = self.describe_change_set(change_set_name)
        stack = self.stacks[change_set.stack_id]
        try:
            original(self, change_set_name, stack_name)
        except Exception as exc:  # the deploy failed: report it the way CloudFormation does
            create = change_set.change_set_type == "CREATE"
            stack.status = "ROLLBACK_COMPLETE" if create else "UPDATE_ROLLBACK_COMPLETE"
            stack._add_stack_event("CREATE_FAILED" if create else "UPDATE_FAILED", resource_status_reason=str(exc))
            stack._add_stack_event(stack.status)
            change_set.execution_status = "EXECUTE_FAILED"
        stack.output_map = stack._create_output_map()
        for key in [k for k, cs in self.change_sets.items() if cs.stack_id == stack.stack_id]:
            del self.change_sets[key]

    execute.switchrole = True  # type: ignore[attr-defined]
    return execute


def install() -> None:
    """Install the update order and the change-set bookkeeping into moto (idempotent)."""
    from moto.cloudformation.models import CloudFormationBackend
    from moto.cloudformation.parsing import ResourceMap

    ResourceMap.update = update  # type: ignore[method-assign]
    if not getattr(ResourceMap._delete_resource, "switchrole", False):
        ResourceMap._delete_resource = delete_resource(ResourceMap._delete_resource)  # type: ignore[method-assign]
    if not getattr(CloudFormationBackend.execute_change_set, "switchrole", False):
        CloudFormationBackend.execute_change_set = execute_change_set(  # type: ignore[method-assign]
            CloudFormationBackend.execute_change_set
        )
