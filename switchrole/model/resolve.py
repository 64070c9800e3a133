"""From the checked file to the model: defaults applied, role kinds and grants resolved, the deployment mode."""

from __future__ import annotations

from typing import Any

from switchrole.model.organisation import (
    PARTITION,
    Deployment,
    Grant,
    Group,
    Hub,
    IdentityCenter,
    Organisation,
    OuTarget,
    Quotas,
    RoleKind,
    TargetAccount,
    User,
)
from switchrole.model.schema import OrganisationSpec, RoleKindSpec

# --------------------------------------------------------------------------- resolution


def resolve(spec: OrganisationSpec, source: str) -> Organisation:
    """Apply defaults and expand ``"*"`` grants; the input is already cross-checked."""
    kinds = {key: _resolve_kind(key, kind, spec) for key, kind in spec.roles.items()}
    accounts = tuple(
        TargetAccount(a.name, a.account_id, tuple(a.roles), a.region or spec.hub.region) for a in spec.accounts
    )
    groups = {
        name: Group(
            name,
            g.description,
            tuple(
                Grant(
                    grant.role,
                    tuple(a.name for a in accounts if grant.role in a.role_keys)
                    if grant.accounts == "*"
                    else tuple(grant.accounts),
                    grant.accounts == "*",
                    grant.until,
                )
                for grant in g.grants
            ),
            g.permission_set,
            g.identity_store_group,
        )
        for name, g in spec.groups.items()
    }
    return Organisation(
        hub=Hub(
            spec.hub.account_id,
            spec.hub.name,
            spec.hub.region,
            spec.hub.organization_id,
            spec.hub.alias,
            _resolve_identity_center(spec),
        ),
        quotas=Quotas(spec.quotas.trust_policy_chars, spec.quotas.role_managed_policies),
        role_kinds=kinds,
        accounts=accounts,
        groups=groups,
        users={name: User(name, tuple(u.groups), u.until, dict(u.tags)) for name, u in spec.users.items()},
        deployment=_resolve_deployment(spec),
        source=source,
    )


def _resolve_identity_center(spec: OrganisationSpec) -> IdentityCenter | None:
    ic = spec.hub.identity_center
    if ic is None:
        return None
    return IdentityCenter(ic.region, ic.mfa_at_sign_in, ic.start_url, ic.instance_arn, ic.account_id)


def _resolve_deployment(spec: OrganisationSpec) -> Deployment:
    d = spec.deployment
    return Deployment(
        mode=d.mode,
        account_id=d.account_id,
        region=d.region or spec.hub.region,
        call_as=d.call_as,
        organizational_unit_ids=tuple(d.organizational_unit_ids),
        ou_targets=tuple(OuTarget(t.ou, tuple(t.roles)) for t in d.ou_targets),
        max_concurrent_percentage=d.max_concurrent_percentage,
        failure_tolerance_percentage=d.failure_tolerance_percentage,
    )


def _resolve_kind(key: str, kind: RoleKindSpec, spec: OrganisationSpec) -> RoleKind:
    defaults = spec.defaults
    mfa_required = _first(kind.mfa and kind.mfa.required, defaults.mfa.required, True)
    return RoleKind(
        key=key,
        name=kind.name or key,
        path=kind.role_path or defaults.role_path,
        description=kind.description,
        managed_policy_arns=tuple(_managed_policy_arn(p) for p in kind.managed_policies),
        permissions_boundary=kind.permissions_boundary,
        inline_policies=dict(kind.inline_policies),
        max_session_duration=_first(kind.max_session_duration, defaults.max_session_duration),
        mfa_required=mfa_required,
        mfa_max_age_seconds=_first(kind.mfa and kind.mfa.max_age_seconds, defaults.mfa.max_age_seconds, 3600),
        external_id=kind.external_id,
        source_identity=kind.source_identity,
        session_tags=tuple(kind.session_tags),
        strict_trust=kind.trust == "strict",
        tags=dict(kind.tags),
        nag_acknowledgments=dict(kind.nag_acknowledgments),
        audit=kind.audit,
    )


def _first(*values: Any) -> Any:
    return next(v for v in values if v is not None)


def _managed_policy_arn(ref: str) -> str:
    """A bare name means an AWS-managed policy (``ReadOnlyAccess``, ``job-function/ViewOnlyAccess``)."""
    return ref if ref.startswith("arn:") else f"arn:{PARTITION}:iam::aws:policy/{ref}"
