"""The AWS CLI commands a finding suggests (switchrole runs none of them): names quoted for a shell."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable, Mapping
from typing import Any

from switchrole.infra.assembly_reader import ExpectedRole
from switchrole.model.organisation import MANAGED_BY_TAG


def q(value: str) -> str:
    """``value`` quoted for a POSIX shell: names from the file or from AWS never split or expand."""
    return shlex.quote(value)


def document_arg(document: Mapping[str, Any]) -> str:
    return q(json.dumps(document, separators=(",", ":")))


def iam_cmd(*args: str) -> str:
    return "aws iam " + " ".join(args)


def delete_role_commands(
    name: str, managed: Iterable[str], inline: Iterable[str], profiles: Iterable[str]
) -> list[str]:
    commands = [iam_cmd("detach-role-policy", "--role-name", q(name), "--policy-arn", q(a)) for a in sorted(managed)]
    commands += [iam_cmd("delete-role-policy", "--role-name", q(name), "--policy-name", q(p)) for p in sorted(inline)]
    commands += [
        iam_cmd("remove-role-from-instance-profile", "--instance-profile-name", q(p), "--role-name", q(name))
        for p in sorted(profiles)
    ]
    return [*commands, iam_cmd("delete-role", "--role-name", q(name))]


def create_role_commands(role: ExpectedRole) -> list[str]:
    create = [
        "create-role", "--role-name", q(role.name), "--path", q(role.path),
        "--assume-role-policy-document", document_arg(role.trust),
        "--max-session-duration", str(role.max_session_duration),
        "--tags", q(f"Key={MANAGED_BY_TAG[0]},Value={MANAGED_BY_TAG[1]}"),
    ]  # fmt: skip
    if role.boundary:
        create += ["--permissions-boundary", q(role.boundary)]
    commands = [iam_cmd(*create)]
    commands += [
        iam_cmd("attach-role-policy", "--role-name", q(role.name), "--policy-arn", q(a))
        for a in sorted(role.managed_policy_arns)
    ]
    commands += [
        iam_cmd(
            "put-role-policy",
            "--role-name",
            q(role.name),
            "--policy-name",
            q(n),
            "--policy-document",
            document_arg(d),
        )
        for n, d in sorted(role.inline_policies.items())
    ]
    return commands
