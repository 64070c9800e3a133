"""Which accounts file a deploy builds, and what a change to ``cdk.json`` does to the deploy.

``npx cdk deploy`` builds the file named by the ``config`` context, which ``cdk.json`` may set; the review
(``switchrole diff``) and ``validate`` once read ``accounts.yaml`` whatever ``cdk.json`` said, so a pull
request could point the deploy at another file that no review had read. Now every switchrole command without
``--config`` resolves the file as the CDK app does (:func:`default_config`: ``cdk.json``'s ``config``, else
``accounts.yaml``), and ``diff`` reports a change to ``cdk.json`` itself (:func:`cdk_json_changes`): the
command the deploy runs, the file it builds, every other setting.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

DEFAULT_CONFIG = "accounts.yaml"
CDK_JSON = "cdk.json"


def _read(text: str | bytes | None) -> dict[str, Any] | None:
    try:
        data = json.loads(text) if text is not None else None
    except ValueError:
        return {"(not JSON)": True}
    return data if isinstance(data, dict) else {"(not an object)": True}


def configured(settings: dict[str, Any] | None) -> str:
    """The accounts file ``cdk.json`` (parsed) names for the CDK app: its ``context.config``."""
    context = (settings or {}).get("context")
    value = context.get("config") if isinstance(context, dict) else None
    return value if isinstance(value, str) and value else DEFAULT_CONFIG


def default_config(directory: Path = Path()) -> Path:
    """The accounts file a command without ``--config`` reads: the one ``npx cdk deploy`` in ``directory``
    builds (``cdk.json``'s ``config`` context), else ``accounts.yaml``."""
    path = directory / CDK_JSON
    try:
        settings = _read(path.read_text()) if path.is_file() else None
    except OSError:
        settings = None
    return Path(configured(settings))


def cdk_json_changes(base: str, directory: Path) -> tuple[list[str], list[str]]:
    """(destructive, other) review lines for ``cdk.json`` in ``directory`` against git revision ``base``."""
    shown = subprocess.run(
        ["git", "-C", str(directory), "show", f"{base}:./{CDK_JSON}"], capture_output=True, check=False
    )
    before = _read(shown.stdout) if shown.returncode == 0 else None
    path = directory / CDK_JSON
    after = _read(path.read_bytes()) if path.is_file() else None
    if before == after:
        return [], []
    destructive, other = [], []
    if (before or {}).get("app") != (after or {}).get("app"):
        destructive.append(
            f"cdk.json: the command `npx cdk deploy` runs changes: {(before or {}).get('app')!r} -> "
            f"{(after or {}).get('app')!r} (it decides everything that is deployed)"
        )
    if configured(before) != configured(after):
        destructive.append(
            f"cdk.json: the deploy builds {configured(after)!r}, not {configured(before)!r}; this review read "
            f"{configured(after)!r}"
        )
    if not destructive:
        other.append("cdk.json changed (feature flags or other settings of the deploy): review it line by line")
    return destructive, other
