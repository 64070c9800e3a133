"""CloudFormation API calls that the CDK CLI makes and moto 5.2 answers wrongly.

- ``UpdateTerminationProtection``: ``cdk deploy`` calls it after every
  deployment; moto answers HTTP 500 "not implemented". It is recorded on the
  stack, where DescribeStacks reports it.
- ``DeleteChangeSet`` of a change set that does not exist: ``cdk deploy``
  calls it before every update ("if it exists"); AWS succeeds, moto fails
  with HTTP 500 (``UnboundLocalError``). Here it succeeds.
- ``DescribeChangeSet`` of a change set that does not exist: AWS answers
  ``ChangeSetNotFound``, which the CLI waits for after the delete; moto
  answers ``ValidationError: Stack with id ... does not exist``, which makes
  every ``cdk deploy`` onto an existing stack fail.
- ``UsePreviousValue`` of a parameter: moto reuses its *resolved* value, so
  for an SSM parameter type (the CDK's ``BootstrapVersion``) the next deploy
  looks up the version number as a parameter name and fails. AWS reuses the
  value as given (the SSM parameter's name) and resolves it again.
- A ``TemplateURL`` on ``http://127.0.0.1:PORT/bucket/key``: moto reads the
  host's first label as the bucket ("127"); an IP address or ``localhost``
  host means a path-style URL.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlparse

from moto.cloudformation.responses import CloudFormationResponse
from moto.core.responses import ActionResult


def update_termination_protection(self: CloudFormationResponse) -> ActionResult:
    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    stack.enable_termination_protection = self._get_bool_param("EnableTerminationProtection", False)
    return ActionResult({"StackId": stack.stack_id})


def _change_set_not_found(name: str) -> Exception:
    from moto.cloudformation.exceptions import CloudFormationError

    class ChangeSetNotFound(CloudFormationError):
        code = "ChangeSetNotFoundException"

    return ChangeSetNotFound(f"ChangeSet [{name}] does not exist")


def _find_change_set(backend: Any, name: str, stack_name: str | None) -> str | None:
    """The key of a change set given by ARN, or by name (within ``stack_name`` when given)."""
    if name in backend.change_sets:
        return name
    for key, change_set in backend.change_sets.items():
        if change_set.change_set_name == name and stack_name in (None, change_set.stack_name, change_set.stack_id):
            return str(key)
    return None


def delete_change_set(self: CloudFormationResponse) -> ActionResult:
    backend = self.cloudformation_backend
    key = _find_change_set(backend, self._get_param("ChangeSetName"), self._get_param("StackName"))
    if key is not None:
        del backend.change_sets[key]
    return ActionResult({})


def describe_change_set(self: CloudFormationResponse) -> ActionResult:
    backend = self.cloudformation_backend
    name = self._get_param("ChangeSetName")
    key = _find_change_set(backend, name, self._get_param("StackName"))
    if key is None:
        raise _change_set_not_found(name)
    return ActionResult(backend.change_sets[key])


def previous_parameter_values(self: Any) -> dict[str, Any]:
    """``Stack.stack_parameters`` as ``UsePreviousValue`` needs it: each parameter as given, else its default."""
    resource_map = self.resource_map
    declared = (resource_map._template or {}).get("Parameters", {})
    given = dict(resource_map.input_parameters or {})
    return {key: given.get(key, spec.get("Default")) for key, spec in declared.items()} | given


def path_style_urls(original: Any) -> Any:
    """Wrap moto's ``get_stack_from_s3_url`` so that an IP-address host is read path-style, like localhost."""

    def get_stack_from_s3_url(template_url: str, account_id: str, partition: str) -> str:
        host = urlparse(template_url).hostname or ""
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return str(original(template_url, account_id, partition))
        parts = urlparse(template_url)
        localhost = parts._replace(netloc=f"localhost:{parts.port}" if parts.port else "localhost").geturl()
        return str(original(localhost, account_id, partition))

    get_stack_from_s3_url.switchrole = True  # type: ignore[attr-defined]
    return get_stack_from_s3_url


def install() -> None:
    """Install the API fixes into moto (idempotent)."""
    import moto.cloudformation.models as models
    import moto.cloudformation.responses as responses

    CloudFormationResponse.update_termination_protection = update_termination_protection  # type: ignore[attr-defined]
    CloudFormationResponse.delete_change_set = delete_change_set  # type: ignore[method-assign]
    CloudFormationResponse.describe_change_set = describe_change_set  # type: ignore[method-assign]
    models.Stack.stack_parameters = property(previous_parameter_values)  # type: ignore[method-assign,assignment]
    for module in (models, responses):
        if not getattr(module.get_stack_from_s3_url, "switchrole", False):
            module.get_stack_from_s3_url = path_style_urls(module.get_stack_from_s3_url)  # type: ignore[attr-defined]
