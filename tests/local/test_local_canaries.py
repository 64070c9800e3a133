"""Canaries for the moto internals switchrole.local relies on: a moto upgrade that moves them fails here, loudly.

If one of these fails after upgrading moto, re-check ../shared/reference/local-aws-facts.md and the
module named in the failing test before touching anything else.
"""

from __future__ import annotations

import inspect

import moto
import pytest

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_moto_version_is_the_one_the_models_were_written_for() -> None:
    assert moto.__version__.startswith("5.2."), (
        f"moto {moto.__version__}: re-check switchrole/local (cfn_models, cfn_api, authz) against this release"
    )


def test_cloudformation_builds_its_model_map_from_cached_subclass_lists() -> None:
    """cfn_models registers by subclassing CloudFormationModel and clearing these caches."""
    from moto.cloudformation import parsing
    from moto.core.common_models import CloudFormationModel

    for name in ("get_model_list", "get_model_map", "get_name_type_map"):
        assert hasattr(getattr(parsing, name), "cache_clear"), name
    for method in ("cloudformation_type", "cloudformation_name_type", "create_from_cloudformation_json", "is_created"):
        assert hasattr(CloudFormationModel, method), method
    # what a Ref to a resource resolves to, and what the resource map asks of it (GroupResource provides both)
    source = inspect.getsource(parsing)
    assert "physical_resource_id" in source and "is_created()" in source


def test_moto_still_lacks_what_cfn_models_fill() -> None:
    """When moto learns these itself, drop the matching model from switchrole/local/cfn_models.py."""
    from moto.core.common_models import CloudFormationModel
    from moto.iam.models import Role, User

    from switchrole.local.cfn_models import IamGroupModel

    natives = [m for m in CloudFormationModel.__subclasses__() if m.cloudformation_type() == "AWS::IAM::Group"]
    assert natives in ([], [IamGroupModel]), "moto now has an AWS::IAM::Group model"
    assert "Groups" not in inspect.getsource(User.create_from_cloudformation_json), "moto now reads User.Groups"
    assert "ManagedPolicyArns" not in inspect.getsource(Role.create_from_cloudformation_json), (
        "moto now reads Role.ManagedPolicyArns"
    )


def test_registering_the_models_makes_them_win() -> None:
    from moto.cloudformation import parsing

    from switchrole.local import cfn_models

    cfn_models.install()
    for model in cfn_models.MODELS:
        assert parsing.get_model_map()[model.cloudformation_type()] is model


def test_iam_backend_api_used_by_the_models_and_authz() -> None:
    from moto.iam.models import IAMBackend, VirtualMfaDevice

    for method in (
        "create_group",
        "get_group",
        "delete_group",
        "add_user_to_group",
        "remove_user_from_group",
        "get_groups_for_user",
        "attach_group_policy",
        "detach_group_policy",
        "attach_role_policy",
        "detach_role_policy",
        "put_group_policy",
        "delete_group_policy",
    ):
        assert hasattr(IAMBackend, method), method
    assert "base32_string_seed" in inspect.getsource(VirtualMfaDevice.__init__)


def test_authorization_hook_points() -> None:
    """authz replaces IAMRequestBase.check_action_permitted and reads these attributes of the request."""
    from moto.core.exceptions import AccessDeniedError, _RESTError
    from moto.iam.access_control import IAMPolicy, IAMRequestBase, create_access_key

    assert list(inspect.signature(IAMRequestBase.check_action_permitted).parameters) == ["self", "resource"]
    source = inspect.getsource(IAMRequestBase)
    for attribute in ("self._access_key", "self._data", "self._action", "self.account_id", "def backend"):
        assert attribute in source, attribute
    assert hasattr(IAMRequestBase, "_raise_access_denied")
    assert "_policy_json" in inspect.getsource(IAMPolicy.__init__)
    assert "_owner_user_name" in inspect.getsource(create_access_key.__globals__["IAMUserAccessKey"])
    assert list(inspect.signature(_RESTError.__init__).parameters)[:3] == ["self", "error_type", "message"]
    assert issubclass(AccessDeniedError, _RESTError)


def test_session_hook_points() -> None:
    """authz makes GetSessionToken credentials belong to the calling user (moto returns one fixed key)."""
    import moto.iam.access_control as access_control
    import moto.iam.models as iam_models
    from moto.core import responses
    from moto.sts.models import STSBackend
    from moto.sts.responses import TokenResponse
    from moto.sts.utils import random_session_token

    assert list(inspect.signature(access_control.create_access_key).parameters) == [
        "account_id",
        "partition",
        "access_key_id",
        "headers",
    ]
    assert "create_access_key(" in inspect.getsource(access_control.IAMRequestBase.__init__)
    assert "from moto.iam.models import get_account_id_from" in inspect.getsource(
        responses.BaseResponse.get_current_account
    )
    assert list(inspect.signature(iam_models.get_account_id_from).parameters) == ["access_key"]
    assert list(inspect.signature(STSBackend.get_caller_identity).parameters)[:3] == ["self", "access_key_id", "region"]
    assert hasattr(TokenResponse, "get_session_token")
    assert random_session_token()


def test_moto_api_url_table_used_by_admin_api() -> None:
    from moto.moto_api._internal import urls

    assert isinstance(urls.url_paths, dict)
    assert "{0}/moto-api/reset-auth" in urls.url_paths


def test_access_key_fields_the_admin_api_backdates() -> None:
    """admin_api.age_access_keys moves AccessKey.create_date and replaces AccessKey.last_used, which the
    IAM responses (ListAccessKeys, GetAccessKeyLastUsed) read."""
    from moto.iam.models import AccessKey, AccessKeyLastUsed, User

    source = inspect.getsource(AccessKey.__init__)
    assert "self.create_date" in source and "self.last_used" in source
    assert list(inspect.signature(AccessKeyLastUsed.__init__).parameters) == ["self", "timestamp", "service", "region"]
    assert isinstance(AccessKeyLastUsed.timestamp, property)
    assert "self.access_keys" in inspect.getsource(User.__init__)


def test_cloudformation_api_used_by_cfn_api() -> None:
    from moto.cloudformation.responses import CloudFormationResponse

    assert hasattr(CloudFormationResponse, "_get_bool_param")
    from moto.cloudformation.models import Stack

    assert "enable_termination_protection" in inspect.getsource(Stack.__init__)
    native = getattr(CloudFormationResponse, "update_termination_protection", None)
    from switchrole.local.cfn_api import update_termination_protection

    assert native in (None, update_termination_protection), "moto now implements UpdateTerminationProtection"


def test_the_server_fills_the_gaps_end_to_end() -> None:
    """Through the real server: a template with a group, a member and a role with a managed policy."""
    import json

    import boto3

    from switchrole.local.server import LocalAws

    template = {
        "Resources": {
            "G": {"Type": "AWS::IAM::Group", "Properties": {"GroupName": "canaries", "Path": "/x/"}},
            "U": {"Type": "AWS::IAM::User", "Properties": {"UserName": "tweety", "Groups": [{"Ref": "G"}]}},
            "R": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": "Watcher",
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {"Effect": "Allow", "Principal": {"AWS": "111111111111"}, "Action": "sts:AssumeRole"}
                        ],
                    },
                    "ManagedPolicyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
                },
            },
        }
    }
    with LocalAws() as aws:
        kwargs = {
            "endpoint_url": aws.endpoint,
            "region_name": "us-east-1",
            "aws_access_key_id": "AKIACANARY",
            "aws_secret_access_key": "x",
        }
        cfn = boto3.client("cloudformation", **kwargs)
        cfn.create_stack(StackName="canary", TemplateBody=json.dumps(template))
        cfn.update_termination_protection(StackName="canary", EnableTerminationProtection=True)
        iam = boto3.client("iam", **kwargs)
        assert [g["GroupName"] for g in iam.list_groups_for_user(UserName="tweety")["Groups"]] == ["canaries"]
        attached = iam.list_attached_role_policies(RoleName="Watcher")["AttachedPolicies"]
        assert [p["PolicyName"] for p in attached] == ["ReadOnlyAccess"]
        assert cfn.describe_stacks(StackName="canary")["Stacks"][0]["EnableTerminationProtection"] is True
    assert aws.process is not None and aws.process.poll() is not None


def test_moto_still_gets_what_cfn_update_and_cfn_api_fix_wrong() -> None:
    """When one of these fails, moto fixed it itself: drop the matching part of cfn_update.py / cfn_api.py."""
    from moto.cloudformation import utils
    from moto.cloudformation.models import CloudFormationBackend, Stack
    from moto.cloudformation.parsing import ResourceMap
    from moto.cloudformation.responses import CloudFormationResponse

    update = inspect.getsource(ResourceMap.update)
    assert "DeletionPolicy" not in update, "moto's stack update now honours Retain"
    assert update.index('"Remove"') < update.index('"Add"'), "moto's stack update no longer deletes first"
    assert "to_delete" in inspect.getsource(CloudFormationBackend.delete_change_set)
    assert "ChangeSetNotFound" not in inspect.getsource(CloudFormationResponse.describe_change_set)
    assert "ChangeSetNotFound" not in inspect.getsource(CloudFormationBackend.describe_change_set)
    assert "resolved_parameters" in inspect.getsource(Stack.stack_parameters.fget)  # type: ignore[attr-defined]
    assert '"localhost" in template_url' in inspect.getsource(utils.get_stack_from_s3_url)
    from moto.core.common_models import CloudFormationModel

    from switchrole.local.cfn_models import IamUserToGroupAdditionModel

    kind = "AWS::IAM::UserToGroupAddition"
    natives = [m for m in CloudFormationModel.__subclasses__() if m.cloudformation_type() == kind]
    assert natives in ([], [IamUserToGroupAdditionModel]), f"moto now has an {kind} model"


def test_hook_points_used_by_cfn_update() -> None:
    from moto.cloudformation import parsing
    from moto.cloudformation.models import CloudFormationBackend

    for name in ("build_resource_diff", "load_mapping", "load_parameters", "load_conditions", "_delete_resource"):
        assert hasattr(parsing.ResourceMap, name), name
    assert list(inspect.signature(parsing.parse_and_update_resource).parameters) == [
        "logical_id", "resource_json", "resources_map", "account_id", "region_name",
    ]  # fmt: skip
    assert list(inspect.signature(parsing.parse_and_delete_resource).parameters)[:2] == [
        "resource_name",
        "resource_json",
    ]
    assert list(inspect.signature(CloudFormationBackend.execute_change_set).parameters) == [
        "self", "change_set_name", "stack_name",
    ]  # fmt: skip
    from moto.cloudformation.models import Stack

    assert hasattr(Stack, "_add_stack_event") and hasattr(Stack, "_create_output_map")


def test_moto_still_lacks_what_iam_api_fills() -> None:
    """When one of these fails, moto learned it: drop the matching part of switchrole/local/iam_api.py."""
    from moto.iam.models import IAMBackend

    from switchrole.local import iam_api

    assert "access_keys" not in inspect.getsource(IAMBackend.delete_user), "moto's DeleteUser now checks keys"
    assert "mfa_devices" not in inspect.getsource(IAMBackend.delete_user)
    assert iam_api._MOTO_DELETE_USER is not iam_api.delete_user
    from moto.iam.responses import IamResponse

    native = getattr(IamResponse, "list_service_specific_credentials", None)
    assert native in (None, iam_api.list_service_specific_credentials), "moto now lists service credentials"


def test_a_keys_account_is_found_without_creating_every_partitions_iam() -> None:
    """The emulator's replacement of moto's get_account_id_from (switchrole.local.authz) searches only the IAM
    backends that exist: moto's own created one per partition per account on the way, each parsing all of AWS's
    managed policies. It rests on moto keeping an account's partition backends as the entries of a dict."""
    from moto.core.base_backend import AccountSpecificBackend
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.iam.models import iam_backends

    from switchrole.local.authz import get_account_id_from

    assert issubclass(AccountSpecificBackend, dict)
    account = "210987654321"
    backend = iam_backends[account]["aws"]
    backend.create_user(region_name="us-east-1", user_name="someone")
    key = backend.create_access_key("someone")
    try:
        assert get_account_id_from(key.access_key_id) == account
        assert get_account_id_from("AKIANOSUCHKEY0000000") == DEFAULT_ACCOUNT_ID
        assert list(dict.keys(iam_backends[account])) == ["aws"]  # no other partition's IAM was made
    finally:
        del iam_backends[account]
