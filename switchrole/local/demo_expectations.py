"""The rows a demo round expects: every switch the file still grants, and the refusals that must hold.

Picked from the file alone, so that they hold for any organisation: for each granted switch a row that must
pass; then the switches IAM must refuse (no grant, no or a wrong MFA code, an MFA session too old, a grant for
another account, a missing external id or source identity, a hub administrator against strict trust or the CDK's
deploy role, a role admitting nobody), the expired ones, and after a change every access the review lists as
lost. Each refusal names what refuses it (the hub, the trust, a Deny), which the table checks against the
emulator's reason. Apart from :mod:`switchrole.local.demo`, which deploys and runs them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from switchrole.client.switch import SmokeRequest, request_for, request_for_permission_set
from switchrole.infra.bootstrap import bootstrap_role_arn
from switchrole.local import demo_identity_center
from switchrole.local.authz import STRICT
from switchrole.local.demo_checks import (
    BY_HUB,
    BY_MFA_POLICY,
    BY_NO_ROLE,
    BY_TRUST,
    BY_TRUST_DENY,
    BY_USER_DENY,
    HUB_ADMIN,
    NO_GRANT,
    Check,
    Identity,
)
from switchrole.model.expiry import ended
from switchrole.model.organisation import Organisation, RoleKind, TargetAccount
from switchrole.review.access_diff import diff as access_diff


@dataclass(frozen=True)
class Expectations:
    """The rows for the demo's ``identities`` (every hub user's, the hub administrator's and the ungranted
    user's; their MFA codes sign the rows) under the emulator's ``mfa_reading``."""

    identities: dict[str, Identity]
    mfa_reading: str = STRICT

    def checks(self, org: Organisation, now: datetime) -> list[Check]:
        """Every switch IAM still allows at ``now`` (temporary grants included), then the refusals."""
        checks: list[Check] = []
        for user in org.users:
            for account, kind in org.user_roles(user, now=now):
                request = request_for(org, account, kind, user)
                token = self.identities[user].token if request.mfa_required else None
                checks.append(Check(user, request, True, "granted", token))
        checks += self.refusals(org, now) + self.expired(org, now)
        return checks + demo_identity_center.checks(org, now)

    def expired(self, org: Organisation, now: datetime) -> list[Check]:
        """Every switch the file grants that has expired: refused by the hub alone, with no job run. An
        expired grant no longer allows (its DateLessThan fails); an expired user meets their explicit Deny."""
        checks = []
        for user, account, kind in self.granted(org):
            end = org.access_end(user, account.name, kind.key)
            if end is None or not ended(end, now):
                continue
            request = request_for(org, account, kind, user)
            token = self.identities[user].token if request.mfa_required else None
            user_end = org.users[user].until
            if user_end is not None and ended(user_end, now):
                checks.append(Check(user, request, False, "user expired", token, because=BY_USER_DENY))
            else:
                checks.append(Check(user, request, False, "grant expired", token, because=BY_HUB))
        return checks

    @staticmethod
    def granted(org: Organisation) -> list[tuple[str, TargetAccount, RoleKind]]:
        return [(user, account, kind) for user in org.users for account, kind in org.user_roles(user)]

    def removed(self, old: Organisation, new: Organisation) -> list[Check]:
        """For every access the review of ``old`` -> ``new`` lists as lost, the switch that must now be refused:
        by the hub (no grant any more), or by the role's own trust where it is strict and now admits nobody (an
        explicit Deny wins over everything). Renamed kinds and accounts are not losses, as in the review."""
        nobody = {(a.name, k.key) for a, k in new.strict_roles_admitting_nobody()}
        accounts = {a.name for a in new.accounts}
        deployed = {(a.name, k) for a in new.accounts for k in a.role_keys}
        checks = []
        for row in access_diff(old, new, base_label=old.source, head_label=new.source).lost:
            user, account_name, key = row["user"], row["account"], row["role"]
            org = new if key in new.role_kinds and account_name in accounts else old
            account, kind = org.account(account_name), org.role_kinds[key]
            if row.get("permission_set"):
                name = row["permission_set"]
                request = request_for_permission_set(org, account, kind, name, demo_identity_center.person(name))
            else:
                request = request_for(org, account, kind, user)
            token = self.identities[user].token if request.mfa_required else None
            if account_name in accounts and (account_name, key) not in deployed:
                because = BY_NO_ROLE  # the role left the account, so the update deleted it
            else:
                because = BY_TRUST_DENY if (account_name, key) in nobody else BY_HUB
            checks.append(Check(user, request, False, "access removed", token, because=because))
        return checks

    def refusals(self, org: Organisation, now: datetime) -> list[Check]:
        """The switches that must fail, picked from the file so they hold for any organisation (from the access
        still live at ``now``: an expired user is refused by their own Deny, whatever the check is about)."""
        identities, refusals = self.identities, []
        first = org.accounts[0]
        some_kind = org.role_kinds[first.role_keys[0]]

        def roles(user: str) -> list[tuple[TargetAccount, RoleKind]]:
            return org.user_roles(user, now=now)

        current = [u for u in org.users if not ended(org.users[u].until, now)]
        ungranted = next((u for u in current if not org.user_roles(u)), NO_GRANT)
        request = replace(request_for(org, first, some_kind, None), mfa_serial=org.hub.mfa_serial(ungranted))
        refusals.append(Check(ungranted, request, False, "no grant", identities[ungranted].token, because=BY_HUB))
        mfa_user = next((u for u in current if any(k.mfa_required for _, k in roles(u))), None)
        if mfa_user is not None:
            account, kind = next((a, k) for a, k in roles(mfa_user) if k.mfa_required)
            request = request_for(org, account, kind, mfa_user)
            token = identities[mfa_user].token
            refusals.append(
                Check(mfa_user, replace(request, mfa_serial=None), False, "no MFA code", because=BY_MFA_POLICY)
            )
            refusals.append(
                Check(
                    mfa_user, request, False, "wrong MFA code", identities[mfa_user].wrong_token, refusal="mfa-invalid"
                )
            )
            strict = self.mfa_reading == STRICT
            why = "mfa_serial form: " + ("caller's policies see no MFA" if strict else "lenient reading")
            refusals.append(
                Check(mfa_user, request, not strict, why, token, session_first=False, because=BY_MFA_POLICY)
            )
            account, kind = min(
                ((a, k) for a, k in roles(mfa_user) if k.mfa_required),
                key=lambda ak: ak[1].mfa_max_age_seconds,
            )
            age = kind.mfa_max_age_seconds + 60
            request = replace(request_for(org, account, kind, mfa_user), mfa_required=None)
            why = f"MFA {age} s old, {kind.key} allows {kind.mfa_max_age_seconds} s"
            refusals.append(Check(mfa_user, request, False, why, token, because=BY_HUB, aged_by=age))
        nobody = org.strict_roles_admitting_nobody()
        admits_nobody = {(a.name, k.key) for a, k in nobody}
        other = self.granted_elsewhere(org, now)
        if other is not None:
            user, account, key = other
            kind = org.role_kinds[key]
            request = request_for(org, account, kind, user)
            # a strict role there that admits nobody refuses by its own trust's Deny (which wins) before the hub
            because = BY_TRUST_DENY if (account.name, key) in admits_nobody else BY_HUB
            why = f"{key} granted in other accounts only"
            refusals.append(Check(user, request, False, why, identities[user].token, because=because))
        refusals += self.trust_conditions(org, now)
        strict_role = next(
            (
                (a, org.role_kinds[k])
                for a in org.accounts
                for k in a.role_keys
                if org.role_kinds[k].strict_trust and (a.name, k) not in admits_nobody
            ),
            None,
        )
        admin = identities[HUB_ADMIN]
        shown: set[str] = set()
        for account, kind in nobody:  # one row per kind: its trust denies the hub, the hub admin included
            if kind.key not in shown:
                shown.add(kind.key)
                request = replace(request_for(org, account, kind, None), mfa_serial=org.hub.mfa_serial(HUB_ADMIN))
                refusals.append(Check(HUB_ADMIN, request, False, "admits nobody", admin.token, because=BY_TRUST_DENY))
        deploy_role = bootstrap_role_arn(first.account_id, first.region)
        request = SmokeRequest(
            deploy_role, f"{first.name}-cdk-deploy", HUB_ADMIN, mfa_serial=org.hub.mfa_serial(HUB_ADMIN)
        )
        refusals.append(Check(HUB_ADMIN, request, False, "hub admin vs CDK deploy role", admin.token, because=BY_TRUST))
        if strict_role is not None:
            account, kind = strict_role
            request = replace(request_for(org, account, kind, None), mfa_serial=org.hub.mfa_serial(HUB_ADMIN))
            refusals.append(
                Check(HUB_ADMIN, request, False, "hub admin vs trust: strict", admin.token, because=BY_TRUST)
            )
        loose = next(
            (
                (a, org.role_kinds[k])
                for a in org.accounts
                for k in a.role_keys
                if not org.role_kinds[k].strict_trust and org.role_kinds[k].external_id is None
            ),
            None,
        )
        if loose is not None:
            account, kind = loose
            request = replace(request_for(org, account, kind, None), mfa_serial=org.hub.mfa_serial(HUB_ADMIN))
            refusals.append(Check(HUB_ADMIN, request, True, "hub admin, trust delegated to hub", admin.token))
        return refusals

    def trust_conditions(self, org: Organisation, now: datetime) -> list[Check]:
        """Switches without the external id or the source identity a role requires: the trust refuses them
        (the hub grant refuses a missing source identity first; the hub administrator shows the trust does too)."""
        checks = []
        external = next(((u, a, k) for u in org.users for a, k in org.user_roles(u, now=now) if k.external_id), None)
        if external is not None:
            user, account, kind = external
            request = replace(request_for(org, account, kind, user), external_id=None)
            token = self.identities[user].token if request.mfa_required else None
            checks.append(Check(user, request, False, "no external id", token, because=BY_TRUST))
        source = next(((u, a, k) for u in org.users for a, k in org.user_roles(u, now=now) if k.source_identity), None)
        if source is not None:
            user, account, kind = source
            request = replace(request_for(org, account, kind, user), source_identity=False)
            token = self.identities[user].token if request.mfa_required else None
            checks.append(Check(user, request, False, "no source identity", token, because=BY_HUB))
            admin = replace(request_for(org, account, kind, None), source_identity=False)
            admin = replace(admin, mfa_serial=org.hub.mfa_serial(HUB_ADMIN))
            why = "hub admin, no source identity"
            checks.append(Check(HUB_ADMIN, admin, False, why, self.identities[HUB_ADMIN].token, because=BY_TRUST))
        return checks

    @staticmethod
    def granted_elsewhere(org: Organisation, now: datetime) -> tuple[str, TargetAccount, str] | None:
        """A user granted a role kind in some accounts, and an account that has it but was not granted (or
        whose grant has expired: the hub refuses both alike). The first in file order, so that every run of the
        demo shows the same row."""
        for user in org.users:
            granted = [(a.name, k.key) for a, k in org.user_roles(user, now=now)]
            for _, key in granted:
                for account in org.accounts:
                    if key in account.role_keys and (account.name, key) not in granted:
                        return user, account, key
        return None
