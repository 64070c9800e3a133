"""What the demo checks: its rows (a switch that must succeed, or be refused for the reason it demonstrates), the
people it switches as, and the words each refusal must carry (the emulator's AccessDenied messages, as AWS's).
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import boto3

from switchrole.client.switch import SmokeRequest
from switchrole.iam.evaluate import totp, totp_valid
from switchrole.live.smoke import SmokeReport
from switchrole.local.authz import IDENTITY_DENY, NO_IDENTITY_ALLOW, NO_SUCH_ROLE, NO_TRUST_ALLOW, TRUST_DENY

PROJECT = Path(__file__).resolve().parents[2]
HUB_ADMIN = "switchrole-demo-hub-admin"  # AdministratorAccess in the hub, no grant: what trust: strict stops
NO_GRANT = "switchrole-demo-no-grant"  # used when the file has no user without a grant
SETUP_KEY = "AKIASWITCHROLESETUP0"  # unknown to moto: only used while authorization is off
# Why a refusal must happen, in the words of the emulator's AccessDenied messages (as AWS's): a row passes only
# when the switch was refused for the reason it demonstrates, not for any reason.
BY_HUB = NO_IDENTITY_ALLOW.format(action="sts:AssumeRole")  # no hub grant (or its conditions fail)
BY_MFA_POLICY = IDENTITY_DENY  # the hub's MFA policy: everything but MFA set-up is denied without MFA
BY_TRUST = NO_TRUST_ALLOW.format(action="sts:AssumeRole")  # the target role's trust policy
BY_USER_DENY = IDENTITY_DENY  # an expired user's own Deny of every switch
BY_TRUST_DENY = TRUST_DENY  # a strict role nobody is granted: its trust denies the hub outright
BY_NO_ROLE = NO_SUCH_ROLE  # a role the update deleted (the emulator says so; AWS answers a plain AccessDenied)
NOT_AS_EXPECTED = "✗ NOT AS EXPECTED"  # plain text, so a failed row shows in a CI log without colour


@dataclass
class Check:
    """One row of the demo's table: a switch that must succeed, or must be refused."""

    who: str
    request: SmokeRequest
    expect_ok: bool
    why: str  # what the row demonstrates
    token: Callable[[], str] | None = None
    refusal: str = "access-denied"  # the failure kind a refusal must show (not any error)
    report: SmokeReport | None = None
    session_first: bool = True  # False: the AWS CLI's mfa_serial form (AssumeRole with long-term keys + code)
    because: str | None = None  # a refusal must name this side (see BY_HUB, BY_MFA_POLICY, BY_TRUST)
    aged_by: int = 0  # switch from an MFA session made this many seconds older first

    @property
    def passed(self) -> bool:
        if self.report is None:
            return False
        if self.expect_ok:
            return self.report.ok
        return self.report.failure_kind == self.refusal and (self.because or "") in self.report.aws_message


@dataclass
class Identity:
    """Who a check switches as: a hub user (with their virtual MFA device's seed), or a person signed in to a
    permission set's role (``user`` is then the set's grantee name, and there is no IAM MFA device)."""

    user: str
    session: boto3.Session
    seed: str | None  # virtual MFA seed: the emulator's device secret, never printed

    def token(self) -> str:
        assert self.seed is not None, f"{self.user} has no IAM MFA device"
        return totp(self.seed)

    def wrong_token(self) -> str:
        seed = self.seed
        assert seed is not None, f"{self.user} has no IAM MFA device"
        return next(f"{n:06d}" for n in range(1_000_000) if not totp_valid(seed, f"{n:06d}"))


class DemoFailed(Exception):
    pass


def cdk_binary() -> Path:
    """The pinned CDK CLI: the current folder's (an organisation's own repository, set up with `npm ci`), else
    this checkout's (PROJECT; from an installed wheel that is site-packages, which has none)."""
    places = list(dict.fromkeys([Path.cwd(), PROJECT]))
    for place in places:
        binary = place / "node_modules" / ".bin" / "cdk"
        if binary.exists():
            return binary
    looked = " or ".join(str(p / "node_modules" / ".bin" / "cdk") for p in places)
    raise DemoFailed(f"the CDK CLI is not installed (no {looked}): run `npm ci` in the folder with package.json")


class Interruption:
    """Ctrl-C (SIGINT) or SIGTERM while the demo runs: the first raises KeyboardInterrupt, every later one is
    ignored, so the cleanup the first started is not stopped half-way (a terminal sends a second Ctrl-C to the
    whole process group). Ignored by this handler rather than by SIG_IGN, which would have Python report a
    signal already on its way as ignored "due to race condition".

    After an interruption, later signals are ignored (SIG_IGN) from the end of this block on: the process is
    about to end with 130, and a second Ctrl-C landing after the cleanup would otherwise end it by SIGINT, with
    no exit status of its own. SIG_IGN rather than this handler, because the interpreter puts back the default
    for every handler of its own when it finalizes (tens of milliseconds before the exit), and leaves SIG_IGN.
    No signal can be on its way by then: ``signal.signal`` runs the handlers of those first."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signum: int | None = None
        self.previous: dict[int, signal._HANDLER] = {}

    def handle(self, signum: int, frame: object) -> None:
        if self.signum is None:
            self.signum = signum
            raise KeyboardInterrupt

    def __enter__(self) -> Interruption:
        self.previous = {signum: signal.signal(signum, self.handle) for signum in self.SIGNALS}
        return self

    def __exit__(self, *exc: object) -> None:
        if self.signum is not None:  # interrupted: later signals stay ignored until the process exits
            for ignored in self.SIGNALS:
                signal.signal(ignored, signal.SIG_IGN)
            return
        for signum, handler in self.previous.items():
            if handler is not None:  # None: not installed from Python, cannot be put back
                signal.signal(signum, handler)
