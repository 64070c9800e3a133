"""``deployment.mode: stacksets``: one stack, in the management or delegated-administrator account,
with service-managed StackSets that put the roles into every target account."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudformation as cloudformation
from constructs import Construct

from switchrole.iam.policies import (
    POLICY_VERSION,
    PolicyError,
    nobody_trust_document,
    permission_set_statement,
    trust_document,
)
from switchrole.infra.limits import MAX_TEMPLATE_BODY
from switchrole.infra.stacks.target_account_stack import add_roles
from switchrole.infra.stacksets import (
    STACKSETS_STACK_NAME,
    StackSetPlan,
    describe_role_keys,
    has_permission_sets_parameter,
    ou_exclusions,
    permission_sets_parameter,
    plan,
    principals_parameter,
)
from switchrole.model.organisation import Organisation, RoleKind

NO_VALUE = {"Ref": "AWS::NoValue"}  # a statement left out by Fn::If


class RoleSetStack(cdk.Stack):
    """An account-agnostic template with one role per kind; strict-trust grantees are parameters."""

    def __init__(self, scope: Construct, construct_id: str, *, org: Organisation, role_keys: tuple[str, ...]) -> None:
        super().__init__(
            scope,
            construct_id,
            synthesizer=cdk.BootstraplessSynthesizer(),
            description=describe_role_keys(
                "switchrole: ", role_keys, f" roles that hub account {org.hub.name} may switch into"
            ),
        )
        trust: dict[str, Any] = {}
        generated = Construct(self, "switchrole parameters")  # an id no role name (construct id) can take
        for key in role_keys:
            kind = org.role_kinds[key]
            sets = self.permission_sets(generated, org, kind) if has_permission_sets_parameter(org, key) else None
            if not kind.strict_trust:
                statements = trust_document(org, kind, None)["Statement"] + ([] if sets is None else [sets[1]])
                trust[key] = {"Version": POLICY_VERSION, "Statement": statements}
                continue
            name = principals_parameter(key)
            parameter = self.list_parameter(
                generated, name, f"Hub users {key} admits (trust: strict); empty: admits nobody"
            )
            no_users = self.empty(generated, f"{key}AdmitsNobody" if sets is None else f"{key}AdmitsNoUser", parameter)
            users = trust_document(org, kind, {"Ref": name})
            if sets is None:
                trust[key] = cdk.Fn.condition_if(no_users.logical_id, nobody_trust_document(org, kind), users)
                continue
            no_sets, statement = sets
            nobody = cdk.CfnCondition(
                generated,
                f"{key}AdmitsNobody",
                expression=cdk.Fn.condition_and(no_users.expression, no_sets.expression),  # type: ignore[arg-type]
            )
            nobody.override_logical_id(f"{key}AdmitsNobody")
            user_statement = cdk.Fn.condition_if(no_users.logical_id, NO_VALUE, users["Statement"][0])
            either = {"Version": users["Version"], "Statement": [user_statement, statement]}
            trust[key] = cdk.Fn.condition_if(nobody.logical_id, nobody_trust_document(org, kind), either)
        add_roles(self, org, None, role_keys, lambda kind: trust[kind.key])

    @staticmethod
    def list_parameter(scope: Construct, name: str, description: str) -> cdk.CfnParameter:
        """A ``CommaDelimitedList`` parameter whose logical id is ``name`` (the plan's overrides name it)."""
        parameter = cdk.CfnParameter(scope, name, type="CommaDelimitedList", description=description)
        parameter.override_logical_id(name)
        return parameter

    @staticmethod
    def empty(scope: Construct, name: str, parameter: cdk.CfnParameter) -> cdk.CfnCondition:
        """A condition: the list ``parameter`` is empty (its elements joined are "")."""
        condition = cdk.CfnCondition(
            scope, name, expression=cdk.Fn.condition_equals(cdk.Fn.join("", parameter.value_as_list), "")
        )
        condition.override_logical_id(name)
        return condition

    def permission_sets(self, scope: Construct, org: Organisation, kind: RoleKind) -> tuple[cdk.CfnCondition, Any]:
        """The ``<kind>PermissionSets`` parameter (the permission set role patterns the kind admits here), a
        condition that it is empty, and the trust statement admitting them (left out when it is empty)."""
        name = permission_sets_parameter(kind.key)
        what = f"Identity Center permission set roles {kind.key} admits (ArnLike patterns); empty: none"
        parameter = self.list_parameter(scope, name, what)
        none = self.empty(scope, f"{kind.key}AdmitsNoPermissionSet", parameter)
        statement = permission_set_statement(org, kind, {"Ref": name})
        return none, cdk.Fn.condition_if(none.logical_id, NO_VALUE, statement)


def role_set_templates(org: Organisation, plans: list[StackSetPlan]) -> dict[tuple[str, ...], dict[str, Any]]:
    """Synthesize each distinct role template once, in a throw-away app with the same cdk-nag checks."""
    from switchrole.infra import nag

    app = cdk.App(analytics_reporting=False, post_cli_context=nag.CONTEXT)
    nag.add_checks(app)
    ids = {}
    for number, role_keys in enumerate(dict.fromkeys(p.role_keys for p in plans), start=1):
        ids[role_keys] = f"RoleSet{number}"
        RoleSetStack(app, ids[role_keys], org=org, role_keys=role_keys)
    assembly = app.synth()
    nag.check(Path(app.outdir))  # a finding in a role template: the same answer as in stacks mode
    return {keys: assembly.get_stack_by_name(stack_id).template for keys, stack_id in ids.items()}


class StackSetsStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, *, org: Organisation, **kwargs: Any) -> None:
        deployment = org.deployment
        super().__init__(
            scope,
            construct_id,
            stack_name=STACKSETS_STACK_NAME,
            env=cdk.Environment(account=deployment.account_id, region=deployment.region),
            description=f"switchrole: StackSets that create the switch roles in {len(org.accounts)} target accounts",
            **kwargs,
        )
        self.plans = plan(org)
        self.templates = role_set_templates(org, self.plans)
        self.stack_sets: dict[str, cloudformation.CfnStackSet] = {}
        for stack_set in self.plans:
            body = json.dumps(self.templates[stack_set.role_keys], separators=(",", ":"))
            if len(body.encode()) > MAX_TEMPLATE_BODY:
                raise PolicyError(
                    f"StackSet {stack_set.name}: template body {len(body):,} bytes > {MAX_TEMPLATE_BODY:,}"
                )
            self.stack_sets[stack_set.name] = cloudformation.CfnStackSet(
                self,
                stack_set.name,
                stack_set_name=stack_set.name,
                description=describe_role_keys("switchrole roles: ", stack_set.role_keys),
                permission_model="SERVICE_MANAGED",
                call_as=deployment.call_as,
                auto_deployment=cloudformation.CfnStackSet.AutoDeploymentProperty(
                    enabled=stack_set.ou is not None, retain_stacks_on_account_removal=False if stack_set.ou else None
                ),
                capabilities=["CAPABILITY_NAMED_IAM"],
                managed_execution={"Active": True},
                operation_preferences=cloudformation.CfnStackSet.OperationPreferencesProperty(
                    max_concurrent_percentage=deployment.max_concurrent_percentage,
                    failure_tolerance_percentage=deployment.failure_tolerance_percentage,
                    region_concurrency_type="PARALLEL",
                ),
                template_body=body,
                stack_instances_group=[self._instances(org, stack_set, group) for group in stack_set.instances],
            )

    @staticmethod
    def _instances(
        org: Organisation, stack_set: StackSetPlan, group: Any
    ) -> cloudformation.CfnStackSet.StackInstancesProperty:
        deployment = org.deployment
        if stack_set.ou is not None:
            # the hub is never a target, even when the OU holds it (or is the root): DIFFERENCE deploys to every
            # account of the OU except those listed, and the deployment account is excluded with it
            targets = cloudformation.CfnStackSet.DeploymentTargetsProperty(
                organizational_unit_ids=[stack_set.ou],
                accounts=list(ou_exclusions(org)),
                account_filter_type="DIFFERENCE",
            )
        else:
            targets = cloudformation.CfnStackSet.DeploymentTargetsProperty(
                organizational_unit_ids=list(deployment.organizational_unit_ids),
                accounts=list(group.account_ids),
                account_filter_type="INTERSECTION",
            )
        return cloudformation.CfnStackSet.StackInstancesProperty(
            deployment_targets=targets,
            regions=[deployment.region],
            parameter_overrides=[
                cloudformation.CfnStackSet.ParameterProperty(parameter_key=k, parameter_value=v)
                for k, v in group.parameters
            ]
            or None,
        )
