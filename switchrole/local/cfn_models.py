"""CloudFormation resource models that moto 5.2 lacks or gets wrong, registered into its server.

moto's CloudFormation skips ``AWS::IAM::Group`` and ignores ``AWS::IAM::User.Groups``
and ``AWS::IAM::Role.ManagedPolicyArns`` (checked with moto 5.2.1 and 5.2.5):
deployed naively, hub users end up in no group and roles without their job
policies, and the local demo would prove nothing. These models fill exactly
those gaps and delegate everything else to moto's own models.

moto builds its type -> model map from ``CloudFormationModel.__subclasses__()``;
a later direct subclass with the same type wins, so defining these classes and
clearing moto's caches is the whole registration. That is also why the User and
Role models repeat their small delegating methods instead of sharing a base
class: only *direct* subclasses are found.
"""

from __future__ import annotations

from typing import Any

from moto.cloudformation import parsing
from moto.core.common_models import CloudFormationModel
from moto.iam.models import Role, User, iam_backends
from moto.utilities.utils import get_partition


def _backend(account_id: str, region_name: str) -> Any:
    return iam_backends[account_id][get_partition(region_name)]


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
    """``AWS::IAM::Group`` with ManagedPolicyArns and inline Policies."""

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
        properties = cloudformation_json.get("Properties", {})
        backend = _backend(account_id, region_name)
        group = backend.create_group(resource_name, properties.get("Path", "/"))
        for arn in properties.get("ManagedPolicyArns", []):
            backend.attach_group_policy(policy_arn=arn, group_name=group.name)
        for policy in properties.get("Policies", []):
            backend.put_group_policy(group.name, policy["PolicyName"], _as_json(policy["PolicyDocument"]))
        return GroupResource(group)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        backend = _backend(account_id, region_name)
        group = backend.get_group(resource_name)
        for arn in list(group.managed_policies):
            backend.detach_group_policy(policy_arn=arn, group_name=resource_name)
        for user in list(group.users):
            backend.remove_user_from_group(resource_name, user.name)
        for name in list(group.policies):
            backend.delete_group_policy(resource_name, name)
        backend.delete_group(resource_name)


class IamUserModel(CloudFormationModel):
    """``AWS::IAM::User``: moto's model, plus the ``Groups`` memberships it ignores."""

    @staticmethod
    def cloudformation_name_type() -> str:
        return User.cloudformation_name_type()

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::IAM::User"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return bool(User.has_cfn_attr(attr))

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        user = User.create_from_cloudformation_json(
            resource_name, cloudformation_json, account_id, region_name, **kwargs
        )
        backend = _backend(account_id, region_name)
        for group_name in cloudformation_json.get("Properties", {}).get("Groups", []):
            backend.add_user_to_group(group_name, user.name)
        return user

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        backend = _backend(account_id, region_name)
        for group in backend.get_groups_for_user(resource_name):
            backend.remove_user_from_group(group.name, resource_name)
        User.delete_from_cloudformation_json(resource_name, cloudformation_json, account_id, region_name)


class IamRoleModel(CloudFormationModel):
    """``AWS::IAM::Role``: moto's model, plus the ``ManagedPolicyArns`` it ignores."""

    @staticmethod
    def cloudformation_name_type() -> str:
        return Role.cloudformation_name_type()

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::IAM::Role"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return bool(Role.has_cfn_attr(attr))

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        role = Role.create_from_cloudformation_json(
            resource_name, cloudformation_json, account_id, region_name, **kwargs
        )
        backend = _backend(account_id, region_name)
        for arn in cloudformation_json.get("Properties", {}).get("ManagedPolicyArns", []):
            backend.attach_role_policy(policy_arn=arn, role_name=role.name)
        return role

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        backend = _backend(account_id, region_name)
        for role in list(backend.roles.values()):
            if role.name == resource_name:
                for arn in list(role.managed_policies):
                    backend.detach_role_policy(policy_arn=arn, role_name=resource_name)
        Role.delete_from_cloudformation_json(resource_name, cloudformation_json, account_id, region_name)


MODELS: tuple[type[CloudFormationModel], ...] = (IamGroupModel, IamUserModel, IamRoleModel)


def _as_json(document: Any) -> str:
    import json

    return document if isinstance(document, str) else json.dumps(document)


def install() -> None:
    """Make moto's CloudFormation use these models (idempotent)."""
    for cache in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cache.cache_clear()
    model_map = parsing.get_model_map()
    for model in MODELS:
        assert model_map[model.cloudformation_type()] is model, model
