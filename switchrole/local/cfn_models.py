"""CloudFormation resource models for the IAM types switchrole deploys, registered into moto's server.

moto 5.2's CloudFormation gets these types wrong (checked with moto 5.2.1 and
5.2.5): it skips ``AWS::IAM::Group`` and ``AWS::IAM::UserToGroupAddition``,
ignores ``AWS::IAM::User.Groups`` and ``AWS::IAM::Role.ManagedPolicyArns``,
does nothing on a ``ManagedPolicy`` update or delete, ignores trust changes on
a ``Role`` update, and deletes users that still have credentials. Deployed
naively, hub users end up in no group, roles without their job policies, and
no change after the first deploy would ever be applied.

These models do what AWS CloudFormation does for each property switchrole
uses, on create, update and delete: an update is computed from the previous
*template* properties (not from the live state, which may have drifted); a
change to a name or path replaces the resource (a new one, then the old one
deleted, failing like AWS when the name is still taken); deletes fail with
IAM's ``DeleteConflict`` where IAM would. The order of operations within a
stack update (create, update, then delete; retained resources kept) is in
:mod:`switchrole.local.cfn_update`.

moto builds its type -> model map from ``CloudFormationModel.__subclasses__()``;
a later direct subclass with the same type wins, so defining these classes and
clearing moto's caches is the whole registration (only *direct* subclasses are
found, hence no shared base class).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from moto.cloudformation import parsing
from moto.core.common_models import CloudFormationModel

from switchrole.local.cfn_common import (
    added_removed,
    delete_conflict,
    iam_backend,
    inline_policies,
    previous_props,
    remember_props,
    replaces,
    sync_inline,
    sync_list,
    template_props,
)
from switchrole.local.cfn_role_models import IamManagedPolicyModel, IamRoleModel

# --------------------------------------------------------------------------- AWS::IAM::Group


class GroupResource:
    """What a template's ``Ref``/``GetAtt`` of an ``AWS::IAM::Group`` resolves to."""

    def __init__(self, group: Any) -> None:
        self.group = group
        self.name = group.name

    @property
    def physical_resource_id(self) -> str:
        return str(self.group.name)

    def is_created(self) -> bool:
        return True

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if attribute_name == "Arn":
            return str(self.group.arn)
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        raise UnformattedGetAttTemplateException()


class IamGroupModel(CloudFormationModel):
    """``AWS::IAM::Group`` with Path, ManagedPolicyArns and inline Policies; GroupName replaces."""

    @staticmethod
    def cloudformation_name_type() -> str:
        return "GroupName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::IAM::Group"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> GroupResource:
        props = template_props(cloudformation_json)
        backend = iam_backend(account_id, region_name)
        group = backend.create_group(props.get("GroupName", resource_name), props.get("Path", "/"))
        for arn in props.get("ManagedPolicyArns", []):
            backend.attach_group_policy(policy_arn=arn, group_name=group.name)
        for policy, document in inline_policies(props.get("Policies", [])).items():
            backend.put_group_policy(group.name, policy, document)
        return remember_props(GroupResource(group), props)  # type: ignore[no-any-return]

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: GroupResource,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> GroupResource:
        old, new = previous_props(original_resource), template_props(cloudformation_json)
        if replaces(old, new, ["GroupName"]):
            created = cls.create_from_cloudformation_json(
                new_resource_name, cloudformation_json, account_id, region_name
            )
            cls.delete_from_cloudformation_json(original_resource.name, {"Properties": old}, account_id, region_name)
            return created
        backend, name = iam_backend(account_id, region_name), original_resource.name
        if old.get("Path", "/") != new.get("Path", "/"):
            backend.update_group(name, None, new.get("Path", "/"))
        sync_list(
            old,
            new,
            "ManagedPolicyArns",
            lambda arn: backend.attach_group_policy(policy_arn=arn, group_name=name),
            lambda arn: backend.detach_group_policy(policy_arn=arn, group_name=name),
        )
        sync_inline(
            old,
            new,
            lambda policy, document: backend.put_group_policy(name, policy, document),
            lambda policy: backend.delete_group_policy(name, policy),
        )
        return remember_props(original_resource, new)  # type: ignore[no-any-return]

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        """Like CloudFormation: remove what the template attached, then DeleteGroup, which IAM refuses
        while the group still has members or other policies (for example added out of band)."""
        props, backend = template_props(cloudformation_json), iam_backend(account_id, region_name)
        group = backend.get_group(resource_name)
        for arn in props.get("ManagedPolicyArns", []):
            if arn in group.managed_policies:
                backend.detach_group_policy(policy_arn=arn, group_name=resource_name)
        for policy in inline_policies(props.get("Policies", [])):
            if policy in group.policies:
                backend.delete_group_policy(resource_name, policy)
        if group.users:
            raise delete_conflict("Cannot delete entity, must remove users from group first.")
        if group.managed_policies or group.policies:
            raise delete_conflict("Cannot delete entity, must delete policies first.")
        backend.delete_group(resource_name)


# --------------------------------------------------------------------------- AWS::IAM::UserToGroupAddition


class Membership:
    """An ``AWS::IAM::UserToGroupAddition``: the listed users' membership in one group."""

    def __init__(self, group: str, users: list[str], logical_id: str) -> None:
        self.group, self.users = group, users
        digest = hashlib.sha256(f"{group}/{logical_id}".encode()).hexdigest()[:12].upper()
        self.name = f"{logical_id}-{digest}"

    @property
    def physical_resource_id(self) -> str:
        return self.name

    def is_created(self) -> bool:
        return True


class IamUserToGroupAdditionModel(CloudFormationModel):
    """``AWS::IAM::UserToGroupAddition``: adds on create, adds and removes the difference on update,
    removes its users on delete; a new GroupName replaces it."""

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::IAM::UserToGroupAddition"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> Membership:
        props, backend = template_props(cloudformation_json), iam_backend(account_id, region_name)
        for user in props["Users"]:
            backend.add_user_to_group(props["GroupName"], user)
        membership = Membership(props["GroupName"], list(props["Users"]), kwargs.get("LogicalId", resource_name))
        return remember_props(membership, props)  # type: ignore[no-any-return]

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Membership,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Membership:
        old, new = previous_props(original_resource), template_props(cloudformation_json)
        backend = iam_backend(account_id, region_name)
        if replaces(old, new, ["GroupName"]):
            cls._remove(backend, old["GroupName"], old["Users"])
            for user in new["Users"]:
                backend.add_user_to_group(new["GroupName"], user)
        else:
            added, removed = added_removed(old["Users"], new["Users"])
            for user in added:
                backend.add_user_to_group(new["GroupName"], user)
            cls._remove(backend, new["GroupName"], removed)
        original_resource.group, original_resource.users = new["GroupName"], list(new["Users"])
        return remember_props(original_resource, new)  # type: ignore[no-any-return]

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        props = template_props(cloudformation_json)
        cls._remove(iam_backend(account_id, region_name), props["GroupName"], props["Users"])

    @staticmethod
    def _remove(backend: Any, group: str, users: Iterable[str]) -> None:
        """Remove memberships; a user or group that is already gone is not an error (as in CloudFormation)."""
        if group not in backend.groups:
            return
        members = {u.name for u in backend.groups[group].users}
        for user in users:
            if user in members:
                backend.remove_user_from_group(group, user)


# --------------------------------------------------------------------------- AWS::IAM::User


class IamUserModel(CloudFormationModel):
    """``AWS::IAM::User`` with Path, Groups, ManagedPolicyArns, inline Policies and Tags; UserName replaces."""

    @staticmethod
    def cloudformation_name_type() -> str:
        return "UserName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::IAM::User"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        props, backend = template_props(cloudformation_json), iam_backend(account_id, region_name)
        user = backend.create_user(
            region_name=region_name,
            user_name=props.get("UserName", resource_name),
            path=props.get("Path", "/"),
            tags=props.get("Tags", []),
        )
        cls._apply(backend, user.name, {}, props)
        return remember_props(user, props)

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
        if replaces(old, new, ["UserName"]):
            created = cls.create_from_cloudformation_json(
                new_resource_name, cloudformation_json, account_id, region_name
            )
            cls.delete_from_cloudformation_json(original_resource.name, {"Properties": old}, account_id, region_name)
            return created
        backend = iam_backend(account_id, region_name)
        if old.get("Path", "/") != new.get("Path", "/"):
            backend.update_user(original_resource.name, new_path=new.get("Path", "/"))
        cls._apply(backend, original_resource.name, old, new)
        if old.get("Tags", []) != new.get("Tags", []):
            backend.untag_user(original_resource.name, [t["Key"] for t in old.get("Tags", [])])
            if new.get("Tags"):
                backend.tag_user(original_resource.name, new["Tags"])
        return remember_props(original_resource, new)

    @staticmethod
    def _apply(backend: Any, name: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        sync_list(
            old,
            new,
            "Groups",
            lambda group: backend.add_user_to_group(group, name),
            lambda group: backend.remove_user_from_group(group, name),
        )
        sync_list(
            old,
            new,
            "ManagedPolicyArns",
            lambda arn: backend.attach_user_policy(policy_arn=arn, user_name=name),
            lambda arn: backend.detach_user_policy(policy_arn=arn, user_name=name),
        )
        sync_inline(
            old,
            new,
            lambda policy, document: backend.put_user_policy(name, policy, document),
            lambda policy: backend.delete_user_policy(name, policy),
        )

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        """Remove what the template gave, then DeleteUser, which IAM refuses while the user still has
        access keys, a console password, an MFA device, or other groups and policies."""
        backend = iam_backend(account_id, region_name)
        cls._apply(backend, resource_name, template_props(cloudformation_json), {})
        user = backend.get_user(resource_name)
        blockers = [
            ("access keys", user.access_keys),
            ("login profile", getattr(user, "password", None)),
            ("MFA devices", user.mfa_devices),
            ("groups", backend.get_groups_for_user(resource_name)),
            ("policies", user.managed_policies or user.policies),
        ]
        for what, present in blockers:
            if present:
                raise delete_conflict(f"Cannot delete entity, must delete {what} first.")
        backend.delete_user(resource_name)


MODELS: tuple[type[CloudFormationModel], ...] = (
    IamGroupModel,
    IamUserToGroupAdditionModel,
    IamUserModel,
    IamRoleModel,
    IamManagedPolicyModel,
)


def install() -> None:
    """Make moto's CloudFormation use these models (idempotent)."""
    for cache in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cache.cache_clear()
    model_map = parsing.get_model_map()
    for model in MODELS:
        assert model_map[model.cloudformation_type()] is model, model
