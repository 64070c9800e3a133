"""AWS CLI profiles for a permission set's people, read back by botocore's own loader: an sso-session, the set's
hub profile, and role profiles that switch from it (at most an hour: role chaining)."""

from __future__ import annotations

from pathlib import Path

import botocore.exceptions
import botocore.session
import pytest
from factories import ROOT
from typer.testing import CliRunner

from switchrole.cli.main import app
from switchrole.client.identity_center_profiles import permission_set_block
from switchrole.model.loading import loads

EXAMPLE = ROOT / "examples" / "identity-center.yaml"
runner = CliRunner()


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config"
    path.write_text(permission_set_block(loads(EXAMPLE.read_text(), "ic.yaml"), "SRE", session_name="alice"))
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(path))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("HOME", str(tmp_path))  # botocore's SSO token cache (~/.aws/sso/cache) is empty here
    return path


def test_botocore_reads_the_sso_session_and_every_profile(config: Path) -> None:
    full = botocore.session.Session().full_config
    assert full["sso_sessions"]["switchrole"] == {
        "sso_start_url": "https://d-1234567890.awsapps.com/start",
        "sso_region": "eu-west-1",
        "sso_registration_scopes": "sso:account:access",
    }
    profiles = full["profiles"]
    assert profiles["identity-SRE"] == {
        "sso_session": "switchrole",
        "sso_account_id": "111111111111",
        "sso_role_name": "SRE",
        "region": "eu-west-1",
    }
    assert sorted(p for p in profiles if p != "identity-SRE") == [
        "pay-dev-ReadOnly",
        "pay-prod-Admin",
        "pay-prod-ReadOnly",
    ]
    admin = profiles["pay-prod-Admin"]
    assert admin["role_arn"] == "arn:aws:iam::222222222222:role/switchrole/Admin"
    assert (admin["source_profile"], admin["duration_seconds"], admin["role_session_name"]) == (
        "identity-SRE",
        "3600",
        "alice",
    )


def test_botocore_resolves_a_role_profile_through_the_sso_sign_in(config: Path) -> None:
    """The chain is botocore's own: the role profile's source is the SSO profile, which needs a sign-in (no
    token is cached here), so botocore asks for `aws sso login`, not for keys."""
    session = botocore.session.Session(profile="pay-prod-Admin")
    with pytest.raises((botocore.exceptions.SSOTokenLoadError, botocore.exceptions.TokenRetrievalError)):
        session.get_credentials().get_frozen_credentials()


def test_the_cli_merges_a_permission_sets_block_and_refuses_user_options(tmp_path: Path) -> None:
    target = tmp_path / "config"
    target.write_text("[profile mine]\nregion = eu-west-1\n")
    result = runner.invoke(
        app, ["profiles", "--config", str(EXAMPLE), "--permission-set", "Developers", "--merge", str(target)]
    )
    assert result.exit_code == 0, result.stderr
    text = target.read_text()
    assert text.startswith("[profile mine]\nregion = eu-west-1\n") and "[profile pay-dev-Deployer]" in text
    assert "pay-prod-Deployer" not in text  # the grant has expired: no profile
    refused = runner.invoke(
        app, ["profiles", "--config", str(EXAMPLE), "--permission-set", "SRE", "--hub-profile", "x"]
    )
    assert refused.exit_code == 2 and refused.stdout == "" and "for --user" in refused.stderr
