"""The hub user's own policies: the end of all their access (``until:``), and managing their own credentials
under MFA (AWS's self-management policy, narrowed to the hub and the caller's own MFA device).

Apart from the grant policies (:mod:`switchrole.iam.policies`) because they are not about what a group may switch
into, but about the person: what they may do to their own password, keys and MFA device, and when every switch
of theirs stops whatever any other policy allows.
"""

from __future__ import annotations

import datetime

from switchrole.iam.policies import PolicyDocument, document
from switchrole.model.expiry import iso
from switchrole.model.organisation import PARTITION

# Every action a switch may need (AssumeRole, and SetSourceIdentity/TagSession with it). Denying AssumeRole alone
# would stop every switch; the other two are denied too so that no policy reader has to know that.
SWITCH_ACTIONS = ("sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession")


def user_expiry_policy(until: datetime.datetime) -> PolicyDocument:
    """A user's ``until:``: a Deny of every switch from that moment, whatever any other policy allows (a hub
    administrator's ``sts:AssumeRole`` on ``*`` included). ``DateGreaterThanEquals`` makes it the same instant
    at which the grants' ``DateLessThan`` stops allowing. Sessions already open run until they expire."""
    return document(
        [
            {
                "Sid": "NoSwitchingFrom" + until.strftime("%Y%m%dT%H%M%SZ"),
                "Effect": "Deny",
                "Action": list(SWITCH_ACTIONS),
                "Resource": "*",
                "Condition": {"DateGreaterThanEquals": {"aws:CurrentTime": iso(until)}},
            }
        ]
    )


# Credential changes need an MFA code at most this old: a stolen cached MFA session (sessions.py) cannot swap the
# user's MFA device, re-activate or mint access keys, or add keys and certificates, once it is 15 minutes old.
CREDENTIAL_MFA_MAX_AGE_SECONDS = 900


def fresh_mfa() -> dict[str, dict[str, str]]:
    """MFA present and at most :data:`CREDENTIAL_MFA_MAX_AGE_SECONDS` old (both on an Allow: fails closed)."""
    return {
        "Bool": {"aws:MultiFactorAuthPresent": "true"},
        "NumericLessThan": {"aws:MultiFactorAuthAge": str(CREDENTIAL_MFA_MAX_AGE_SECONDS)},
    }


def mfa_self_management_policy(hub_account_id: str) -> PolicyDocument:
    """AWS's "manage your own credentials and MFA; deny everything else without MFA" policy.

    The final Deny uses ``BoolIfExists ... "false"`` on purpose: on a Deny it
    matches both MFA-less sessions and long-term access keys. Resources are
    scoped to the hub account instead of the example's ``*``, and the virtual MFA device to the caller's own
    name (``mfa/${aws:username}``) instead of the example's ``mfa/*``.

    What creates or swaps a credential (a new or re-activated access key, certificate, SSH key or service
    credential; enabling, resyncing or deactivating an MFA device) needs a fresh MFA code (:func:`fresh_mfa`),
    not the MFA session cached for hours. Enrolment stays open: a session with no MFA at all (long-term keys, or
    a console sign-in before the first device) may create its own virtual device and enable or resync it,
    which is all the final Deny lets it do.
    """
    own_user = f"arn:{PARTITION}:iam::{hub_account_id}:user/${{aws:username}}"
    return document(
        [
            {
                "Sid": "AllowViewAccountInfo",
                "Effect": "Allow",
                "Action": ["iam:GetAccountPasswordPolicy", "iam:ListVirtualMFADevices"],
                "Resource": "*",
            },
            {
                "Sid": "AllowManageOwnPasswords",
                "Effect": "Allow",
                "Action": ["iam:ChangePassword", "iam:GetUser"],
                "Resource": own_user,
            },
            {
                "Sid": "AllowReadAndRemoveOwnCredentials",
                "Effect": "Allow",
                "Action": [
                    "iam:DeleteAccessKey",
                    "iam:ListAccessKeys",
                    "iam:GetAccessKeyLastUsed",
                    "iam:DeleteSigningCertificate",
                    "iam:ListSigningCertificates",
                    "iam:DeleteSSHPublicKey",
                    "iam:GetSSHPublicKey",
                    "iam:ListSSHPublicKeys",
                    "iam:DeleteServiceSpecificCredential",
                    "iam:ListServiceSpecificCredentials",
                    "iam:ListMFADevices",
                ],
                "Resource": own_user,
            },
            {
                # Update* re-activates a key as well as deactivating it: it creates access, like Create*
                "Sid": "AllowCreateOwnCredentialsWithFreshMFA",
                "Effect": "Allow",
                "Action": [
                    "iam:CreateAccessKey",
                    "iam:UpdateAccessKey",
                    "iam:UpdateSigningCertificate",
                    "iam:UploadSigningCertificate",
                    "iam:UpdateSSHPublicKey",
                    "iam:UploadSSHPublicKey",
                    "iam:CreateServiceSpecificCredential",
                    "iam:ResetServiceSpecificCredential",
                    "iam:UpdateServiceSpecificCredential",
                    "iam:DeactivateMFADevice",
                    "iam:EnableMFADevice",
                    "iam:ResyncMFADevice",
                ],
                "Resource": own_user,
                "Condition": fresh_mfa(),
            },
            {
                # only the device named after the caller: with mfa/*, any hub user could create mfa/<another user>
                # first and block that user's enrolment (the README's step names the device after the user)
                "Sid": "AllowManageOwnVirtualMFADevice",
                "Effect": "Allow",
                "Action": ["iam:CreateVirtualMFADevice"],
                "Resource": f"arn:{PARTITION}:iam::{hub_account_id}:mfa/${{aws:username}}",
            },
            {
                # enrolment: a session without MFA (the key absent: long-term keys; "false": a console sign-in
                # without MFA). A session with MFA, however old, never matches: it needs fresh_mfa() above.
                "Sid": "AllowOwnMFAEnrolmentWithoutMFA",
                "Effect": "Allow",
                "Action": ["iam:EnableMFADevice", "iam:ResyncMFADevice"],
                "Resource": own_user,
                "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
            },
            {
                "Sid": "DenyAllExceptListedIfNoMFA",
                "Effect": "Deny",
                "NotAction": [
                    "iam:CreateVirtualMFADevice",
                    "iam:EnableMFADevice",
                    "iam:GetUser",
                    "iam:ListMFADevices",
                    "iam:ListVirtualMFADevices",
                    "iam:ResyncMFADevice",
                    "sts:GetSessionToken",
                ],
                "Resource": "*",
                "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
            },
        ]
    )
