"""Inputs that used to widen a grant, crash synth or fail at deploy: each is refused at validate, or now works."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from factories import EXAMPLE, build, generated, rename_kind, variant
from typer.testing import CliRunner

from switchrole.cli.main import app
from switchrole.client.console import switch_role_url
from switchrole.iam.policies import grant_policies, trust_policy
from switchrole.model.errors import ConfigError
from switchrole.model.loading import loads

runner = CliRunner()
STACKSETS = EXAMPLE.parent / "examples" / "stacksets.yaml"


def problems(text: str) -> list[str]:
    try:
        loads(text, "accounts.yaml")
    except ConfigError as exc:
        return exc.lines
    return []


def refused(change: Any, words: str) -> None:
    lines = problems(variant(change))
    assert any(words in line for line in lines), lines


# --------------------------------------------------------------------------- inputs that widened access


def test_a_comma_in_a_user_name_is_refused() -> None:
    """StackSets passes strict-trust grantees as a CommaDelimitedList: "mallory,x" would admit user/mallory."""
    refused(lambda d: d["users"].__setitem__("mallory,x", {"groups": ["platform-admins"]}), "not a valid user name")
    refused(lambda d: d["groups"].__setitem__("a,b", {"grants": []}), "not a valid group name")
    refused(lambda d: d["roles"]["ReadOnly"].__setitem__("name", "Read,Only"), "not a valid role name")


@pytest.mark.parametrize("path", ["/sw*/", "/sw?/", "/a//", "/a b/", "/x=y/"])
def test_role_paths_stay_literal_in_an_arn_pattern(path: str) -> None:
    """`/sw*/` made the grant `arn:aws:iam::*:role/sw*/ReadOnly`: ReadOnly under any sw... path."""
    refused(lambda d: d["defaults"].__setitem__("role_path", path), "not a valid role path")


def test_session_tags_name_the_keys_callers_may_set() -> None:
    refused(lambda d: d["roles"]["ReadOnly"].__setitem__("session_tags", True), "list the tag keys callers may set")
    org = loads(variant(lambda d: d["roles"]["ReadOnly"].__setitem__("session_tags", ["team"])))
    readonly = org.role_kinds["ReadOnly"]
    trust = trust_policy(org, org.account("shop-prod"), readonly)["Statement"][0]
    grant = next(s for s in grant_policies(org, "readers")[0]["Statement"] if s["Sid"] == "AssumeReadOnly")
    for statement in (trust, grant):  # both sides of the switch allow sts:TagSession for these keys only
        assert "sts:TagSession" in statement["Action"]
        assert statement["Condition"]["ForAllValues:StringEquals"] == {"aws:TagKeys": ["team"]}


# --------------------------------------------------------------------------- accepted by validate, then failed


@pytest.mark.parametrize(
    ("where", "value", "words"),
    [
        (("users",), "бob", "not a valid user name"),  # Cyrillic look-alike
        (("groups",), "léa-team", "not a valid group name"),
        (("roles", "ReadOnly", "name"), "Réader", "not a valid role name"),
        (("accounts", 0, "account_id"), "２２２２２２２２２２２２", "12 digits"),  # full-width digits
        (("roles", "ReadOnly", "description"), "café ☕", "printable characters only"),
        (("roles", "ReadOnly", "description"), "bell \x07", "printable characters only"),
        (("roles", "ReadOnly", "tags"), {"AWS:owner": "x"}, "reserved"),
        (("roles", "ReadOnly", "tags"), {"Switchrole:role-kind": "Admin"}, "reserved"),
        (("roles", "ReadOnly", "permissions_boundary"), "arn:awsfoo:iam::aws:policy//../x", "not an IAM policy ARN"),
        (("roles", "ReadOnly", "permissions_boundary"), "arn:aws:iam::aws:policy/../x", "not an IAM policy ARN"),
    ],
)
def test_what_iam_or_cloudformation_would_reject_is_refused(where: tuple[Any, ...], value: Any, words: str) -> None:
    def change(data: Any) -> None:
        if where in (("users",), ("groups",)):
            data[where[0]][value] = {"groups": []} if where == ("users",) else {"grants": []}
            return
        node = data
        for part in where[:-1]:
            node = node[part]
        node[where[-1]] = value

    refused(change, words)


def test_a_role_kind_takes_48_tags_because_iam_allows_50_and_switchrole_adds_2() -> None:
    """49 tags validated, then the role (51 tags with switchrole's own) failed at deploy."""

    def tags(n: int) -> Any:
        return lambda d: d["roles"]["ReadOnly"].__setitem__("tags", {f"k{i}": "v" for i in range(n)})

    org = loads(variant(tags(48)))
    assert len(org.role_kinds["ReadOnly"].role_tags) == 50  # what the role is created with
    lines = problems(variant(tags(49)))
    assert any("roles.ReadOnly.tags: 49 tags; IAM allows 50 on a role" in p and "at most 48" in p for p in lines), lines


def test_tag_keys_differing_only_by_case_are_refused() -> None:
    """IAM tag keys are case-insensitive: {Owner: a, owner: b} is one key given twice."""
    lines = problems(variant(lambda d: d["roles"]["ReadOnly"].__setitem__("tags", {"Owner": "a", "owner": "b"})))
    assert any("roles.ReadOnly.tags.owner: tag key 'owner' differs from 'Owner' only by case" in p for p in lines)
    assert problems(variant(lambda d: d["roles"]["ReadOnly"].__setitem__("tags", {"Owner": "a", "Owner2": "b"}))) == []


def test_a_latin1_description_is_what_iam_allows() -> None:
    assert not problems(variant(lambda d: d["roles"]["ReadOnly"].__setitem__("description", "Lecture seule, équipe")))


@pytest.mark.parametrize(
    ("field", "edge", "words"),
    [
        ("user", 64, "at most 64"),
        ("role name", 64, "at most 64"),
        ("group", 114, "at most 114 for the group name"),
        ("description", 1000, "at most 1000"),
        ("tag key", 128, "at most 128"),
        ("tag value", 256, "at most 256"),
        ("external id", 1224, "at most 1224"),
        ("account name", 64, "at most 64"),
        ("inline policy name", 128, "policy name"),
        ("managed policy name", 128, "roles.ReadOnly.managed_policies[0]: policy name 'xxx"),
        ("managed policy ARN", 128, "is 129 characters; IAM allows at most 128"),
        ("boundary policy name", 128, "roles.ReadOnly.permissions_boundary: policy name 'xxx"),
        ("boundary policy path", 512, "policy path '/xxx"),
    ],
)
def test_every_length_limit_at_the_edge_and_one_past(field: str, edge: int, words: str) -> None:
    def set_length(n: int) -> Any:
        def change(data: Any) -> None:
            x = "x" * n
            if field == "user":
                data["users"][x] = {"groups": []}
            elif field == "role name":
                data["roles"]["Auditor"]["name"] = x
                data["roles"]["Auditor"]["role_path"] = "/"
            elif field == "group":
                data["groups"][x] = {"grants": []}
            elif field == "description":
                data["roles"]["ReadOnly"]["description"] = x
            elif field == "tag key":
                data["roles"]["ReadOnly"]["tags"] = {x: "v"}
            elif field == "tag value":
                data["roles"]["ReadOnly"]["tags"] = {"k": x}
            elif field == "external id":
                data["roles"]["Auditor"]["external_id"] = x
            elif field == "account name":
                data["accounts"][0]["name"] = x
                for group in data["groups"].values():
                    for grant in group["grants"]:
                        if isinstance(grant["accounts"], list):
                            grant["accounts"] = [x if a == "shop-prod" else a for a in grant["accounts"]]
            elif field == "inline policy name":
                document = {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}],
                }
                data["roles"]["ReadOnly"]["inline_policies"] = {x: document}
            elif field == "managed policy name":
                data["roles"]["ReadOnly"]["managed_policies"] = [x]
            elif field == "managed policy ARN":
                data["roles"]["ReadOnly"]["managed_policies"] = [f"arn:aws:iam::222222222222:policy/team/{x}"]
            elif field == "boundary policy name":
                data["roles"]["ReadOnly"]["permissions_boundary"] = x
            elif field == "boundary policy path":  # the path is /<n - 2 characters>/
                data["roles"]["ReadOnly"]["permissions_boundary"] = f"arn:aws:iam::aws:policy/{x[2:]}/Boundary"

        return change

    assert problems(variant(set_length(edge))) == []
    assert any(words in line for line in problems(variant(set_length(edge + 1)))), problems(
        variant(set_length(edge + 1))
    )


def test_a_user_name_has_at_least_2_characters() -> None:
    """The generated profiles pass the user name as the role session name and source identity (2-64 characters):
    a user `a` validated, then every `assume` of theirs was refused."""
    assert problems(variant(lambda d: d["users"].__setitem__("ab", {"groups": []}))) == []
    lines = problems(variant(lambda d: d["users"].__setitem__("a", {"groups": []})))
    assert any("users.a: 'a' is 1 character; a user name needs at least 2" in p and "session name" in p for p in lines)


@pytest.mark.parametrize("where", ["value", "key"])
def test_inline_policies_take_iams_policy_characters_only(where: str) -> None:
    """IAM's policy document pattern is [\\t\\n\\r\\u0020-\\u00FF]: U+00FF is the last character it takes."""

    def policy(char: str) -> Any:
        entry = {f"aws:PrincipalTag/team{char}": "x"} if where == "key" else {"s3:prefix": ["home/", f"caf{char}"]}
        statement = {"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": {"StringEquals": entry}}
        document = {"Version": "2012-10-17", "Statement": [statement]}
        return lambda d: d["roles"]["ReadOnly"].__setitem__("inline_policies", {"Fence": document})

    assert problems(variant(policy("\u00ff"))) == []
    lines = problems(variant(policy("\u0100")))
    field = (
        "Statement[0].Condition.StringEquals.aws:PrincipalTag/teamĀ: the key has 'Ā' (U+0100)"
        if where == "key"
        else "Statement[0].Condition.StringEquals.s3:prefix[1]: the value has 'Ā' (U+0100)"
    )
    assert any(f"roles.ReadOnly.inline_policies.Fence: {field}; IAM allows only" in p for p in lines), lines


@pytest.mark.parametrize(
    "value", [{"Ref": "AWS::AccountId"}, [{"Fn::ImportValue": "x"}], []], ids=["Ref", "in a list", "empty list"]
)
def test_condition_values_are_plain_values(value: Any) -> None:
    """A map as a condition value reached the template as a CloudFormation function ({Ref: ...}), which the
    reviewed file does not show as the value IAM will see."""

    def policy(expected: Any) -> Any:
        condition = {"StringEquals": {"aws:ResourceAccount": expected}}
        statement = {"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": condition}
        document = {"Version": "2012-10-17", "Statement": [statement]}
        return lambda d: d["roles"]["ReadOnly"].__setitem__("inline_policies", {"Fence": document})

    assert problems(variant(policy(["222222222222", 333333333333, True]))) == []
    lines = problems(variant(policy(value)))
    assert any(
        "inline_policies.Fence: Statement[0]: Condition.StringEquals.aws:ResourceAccount must be a string" in p
        for p in lines
    ), lines


def test_duplicate_ou_targets_are_refused() -> None:
    text = STACKSETS.read_text()
    line = "    - {ou: ou-exam-sandboxes, roles: [ReadOnly, Admin]}"
    lines = problems(text.replace(line, f"{line}\n{line}"))
    assert any("deployment.ou_targets[1].ou: OU ou-exam-sandboxes is listed twice" in p for p in lines), lines


def test_console_display_names_are_cut_to_64_characters() -> None:
    org = build(generated(1, roles={"A" * 60: {"managed_policies": ["ReadOnlyAccess"], "role_path": "/"}}))
    (account,) = org.accounts
    url = switch_role_url(account, org.role_kinds["A" * 60])
    display = unquote(url.split("displayName=")[1])
    assert len(display) == 64 and display == f"acct-0001-{'A' * 27}…{'A' * 26}"  # the account stays whole


def test_stacksets_links_of_long_keys_stay_apart_and_keep_their_account_token() -> None:
    """The StackSets link names a role ``${AWS::AccountId}-<key>``: keys alike at both ends are refused, and a
    key containing ACCOUNT is not taken for the account id's placeholder."""
    from switchrole.client.console import portable_switch_role_url

    key = "A" * 26 + "{}" + "A" * 26  # 53 characters: 51 fit after "<12 digits>-"
    roles = {key.format(c): {"managed_policies": ["ReadOnlyAccess"], "role_path": "/"} for c in "BC"}
    data = generated(1, roles=roles)
    stacksets = {
        **data,
        "hub": {**data["hub"], "organization_id": "o-abcdefghij"},
        "deployment": {"mode": "stacksets", "account_id": "999999999999", "organizational_unit_ids": ["r-abcd"]},
    }
    with pytest.raises(ConfigError) as refused:
        build(stacksets)
    (line,) = refused.value.lines
    assert f"<account id>-{'A' * 25}…{'A' * 25}, as it names roles.{key.format('B')}" in line, line
    build(data)  # stacks mode names each role by its account name: nothing to refuse
    org = build(generated(1, roles={"ACCOUNTAdmin": {"managed_policies": ["ReadOnlyAccess"]}}))
    url = portable_switch_role_url(org.role_kinds["ACCOUNTAdmin"])
    assert url.endswith("&roleName=switchrole/ACCOUNTAdmin&displayName=${AWS::AccountId}-ACCOUNTAdmin"), url


# --------------------------------------------------------------------------- generated names never collide


@pytest.mark.parametrize("reserved", ["BootstrapVersion", "CheckBootstrapVersion", "CDKMetadata", "Exports"])
def test_role_names_the_cdk_uses_at_a_stack_root_are_refused(reserved: str) -> None:
    """A role's construct id is its name, at the stack root: `CheckBootstrapVersion` crashed synth ("There is
    already a Construct with name ..."), `BootstrapVersion` made the CDK silently drop its bootstrap check."""
    lines = problems(variant(lambda d: d["roles"]["Auditor"].__setitem__("name", reserved)))
    assert any(
        line.startswith("accounts.yaml:") and "roles.Auditor.name:" in line and "reserved by the AWS CDK" in line
        for line in lines
    ), lines

    def key_only(data: Any) -> None:
        rename_kind(data, "Auditor", reserved)
        del data["roles"][reserved]["name"]

    as_key = problems(variant(key_only))
    assert any(f"roles.{reserved}: role name {reserved!r} is reserved by the AWS CDK" in p for p in as_key), as_key
    # a kind key may be anything once `name:` gives the role another name
    assert problems(variant(lambda d: rename_kind(d, "Auditor", reserved))) == []
    assert problems(variant(lambda d: d["roles"]["Auditor"].__setitem__("name", reserved.lower()))) == []


def test_validate_refuses_a_reserved_role_name_before_synthesis(tmp_path: Path) -> None:
    config = tmp_path / "accounts.yaml"
    config.write_text(variant(lambda d: d["roles"]["Auditor"].__setitem__("name", "CheckBootstrapVersion")))
    result = runner.invoke(app, ["validate", "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"{config}:") and "roles.Auditor.name: role name 'CheckBootstrapVersion' is reserved" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["accounts.yaml"]


HUB_ROOT_LOOKALIKES = ("BootstrapVersion", "CheckBootstrapVersion", "CDKMetadata", "Exports", "RequireMfa")


@pytest.fixture(scope="module")
def colliding(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Role kinds named like what switchrole generates next to them, in both deployment modes; hub users and
    groups named like the ids the CDK and switchrole use at the hub stack's root."""
    from switchrole.infra.assembly import synth

    roles = {
        "Admin": {"managed_policies": ["AdministratorAccess"], "trust": "strict"},
        "AdminRoleArn": {"managed_policies": ["ReadOnlyAccess"]},
        "AdminSwitchRoleUrl": {"managed_policies": ["ReadOnlyAccess"]},
        "AdminPrincipals": {"managed_policies": ["ReadOnlyAccess"], "trust": "strict"},
        "AdminAdmitsNobody": {"managed_policies": ["ReadOnlyAccess"]},
    }
    grants: dict[str, list[dict[str, Any]]] = {"admins": [{"role": "Admin", "accounts": "*"}]}
    users: dict[str, dict[str, Any]] = {"amy": {"groups": ["admins"]}}
    for name in HUB_ROOT_LOOKALIKES:
        grants[name] = [{"role": "AdminRoleArn", "accounts": "*"}]
        users[name] = {"groups": [name], "until": "2099-01-01T00:00:00Z"}
    data = generated(1, roles=roles, grants=grants, users=users)
    deployment = {"mode": "stacksets", "account_id": "999999999999", "organizational_unit_ids": ["r-abcd"]}
    stacksets = {**data, "hub": {**data["hub"], "organization_id": "o-abcdefghij"}, "deployment": deployment}
    templates: dict[str, dict[str, Any]] = {}
    for label, spec in (("stacks", data), ("stacksets", stacksets)):
        out = tmp_path_factory.mktemp(label) / "cdk.out"
        for stack in synth(build(spec), out):
            templates[f"{label}:{stack.stack_name}"] = json.loads(stack.template.read_text())
    return templates


def test_kind_keys_named_like_generated_outputs_synthesize(colliding: dict[str, dict[str, Any]]) -> None:
    """ "There is already a Construct with name 'AdminRoleArn'" crashed synth."""
    outputs = colliding["stacks:SwitchRole-acct-0001"]["Outputs"]
    assert {
        "AdminRoleArn",
        "AdminRoleArnRoleArn",
        "AdminSwitchRoleUrlRoleArn",
        "AdminSwitchRoleUrlSwitchRoleUrl",
    } <= set(outputs)
    roles = [r["Properties"]["RoleName"] for r in colliding["stacks:SwitchRole-acct-0001"]["Resources"].values()]
    assert sorted(roles) == ["Admin", "AdminAdmitsNobody", "AdminPrincipals", "AdminRoleArn", "AdminSwitchRoleUrl"]


@pytest.mark.parametrize("mode", ["stacks", "stacksets"])
def test_hub_users_and_groups_cannot_take_a_root_id_of_the_hub_stack(
    colliding: dict[str, dict[str, Any]], mode: str
) -> None:
    """Their construct ids are User-<name> and Group-<name>: a user or group may have any name the CDK uses."""
    hub = colliding[f"{mode}:SwitchRole-Hub"]
    assert hub["Parameters"]["BootstrapVersion"]["Type"] == "AWS::SSM::Parameter::Value<String>"
    assert "CheckBootstrapVersion" in hub["Rules"]
    resources = hub["Resources"].values()
    for kind, field in (("AWS::IAM::User", "UserName"), ("AWS::IAM::Group", "GroupName")):
        names = {r["Properties"][field] for r in resources if r["Type"] == kind}
        assert set(HUB_ROOT_LOOKALIKES) <= names, names
    policies = {r["Properties"]["ManagedPolicyName"] for r in resources if r["Type"] == "AWS::IAM::ManagedPolicy"}
    assert {"switchrole-require-mfa", "switchrole-RequireMfa-1", "switchrole-RequireMfa-until"} <= policies


def test_kind_keys_named_like_generated_parameters_synthesize_in_stacksets_mode(
    colliding: dict[str, dict[str, Any]],
) -> None:
    stack_sets = [
        json.loads(r["Properties"]["TemplateBody"])
        for r in colliding["stacksets:SwitchRole-StackSets"]["Resources"].values()
        if r["Type"] == "AWS::CloudFormation::StackSet"
    ]
    (body,) = stack_sets
    assert {"AdminPrincipals", "AdminPrincipalsPrincipals"} <= set(body["Parameters"])
    assert {"AdminAdmitsNobody", "AdminPrincipalsAdmitsNobody"} <= set(body["Conditions"])


# --------------------------------------------------------------------------- the emulator's shell exports


def test_local_credentials_are_checked_and_quoted(monkeypatch: pytest.MonkeyPatch) -> None:
    from switchrole.local import server

    answer = {"AccessKeyId": "AKIAEXAMPLEKEY123456", "SecretAccessKey": "$(touch /tmp/pwned)"}
    monkeypatch.setattr(server, "admin_get", lambda *args: answer)
    args = ["local", "credentials", "--user", "alice", "--endpoint", "http://127.0.0.1:1", "--config", str(EXAMPLE)]
    result = runner.invoke(app, args)
    assert result.exit_code == 1 and "not an access key" in result.stderr
    answer["SecretAccessKey"] = "abc/DEF+ghi=" * 3
    result = runner.invoke(app, args)
    assert result.exit_code == 0
    assert "export AWS_SECRET_ACCESS_KEY=abc/DEF+ghi=abc/DEF+ghi=abc/DEF+ghi=\n" in result.stdout


def test_session_tags_carry_only_the_callers_own_values_never_transitive_never_a_role_tag() -> None:
    """Issue 19: session tags were the caller's to choose (any value, transitive at will), and a session tag
    overrides a role tag of the same key, so `session_tags` could not safely feed attribute-based policies."""
    from switchrole.iam.policies import checked_grant_policies, trust_policy

    def tagged(data: Any) -> None:
        data["roles"]["ReadOnly"]["session_tags"] = ["team"]
        data["users"]["carol"]["tags"] = {"team": "data"}

    org = loads(variant(tagged))
    account = org.account("shop-prod")
    kind = org.role_kinds["ReadOnly"]
    trust_statements = trust_policy(org, account, kind)["Statement"]
    hub_statements = [s for doc in checked_grant_policies(org, "readers") for s in doc["Statement"]]
    for statement in [*trust_statements, *hub_statements]:
        if "sts:TagSession" in statement["Action"]:
            conditions = statement["Condition"]
            assert conditions["StringEqualsIfExists"] == {"aws:RequestTag/team": "${aws:PrincipalTag/team}"}
            assert conditions["Null"] == {"sts:TransitiveTagKeys": "true"}
            assert conditions["ForAllValues:StringEquals"] == {"aws:TagKeys": ["team"]}
    assert org.users["carol"].tags == {"team": "data"}
    refused(
        lambda d: (tagged(d), d["roles"]["ReadOnly"].__setitem__("tags", {"Team": "platform"})),
        "roles.ReadOnly.session_tags[0]: 'team' is also a tag of the role",
    )
