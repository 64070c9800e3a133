"""``switchrole onboard``: add a project account (and its grants) to the accounts file, as a reviewable edit.

The file is reviewed by people, so the edit must be minimal: every existing
byte (comments, order, alignment, quoting) stays as it was. ruamel.yaml parses
the file to find *where* to write (line and column of the accounts list and
of each grant); the new text is spliced in, in the style of its neighbours; and
the result is parsed again and compared with the intended data before
anything is written. Invalid results are refused with the file untouched.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from switchrole.model.errors import ConfigError, Problem, edited_label
from switchrole.model.loading import loads, parse_yaml, to_plain
from switchrole.model.organisation import Organisation
from switchrole.model.schema import USER_NAME_CHARS

GRANT_SPEC = re.compile(rf"(?P<group>{USER_NAME_CHARS}+):(?P<role>[A-Za-z][A-Za-z0-9]*)")  # group names


@dataclass(frozen=True)
class NewAccount:
    name: str
    account_id: str
    roles: tuple[str, ...]
    grants: tuple[tuple[str, str], ...] = ()  # (group, role kind)
    region: str | None = None


def parse_grant(text: str) -> tuple[str, str]:
    match = GRANT_SPEC.fullmatch(text)
    if not match:
        raise ConfigError.single(("--grant",), f"expected GROUP:ROLE, got {text!r}")
    return match["group"], match["role"]


def onboard(text: str, new: NewAccount, source: str) -> tuple[str, list[str]]:
    """The edited file text, and notes for the operator; raises :class:`ConfigError` (nothing to write)."""
    root = parse_yaml(text, source)
    lines = text.splitlines(keepends=True)
    expected = copy.deepcopy(to_plain(root))
    notes: list[str] = []
    edits: list[tuple[int, int, str]] = []  # (line index, column or -1 for a new line before it, text)

    accounts = root.get("accounts")
    if not isinstance(accounts, CommentedSeq) or not accounts:
        raise ConfigError.single(("accounts",), "onboard needs an existing, non-empty accounts list to extend", source)
    edits.append(_account_edit(accounts, lines, new))
    entry: dict[str, Any] = {"name": new.name, "account_id": new.account_id, "roles": list(new.roles)}
    if new.region:
        entry["region"] = new.region
    expected["accounts"].append(entry)

    groups = root.get("groups") or CommentedMap()
    for group, role in new.grants:
        if group not in groups:
            raise ConfigError.single(("--grant",), f"unknown group {group!r} (groups: {', '.join(groups)})", source)
        if role not in new.roles:
            raise ConfigError.single(
                ("--grant",), f"{group}:{role}: {new.name} does not get role kind {role!r}", source
            )
        grants = groups[group].get("grants") if isinstance(groups[group], CommentedMap) else None
        if not isinstance(grants, CommentedSeq) or not grants:
            raise ConfigError.single(("groups", group, "grants"), "onboard extends existing grants lists only", source)
        explicit = [i for i, g in enumerate(grants) if g.get("role") == role and isinstance(g.get("accounts"), list)]
        star = [g for g in grants if g.get("role") == role and g.get("accounts") == "*"]
        if star:
            notes.append(f'{group} already has {role} in every account that has it (accounts: "*")')
            continue
        if explicit:
            index = explicit[0]
            edits.append(_append_to_list(grants[index]["accounts"], lines, new.name))
            expected["groups"][group]["grants"][index]["accounts"].append(new.name)
        else:
            edits.append(_append_item(grants, lines, {"role": role, "accounts": [new.name]}))
            expected["groups"][group]["grants"].append({"role": role, "accounts": [new.name]})

    edited = _apply(lines, edits)
    unwritten = edited_label(source)
    try:
        if to_plain(parse_yaml(edited, source)) != expected:  # the splice must mean exactly what was intended
            raise ConfigError.single((), "internal error: the edit would not round-trip; the file was not changed")
        org = loads(edited, source)  # schema and references; quotas are checked by the caller (full pipeline)
    except ConfigError as exc:
        raise exc.unlocated(unwritten) from None
    notes += _star_reach(org, new)
    return edited, notes


def _star_reach(org: Organisation, new: NewAccount) -> list[str]:
    """The groups whose ``accounts: "*"`` grants reach the new account without any edit."""
    reach = [
        f"{group.name} ({grant.role})"
        for group in org.groups.values()
        for grant in group.grants
        if grant.all_accounts and grant.role in new.roles
    ]
    if not reach:
        return []
    return [f'{", ".join(reach)} reach {new.name} too, through accounts: "*" (no edit needed; the review shows it)']


def _apply(lines: list[str], edits: list[tuple[int, int, str]]) -> str:
    result = list(lines)
    for index, column, text in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        if column < 0:
            result.insert(index, text)
        else:
            result[index] = result[index][:column] + text + result[index][column:]
    return "".join(result)


def _dash(seq: CommentedSeq, lines: list[str]) -> tuple[int, int, int]:
    """(line, dash column, content column) of the last item of a block sequence."""
    line, column = seq.lc.item(len(seq) - 1)
    return line, lines[line].rfind("-", 0, column), column


def _item_end(seq: CommentedSeq, lines: list[str]) -> int:
    """Index of the line just after the last item of a block sequence (trailing blanks and comments excluded)."""
    line, dash, _ = _dash(seq, lines)
    end = line + 1
    while end < len(lines):
        stripped = lines[end].strip()
        if stripped and not stripped.startswith("#"):
            indent = len(lines[end]) - len(lines[end].lstrip(" "))
            if indent < dash or (indent == dash and not stripped.startswith("-")):
                break
        end += 1
    while end > line + 1 and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
        end -= 1
    return end


def _flow(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    return str(value)


def _aligned(prefix: str, item: dict[str, Any], neighbour: str) -> str:
    """``prefix`` + the flow mapping of ``item``, each key starting in the column where the neighbour line
    has it (when it fits), so padded columns stay aligned."""
    text = prefix + "{"
    for index, (key, value) in enumerate(item.items()):
        if index:
            text += ","
            column = neighbour.find(f" {key}: ")
            text += " " * max(1, column + 1 - len(text)) if column >= 0 else " "
        text += f"{key}: {_flow(value)}"
    return text + "}\n"


def _account_edit(accounts: CommentedSeq, lines: list[str], new: NewAccount) -> tuple[int, int, str]:
    fields = {"name": new.name, "account_id": f'"{new.account_id}"', "roles": list(new.roles)}
    if new.region:
        fields["region"] = new.region
    return _append_item(accounts, lines, fields)


def _append_to_list(items: CommentedSeq, lines: list[str], name: str) -> tuple[int, int, str]:
    """Add ``name`` to an accounts list: inside ``[...]`` when flow style, as a new ``- name`` line when block."""
    if items.fa.flow_style():
        line, column = items.lc.line, items.lc.col
        depth = 0
        for position in range(column, len(lines[line])):
            depth += {"[": 1, "]": -1}.get(lines[line][position], 0)
            if depth == 0:
                return line, position, f", {name}"
        raise ConfigError([Problem((), "a flow-style accounts list spans several lines; add the account by hand")])
    _, dash, _ = _dash(items, lines)
    return _item_end(items, lines), -1, f"{' ' * dash}- {name}\n"


def _append_item(seq: CommentedSeq, lines: list[str], item: dict[str, Any]) -> tuple[int, int, str]:
    """A new last item of ``seq``, flow or block style like the current last one."""
    _, dash, column = _dash(seq, lines)
    if isinstance(seq[-1], CommentedMap) and seq[-1].fa.flow_style():
        line, _, _ = _dash(seq, lines)
        return _item_end(seq, lines), -1, _aligned(f"{' ' * dash}- ", item, lines[line])
    (first, value), *rest = item.items()
    text = f"{' ' * dash}- {first}: {_flow(value)}\n" + "".join(f"{' ' * column}{k}: {_flow(v)}\n" for k, v in rest)
    return _item_end(seq, lines), -1, text


def next_steps(new: NewAccount, *, hub_account_id: str, region: str, config: str) -> list[str]:
    """What the operator does after the pull request merges."""
    from switchrole.infra.bootstrap import bootstrap_command

    bootstrap = " ".join(bootstrap_command(new.account_id, new.region or region, "bootstrap-template.json"))
    context = "" if config == "accounts.yaml" else f" -c config={config}"
    return [
        "1. Open a pull request with this change; CI posts `switchrole diff --base origin/main` for review.",
        "2. After merge, bootstrap the new account with switchrole's template, from its first-access session "
        "(OrganizationAccountAccessRole, see docs/onboarding.md): only the account's own deployer roles may deploy "
        "into it, no principal of the hub",
        f"     switchrole bootstrap-template --config {config} --out bootstrap-template.json",
        f"     {bootstrap}",
        "3. Deploy the new account's roles from that same session (or let CI deploy them with the account's "
        "GitHub OIDC role), then the hub's new grants from the hub (hub " + hub_account_id + "):",
        f"     npx cdk deploy SwitchRole-{new.name}{context}",
        f"     npx cdk deploy SwitchRole-Hub{context}",
        "4. Prove it works, as a granted user:",
        f"     switchrole smoke --all --config {config} --user <user>",
    ]
