"""boto3 sessions that share botocore's data: one parse of the service models per process, not one per session.

Why: every ``boto3.Session`` gets a botocore session with a data loader of its own, and the loader's cache
(service models, endpoint rulesets, the endpoints file, the list of services) lives on that loader. A switch
uses three sessions (the source, its MFA session, the role's), so each check parsed the same JSON files again:
in the emulator's demo, a six-round `--then` run spent 50 of its 135 s of CPU creating clients. The loader is
read-only once built (botocore's own clients share one per session, across threads), so every session made
here uses the first one's (one per `data_path` setting, botocore's folders of extra models). Credentials,
regions and profiles stay each session's own.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import boto3
    import botocore.session

_LOCK = threading.Lock()
_SHARED: dict[Any, Any] = {}  # botocore's data_path setting (AWS_DATA_PATH, or a profile's) -> its loader


def share_data(core: botocore.session.Session) -> botocore.session.Session:
    """``core`` reading botocore's data through the process's shared loader for its data path (the first such
    session's); ``core``."""
    data_path = core.get_config_variable("data_path")  # where extra models are read from: one loader per setting
    with _LOCK:
        if data_path in _SHARED:
            core.register_component("data_loader", _SHARED[data_path])
        else:
            _SHARED[data_path] = core.get_component("data_loader")
    return core


def session(
    aws_access_key_id: str | None = None,
    aws_secret_access_key: str | None = None,
    aws_session_token: str | None = None,
    region_name: str | None = None,
    *,
    botocore_session: botocore.session.Session | None = None,
) -> boto3.Session:
    """``boto3.Session`` with these arguments, sharing botocore's parsed data with every session made here."""
    import boto3
    import botocore.session

    core = share_data(botocore_session or botocore.session.Session())
    made = boto3.Session(
        aws_access_key_id=aws_access_key_id,
        aws_secret_access_key=aws_secret_access_key,
        aws_session_token=aws_session_token,
        region_name=region_name,
        botocore_session=core,
    )
    _forget_repeated_paths(core)
    return made


def _forget_repeated_paths(core: botocore.session.Session) -> None:
    """boto3 appends its own data folder to the loader's search paths for each session it makes: with a shared
    loader, once is enough (a longer list would only be searched again, path by path)."""
    paths = core.get_component("data_loader").search_paths
    with _LOCK:
        unique = list(dict.fromkeys(paths))
        if len(unique) != len(paths):
            paths[:] = unique
