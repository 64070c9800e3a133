"""switchrole.client.boto: sessions share botocore's parsed data, and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from switchrole.client.boto import session
from switchrole.client.sessions import profile_session


def test_sessions_share_one_loader_and_keep_their_own_credentials_and_regions() -> None:
    first = session("AKIAFIRST", "secret-1", region_name="eu-west-1")
    second = session("AKIASECOND", "secret-2", "token-2", region_name="us-east-1")
    loader = first._session.get_component("data_loader")
    assert second._session.get_component("data_loader") is loader
    assert profile_session(None, "us-west-2")._session.get_component("data_loader") is loader
    assert first.get_credentials().access_key == "AKIAFIRST" and second.get_credentials().token == "token-2"
    assert (first.region_name, second.region_name) == ("eu-west-1", "us-east-1")
    for _ in range(20):
        session("AKIAMORE", "secret")
    assert len(loader.search_paths) == len(set(loader.search_paths))  # boto3 appends its data folder per session


def test_a_client_of_a_later_session_reads_the_models_the_first_one_parsed() -> None:
    session("AKIAFIRST", "secret-1", region_name="eu-west-1").client("sts")
    loader = session("AKIASECOND", "secret-2")._session.get_component("data_loader")
    cached = {key[0] for key in loader._cache}  # botocore's instance_cache: (method name, arguments...)
    assert "load_service_model" in cached and "list_available_services" in cached
    client = session("AKIATHIRD", "secret-3", region_name="eu-west-1").client("sts", endpoint_url="http://127.0.0.1:9")
    assert client.meta.region_name == "eu-west-1" and client._request_signer._credentials.access_key == "AKIATHIRD"


def test_a_session_reading_other_model_folders_gets_a_loader_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_DATA_PATH", raising=False)
    plain = session("AKIAPLAIN", "secret")._session.get_component("data_loader")
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))  # botocore's data_path: extra service models
    other = session("AKIAOTHER", "secret")._session.get_component("data_loader")
    assert other is not plain and str(tmp_path) in other.search_paths and str(tmp_path) not in plain.search_paths
    assert session("AKIAAGAIN", "secret")._session.get_component("data_loader") is other
