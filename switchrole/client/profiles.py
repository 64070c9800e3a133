"""Client settings generated from the accounts file: AWS CLI profiles, console links, the AESR extension.

Everything here is derived from :class:`Organisation` and never contains a
credential: profiles run ``switchrole assume`` with the user's own hub profile,
where their keys already live.
"""

from __future__ import annotations

import html
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from switchrole.client.console import console_display_name, display_name, switch_role_url
from switchrole.client.sessions import ROLE_SECONDS_FROM_SESSION
from switchrole.model.environments import colour
from switchrole.model.errors import ConfigError, Problem
from switchrole.model.expiry import End, iso, utc_now
from switchrole.model.markdown import code, escape
from switchrole.model.organisation import Organisation, RoleKind, TargetAccount, permission_set_grantee
from switchrole.model.text import short

MARK_BEGIN = "# >>> switchrole profiles for {user} (generated from {source}; edits inside are overwritten) >>>"
MARK_END = "# <<< switchrole profiles for {user} <<<"


class MergeConflict(ValueError):
    """A profile switchrole would write already exists outside its own block."""


@dataclass(frozen=True)
class Profile:
    """One AWS CLI profile: its name, settings in order, and a comment above it."""

    name: str
    settings: tuple[tuple[str, str], ...]
    comment: str | None = None
    section: str = "profile"  # or "sso-session": the AWS CLI's section for an Identity Center sign-in

    def render(self) -> str:
        """The profile as AWS config file lines (its comment first)."""
        lines = [f"# {self.comment}"] if self.comment else []
        lines.append(f"[{self.section} {self.name}]")
        lines += [f"{key} = {value}" for key, value in self.settings]
        return "\n".join(lines)


def _user_roles(org: Organisation, user: str, now: datetime | None) -> list[tuple[TargetAccount, RoleKind]]:
    """The roles ``user`` may still switch into at ``now`` (default: the current time): expired access is left
    out, since IAM refuses it."""
    if user not in org.users:
        raise KeyError(user)
    return org.user_roles(user, now=now or utc_now())


def no_roles_note(org: Organisation, user: str, now: datetime | None = None) -> str | None:
    """Why ``user`` has no role to switch into at ``now``, for stderr (None when they have one).

    Commands keep stdout a valid document of their format, so ``> file`` and ``--merge`` write something its
    reader accepts: an empty profile block (merged, it removes the profiles the user no longer has), an empty
    table or page, exit 0, the note on stderr. AWS Extend Switch Roles refuses a configuration without a target
    (its base profile alone reads as a target without a role name), so ``links --format extend-switch-roles``
    prints nothing and exits 2 instead, with this line."""
    if _user_roles(org, user, now):
        return None
    why = "every switch of theirs has ended (until:)" if org.user_roles(user) else "no group of theirs grants one"
    return f"{user} has no role to switch into ({why})"


def switchrole_command() -> str:
    """The installed ``switchrole``, by absolute path: AWS CLI profiles run it as ``credential_process``
    from any shell, with or without this virtualenv on ``PATH``."""
    beside = Path(sys.executable).parent / "switchrole"  # the venv's (or pipx's) script next to its python
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("switchrole")
    return str(Path(found).absolute()) if found else "switchrole"


def session_profile_name(hub_profile: str) -> str:
    """The name of the hub MFA-session profile for ``hub_profile``."""
    return f"{hub_profile}-mfa"


# What options may put into an AWS config file. Its readers differ: botocore's configparser takes a line as it
# is, but other SDKs' INI parsers end a value at " #" or " ;", "[" and "]" confuse section headers, botocore
# splits "profile <name>" on whitespace and quotes, and a line break would start a section of its own. So the
# options take only characters that mean the same to every reader, checked before anything is written.
PROFILE_CHARS = "A-Za-z0-9+=,.@_-"  # IAM's name characters: nothing any INI or shell reader treats specially
PROFILE_NAME_RE = re.compile(f"[{PROFILE_CHARS}]+")
MFA_SERIAL_RE = re.compile(
    rf"arn:aws(?:-[a-z]+)*:iam::[0-9]{{12}}:mfa/(?:[{PROFILE_CHARS}]+/)*[{PROFILE_CHARS}]+"  # a virtual device
    r"|[A-Za-z0-9]{9,256}"  # a hardware token's serial number (GetSessionToken's other form), e.g. GAHT12345678
)
MAX_MFA_SERIAL = 256  # GetSessionToken's SerialNumber
COMMAND_CHARS = r"A-Za-z0-9 _+=,.@:/\\~()-"  # a path (with spaces, or Windows' C:\...) or a bare name
COMMAND_RE = re.compile(f"[{COMMAND_CHARS}]+")


def profile_option_problems(hub_profile: str | None, mfa_serial: str | None, command: str | None) -> list[str]:
    """One line per option of ``switchrole profiles`` that cannot go into an AWS config file as it is
    (``command=None``: the installed switchrole's own path, which is checked the same way)."""
    problems = []
    if hub_profile is not None and not PROFILE_NAME_RE.fullmatch(hub_profile):
        problems.append(
            f"--hub-profile: {short(hub_profile)} is not a profile name switchrole writes "
            "(only A-Z a-z 0-9 + = , . @ _ -)"
        )
    if mfa_serial is not None and not (len(mfa_serial) <= MAX_MFA_SERIAL and MFA_SERIAL_RE.fullmatch(mfa_serial)):
        problems.append(
            f"--mfa-serial: {short(mfa_serial)} is not an MFA device: arn:aws:iam::<12 digits>:mfa/<path/><name> "
            f"(segments of {PROFILE_CHARS}) or a hardware token's serial number (9-256 letters and digits)"
        )
    program = switchrole_command() if command is None else command
    if not COMMAND_RE.fullmatch(program) or program != program.strip():
        what = "--command" if command is not None else "--command (default: this installation's switchrole)"
        problems.append(
            f"{what}: {short(program)} cannot go into a credential_process line safely: only letters, digits, "
            r"inner spaces and _ + = , . @ : / \ ~ ( ) - (no quotes, #, ;, $ or control characters)"
            + ("" if command is not None else "; pass --command with a path or name that has none")
        )
    return problems


def credential_process(argv: list[str], platform: str | None = None) -> str:
    """``argv`` as a ``credential_process`` value that botocore splits back into exactly ``argv``
    (``compat_shell_split``: POSIX shell words, or the Windows C runtime's rules on win32)."""
    from botocore.compat import compat_shell_split

    platform = platform or sys.platform
    line = subprocess.list2cmdline(argv) if platform == "win32" else shlex.join(argv)
    if compat_shell_split(line, platform) != argv or "\n" in line or "\r" in line:
        raise ValueError(f"{short(line)} would not run as {short(argv)}")
    return line


def _printable(name: str) -> str:
    """A file name as it may appear in a comment line: quoted when it holds anything but printable ASCII."""
    return name if name.isascii() and name.isprintable() else ascii(name)


def profiles(
    org: Organisation,
    user: str,
    *,
    hub_profile: str,
    mfa_serial: str | None = None,
    command: str | None = None,
    now: datetime | None = None,
) -> list[Profile]:
    """AWS CLI profiles for ``user``: the hub MFA session (when the user needs MFA), then one profile per role
    the user is granted, named ``<account>-<role kind>``.

    Every profile is a ``credential_process`` of switchrole: the MFA session comes first (one code,
    cached with mode 0600), and each switch is an AssumeRole from it, which works whether or not IAM shows
    an AssumeRole's MFA code to the caller's own policies (see :mod:`switchrole.client.sessions`). The hub's
    long-term keys stay in the user's own ``hub_profile``; profiles never contain a credential. Access that
    has expired at ``now`` gets no profile; access that will end says when, in a comment.
    """
    problems = profile_option_problems(hub_profile, mfa_serial, command)
    if problems:
        raise ConfigError([Problem((), line) for line in problems])
    roles = _user_roles(org, user, now)
    serial = mfa_serial or org.hub.mfa_serial(user)
    program = switchrole_command() if command is None else command
    result = []
    needs_mfa = org.user_requires_mfa(user) or any(kind.mfa_required for _, kind in roles)
    if needs_mfa:
        line = [program, "session", "--hub-profile", hub_profile, "--mfa-serial", serial]
        result.append(
            Profile(
                session_profile_name(hub_profile),
                (("credential_process", credential_process(line)), ("region", org.hub.region)),
                "your MFA session in the hub account (one code serves every profile below until it expires)",
            )
        )
    for account, kind in roles:
        mfa = needs_mfa  # the hub's MFA policy denies any switch without MFA, even into a kind that opts out
        duration = min(kind.max_session_duration, ROLE_SECONDS_FROM_SESSION) if mfa else kind.max_session_duration
        line = [
            program, "assume", "--role-arn", kind.arn(account.account_id), "--session-name", user,
            "--hub-profile", hub_profile, "--duration", str(duration),
        ]  # fmt: skip
        if mfa:
            line += ["--mfa-serial", serial]
            if kind.mfa_required:
                line += ["--mfa-max-age", str(kind.mfa_max_age_seconds)]
        if kind.external_id:
            line += ["--external-id", kind.external_id]
        if kind.source_identity:
            line.append("--source-identity")
        settings = (("credential_process", credential_process(line)), ("region", account.region))
        end = org.access_end(user, account.name, kind.key)
        comment = None if end is None else f"ends {iso(end)}: IAM refuses this switch from then (until: in the file)"
        result.append(Profile(display_name(account, kind), settings, comment))
    return result


def profiles_block(
    org: Organisation,
    user: str,
    *,
    hub_profile: str,
    mfa_serial: str | None = None,
    command: str | None = None,
    now: datetime | None = None,
) -> str:
    """The marked block ``--merge`` owns in an AWS config file."""
    items = profiles(org, user, hub_profile=hub_profile, mfa_serial=mfa_serial, command=command, now=now)
    body = "\n\n".join(p.render() for p in items)
    begin = MARK_BEGIN.format(user=user, source=_printable(Path(org.source).name))
    return f"{begin}\n{body}\n{MARK_END.format(user=user)}\n"


_SECTION = re.compile(r"^\s*\[\s*(?:profile\s+)?([^\]]+?)\s*\]\s*$", re.MULTILINE)


def _markers(user: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """``user``'s begin and end marker lines (each with its line end)."""
    begin = re.compile(rf"^# >>> switchrole profiles for {re.escape(user)} .*$\n?", re.MULTILINE)
    end = re.compile(rf"^{re.escape(MARK_END.format(user=user))}[ \t]*\r?\n?", re.MULTILINE)
    return begin, end


def _block_bounds(text: str, user: str) -> tuple[re.Match[str], re.Match[str]] | None:
    """``user``'s begin and end markers in ``text``, when both are there (the end after the begin)."""
    begin_re, end_re = _markers(user)
    begin = begin_re.search(text)
    end = end_re.search(text, begin.end()) if begin else None
    return (begin, end) if begin and end else None


def merge_profiles(existing: str, block: str, user: str) -> str:
    """Replace ``user``'s marked block in ``existing`` (or append it); every other byte stays as it was."""
    bounds = _block_bounds(existing, user)
    if bounds:
        before, after = existing[: bounds[0].start()], existing[bounds[1].end() :]
    elif any(marker.search(existing) for marker in _markers(user)):
        raise MergeConflict(f"the switchrole block for {user} is missing its begin or end marker; fix it by hand")
    else:
        before, after = existing, ""
        if before and not before.endswith("\n"):
            before += "\n"
        if before.strip():
            before += "\n"
    owned = set(_SECTION.findall(block))
    clash = sorted(owned & set(_SECTION.findall(before + after)))
    if clash:
        section = rf"^\[\s*(?:profile\s+)?{re.escape(clash[0])}\s*\]"
        block_of = rf"^# >>> switchrole profiles for (\S+) .*$(?:(?!^# <<<).)*{section}"
        other = re.search(block_of, before + after, re.MULTILINE | re.DOTALL)
        if other:
            raise MergeConflict(
                f"profile {clash[0]} is in switchrole's block for {other.group(1)}: one AWS config holds one "
                "person's profiles (same names); merge into another file (AWS_CONFIG_FILE) for a second user"
            )
        raise MergeConflict(f"profile {clash[0]} already exists outside switchrole's block; rename or remove it first")
    return before + block + after


def _sections(text: str) -> dict[str, str]:
    """Profile name -> its section's text (header to the next header)."""
    headers = list(_SECTION.finditer(text))
    ends = [h.start() for h in headers[1:]] + [len(text)] if headers else []
    return {h.group(1): text[h.start() : end].strip() for h, end in zip(headers, ends, strict=True)}


def _user_block(text: str, user: str) -> str:
    """What lies between ``user``'s markers ("" without a complete block)."""
    bounds = _block_bounds(text, user)
    return text[bounds[0].end() : bounds[1].start()] if bounds else ""


def merge_summary(existing: str, block: str, user: str) -> str:
    """What a merge changes in ``user``'s profiles: "2 added, 1 removed, 1 changed, 9 unchanged"."""
    before, after = _sections(_user_block(existing, user)), _sections(_user_block(block, user))
    counts = {
        "added": len(after.keys() - before.keys()),
        "removed": len(before.keys() - after.keys()),
        "changed": sum(1 for name in after.keys() & before.keys() if after[name] != before[name]),
        "unchanged": sum(1 for name in after.keys() & before.keys() if after[name] == before[name]),
    }
    return ", ".join(f"{n} {what}" for what, n in counts.items() if n) or "no profiles"


def read_aws_config(path: Path) -> str:
    """An AWS config file to merge into ("" when it does not exist yet): a regular UTF-8 file the AWS CLI
    could read, or :class:`~switchrole.model.errors.ConfigError` (switchrole never appends to prose, JSON or NULs)."""
    import configparser

    from switchrole.model.loading import read_text

    if not os.path.lexists(path):
        return ""
    text = read_text(path, "the AWS config file", limit=1_000_000)
    try:
        if "\0" in text:
            raise configparser.Error("it contains NUL bytes")
        configparser.RawConfigParser(strict=False, interpolation=None).read_string(text)
    except configparser.Error as exc:
        reason = str(exc).splitlines()[0][:120]
        raise ConfigError.single((), f"not an AWS config file the AWS CLI could read ({reason})", str(path)) from None
    return text


# --------------------------------------------------------------------------- console links


@dataclass(frozen=True)
class Link:
    """One console switch-role link for a user: account, role kind and when the access ends."""

    account: TargetAccount
    kind: RoleKind
    until: End = None  # when IAM ends this switch (until: in the file)

    @property
    def ends(self) -> str:
        """``  (ends <time>)`` for access with an end, else empty."""
        return "" if self.until is None else f"  (ends {iso(self.until)})"

    @property
    def name(self) -> str:
        """The display name of the switch (account and role)."""
        return display_name(self.account, self.kind)

    @property
    def console(self) -> bool:
        """Whether the console's Switch Role page can switch into this role."""
        return self.kind.console_switchable

    @property
    def url(self) -> str:
        """The console's Switch Role URL for this role."""
        return switch_role_url(self.account, self.kind)


def links(org: Organisation, user: str, now: datetime | None = None) -> list[Link]:
    """Links for the roles ``user`` may still switch into at ``now`` (expired access left out)."""
    return [Link(a, k, org.access_end(user, a.name, k.key)) for a, k in _user_roles(org, user, now)]


def permission_set_links(org: Organisation, permission_set: str, now: datetime | None = None) -> list[Link]:
    """Links for the roles ``permission_set``'s people may still switch into at ``now``: the console switches
    from an Identity Center session as from a user's (the hub account's Switch Role)."""
    grantee = permission_set_grantee(permission_set)
    live = org.permission_set_roles(permission_set, now=now or utc_now())
    return [Link(a, k, org.access_end(grantee, a.name, k.key)) for a, k in live]


def links_text(items: list[Link]) -> str:
    """The links as plain text, one per line."""
    width = max((len(link.name) for link in items), default=0)
    lines = [f"{link.name:<{width}}  {link.url}{link.ends}" for link in items if link.console]
    cli = [link for link in items if not link.console]
    if cli:
        lines.append("")
        lines.append("CLI only (the console cannot pass an external id or set a source identity):")
        lines += [
            f"  {link.name:<{width}}  {link.kind.arn(link.account.account_id)}  ({link.kind.cli_only_reason})"
            + link.ends
            for link in cli
        ]
    return "\n".join(lines) + "\n"


def links_markdown(items: list[Link]) -> str:
    """The links as a Markdown list, every name escaped."""
    lines = ["| account | role | switch |", "|---|---|---|"]
    for link in items:
        arn = link.kind.arn(link.account.account_id)
        name = escape(link.name, table=True)
        target = f"[{name}]({link.url})" if link.console else f"CLI only ({link.kind.cli_only_reason}): {code(arn)}"
        account = escape(link.account.name, table=True)
        lines.append(f"| {account} ({link.account.account_id}) | {escape(link.kind.key)} | {target}{link.ends} |")
    return "\n".join(lines) + "\n"


def links_html(items: list[Link], *, title: str) -> str:
    """The links as a small HTML page, every name escaped."""
    rows = []
    for link in items:
        name = html.escape(link.name)
        if link.console:
            cell = f'<a href="{html.escape(link.url)}">{name}</a>'
        else:
            cell = f"{name} <em>(CLI only: {html.escape(link.kind.cli_only_reason)})</em>"
        cell += html.escape(link.ends)
        rows.append(f'  <li style="border-left: 6px solid #{colour(link.account)}; padding-left: 6px">{cell}</li>')
    return (
        '<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8"><title>'
        f"{html.escape(title)}</title></head>\n<body>\n<h1>{html.escape(title)}</h1>\n<ul>\n"
        + "\n".join(rows)
        + "\n</ul>\n</body>\n</html>\n"
    )


def extend_switch_roles(
    org: Organisation, user: str, now: datetime | None = None, *, items: list[Link] | None = None
) -> str:
    """INI for the AWS Extend Switch Roles browser extension: the hub as base profile, one section per role
    (``items``: these links, for ``user`` naming whose they are, e.g. a permission set's)."""
    source = _printable(Path(org.source).name)
    lines = [
        f"; AWS Extend Switch Roles configuration for {user}, generated by switchrole from {source}",
        f"[{org.hub.name}]",
        f"aws_account_id = {org.hub.account_id}",
        *([f"aws_account_alias = {org.hub.alias}"] if org.hub.alias else []),
    ]
    skipped = []
    for link in links(org, user, now) if items is None else items:
        if not link.console:
            skipped.append(link.name)
            continue
        lines += [
            "",
            f"[{console_display_name(link.account, link.kind)}]",
            f"source_profile = {org.hub.name}",
            f"role_arn = {link.kind.arn(link.account.account_id)}",
            f"region = {link.account.region}",
            f"color = {colour(link.account)}",
        ]
    if skipped:
        lines += [
            "",
            f"; CLI only (external id or source identity, which the console cannot pass): {', '.join(skipped)}",
        ]
    return "\n".join(lines) + "\n"
