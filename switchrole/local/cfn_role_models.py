"""CloudFormation models for AWS::IAM::Role and AWS::IAM::ManagedPolicy in the emulator (registered by
:func:`switchrole.local.cfn_models.install`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from moto.core.common_models import CloudFormationModel

from switchrole.local.cfn_common import (
    delete_conflict,
    iam_backend,
    policy_json,
    previous_props,
    remember_props,
    replaces,
    sync_inline,
    sync_list,
    template_props,
)

# --------------------------------------------------------------------------- AWS::IAM::Role


class IamRoleModel(CloudFormationModel):
    """``AWS::IAM::Role``: trust, session length, boundary, managed and inline policies, description and tags
    update in place; RoleName and Path replace."""

    @staticmethod
    def cloudformation_name_type() -> str:
        return "RoleName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::IAM::Role"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("Arn", "RoleId")

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        props, backend = template_props(cloudformation_json), iam_backend(account_id, region_name)
        role = backend.create_role(
            role_name=props.get("RoleName", resource_name),
            assume_role_policy_document=policy_json(props["AssumeRolePolicyDocument"]),
            path=props.get("Path", "/"),
            permissions_boundary=props.get("PermissionsBoundary", ""),
            description=props.get("Description", ""),
            tags=props.get("Tags", []),
            max_session_duration=props.get("MaxSessionDuration", 3600),
            linked_service=None,
        )
        cls._apply(backend, role.name, {}, props)
        return remember_props(role, props)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        old, new = previous_props(original_resource), template_props(cloudformation_json)
        if replaces(old, new, ["RoleName", "Path"]):
            created = cls.create_from_cloudformation_json(
                new_resource_name, cloudformation_json, account_id, region_name
            )
            cls.delete_from_cloudformation_json(original_resource.name, {"Properties": old}, account_id, region_name)
            return created
        backend, name = iam_backend(account_id, region_name), original_resource.name
        if old.get("AssumeRolePolicyDocument") != new.get("AssumeRolePolicyDocument"):
            backend.update_assume_role_policy(name, policy_json(new["AssumeRolePolicyDocument"]))
        original_resource.description = new.get("Description", "")
        original_resource.max_session_duration = new.get("MaxSessionDuration", 3600)
        if old.get("PermissionsBoundary") != new.get("PermissionsBoundary"):
            if new.get("PermissionsBoundary"):
                backend.put_role_permissions_boundary(name, new["PermissionsBoundary"])
            else:
                backend.delete_role_permissions_boundary(name)
        if old.get("Tags", []) != new.get("Tags", []):
            backend.untag_role(name, [t["Key"] for t in old.get("Tags", [])])
            if new.get("Tags"):
                backend.tag_role(name, new["Tags"])
        cls._apply(backend, name, old, new)
        return remember_props(original_resource, new)

    @staticmethod
    def _apply(backend: Any, name: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        sync_list(
            old,
            new,
            "ManagedPolicyArns",
            lambda arn: backend.attach_role_policy(policy_arn=arn, role_name=name),
            lambda arn: backend.detach_role_policy(policy_arn=arn, role_name=name),
        )
        sync_inline(
            old,
            new,
            lambda policy, document: backend.put_role_policy(name, policy, document),
            lambda policy: backend.delete_role_policy(name, policy),
        )

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        """Detach and delete what the template gave, then DeleteRole (IAM refuses while other policies remain)."""
        backend = iam_backend(account_id, region_name)
        cls._apply(backend, resource_name, template_props(cloudformation_json), {})
        backend.delete_role(resource_name)


# --------------------------------------------------------------------------- AWS::IAM::ManagedPolicy

MAX_POLICY_VERSIONS = 5


class IamManagedPolicyModel(CloudFormationModel):
    """``AWS::IAM::ManagedPolicy``: a document change is a new default version (the oldest other version is
    deleted at IAM's limit of 5, as CloudFormation does); Groups/Users/Roles attach and detach the difference;
    ManagedPolicyName, Path and Description replace."""

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::IAM::ManagedPolicy"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("PolicyArn", "PolicyId")

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        props, backend = template_props(cloudformation_json), iam_backend(account_id, region_name)
        policy = backend.create_policy(
            description=props.get("Description", ""),
            path=props.get("Path", "/"),
            policy_document=policy_json(props["PolicyDocument"]),
            policy_name=props.get("ManagedPolicyName", resource_name),
            tags=[],
        )
        cls._attach(backend, policy.arn, {}, props)
        return remember_props(policy, props)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        old, new = previous_props(original_resource), template_props(cloudformation_json)
        if replaces(old, new, ["ManagedPolicyName", "Path", "Description"]):
            created = cls.create_from_cloudformation_json(
                new_resource_name, cloudformation_json, account_id, region_name
            )
            cls.delete_from_cloudformation_json(original_resource.arn, {"Properties": old}, account_id, region_name)
            return created
        backend, arn = iam_backend(account_id, region_name), original_resource.arn
        if old.get("PolicyDocument") != new.get("PolicyDocument"):
            versions = backend.list_policy_versions(arn)
            if len(versions) >= MAX_POLICY_VERSIONS:
                oldest = next(v for v in versions if not v.is_default)
                backend.delete_policy_version(arn, oldest.version_id)
            backend.create_policy_version(arn, policy_json(new["PolicyDocument"]), set_as_default=True)
        cls._attach(backend, arn, old, new)
        return remember_props(original_resource, new)

    @staticmethod
    def _attach(backend: Any, arn: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        def on(method: Callable[..., Any], argument: str) -> Callable[[str], Any]:
            return lambda name: method(policy_arn=arn, **{argument: name})

        for key, attach, detach, argument in (
            ("Groups", backend.attach_group_policy, backend.detach_group_policy, "group_name"),
            ("Users", backend.attach_user_policy, backend.detach_user_policy, "user_name"),
            ("Roles", backend.attach_role_policy, backend.detach_role_policy, "role_name"),
        ):
            sync_list(old, new, key, on(attach, argument), on(detach, argument))

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        """Detach from what the template named, delete the other versions, then DeletePolicy (IAM refuses
        while the policy is still attached elsewhere)."""
        backend = iam_backend(account_id, region_name)
        cls._attach(backend, resource_name, template_props(cloudformation_json), {})
        policy = backend.get_policy(resource_name)
        if policy.attachment_count:
            raise delete_conflict("Cannot delete a policy attached to entities.")
        for version in list(policy.versions):
            if not version.is_default:
                backend.delete_policy_version(resource_name, version.version_id)
        backend.delete_policy(resource_name)
