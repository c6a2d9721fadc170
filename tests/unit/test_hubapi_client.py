"""The CLI turns the gateway's OCI error bodies back into hubpush's own errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from hubpush import errors
from hubpush.gateway.settings import GatewaySettings
from hubpush.hubapi_client import error_from as _error_from


def test_the_gateway_error_kind_becomes_the_same_error_class_and_sentence():
    body = {"errors": [{"code": "DENIED", "message": "Tag 'v1' is protected.", "detail": {"kind": "protected-tag", "exit_code": 24}}]}
    error = _error_from(body, "fallback.")
    assert isinstance(error, errors.ProtectedTagError) and error.message == "Tag 'v1' is protected."


@pytest.mark.parametrize(
    "body",
    [{}, {"errors": []}, {"errors": [{"code": "X"}]}, "not json", None, {"errors": [{"message": "m", "detail": {"kind": "??"}}]}],
)
def test_unknown_or_broken_bodies_become_a_registry_error(body):
    error = _error_from(body, "The hub at h refused to x (HTTP 500).")
    assert type(error) is errors.RegistryError and "refused to x" in error.message


def test_gateway_settings_validate_flags(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("HUBPUSH_GATEWAY_TOKEN_KEY", raising=False)
    monkeypatch.delenv("HUBPUSH_GATEWAY_PUBLISHER_TOKEN", raising=False)
    monkeypatch.delenv("HUBPUSH_GATEWAY_UPSTREAM", raising=False)
    with pytest.raises(errors.HubStartError, match="--upstream"):
        GatewaySettings.from_flags(upstream=None, listen="127.0.0.1:5000")
    with pytest.raises(errors.HubStartError, match="--listen"):
        GatewaySettings.from_flags(upstream="http://r:5000", listen="5000")
    with pytest.raises(errors.HubStartError, match="cannot be read"):
        GatewaySettings.from_flags(upstream="http://r:5000", listen="h:1", token_key_file=tmp_path / "missing")
    (tmp_path / "short").write_text("abc")
    with pytest.raises(errors.HubStartError, match="at least 32"):
        GatewaySettings.from_flags(upstream="http://r:5000", listen="h:1", token_key_file=tmp_path / "short")

    random_key = GatewaySettings.from_flags(upstream="http://r:5000/", listen="0.0.0.0:5001")
    assert random_key.ephemeral_key and len(random_key.token_key) == 32 and random_key.upstream == "http://r:5000"
    (tmp_path / "key").write_text("k" * 64 + "\n")
    (tmp_path / "publisher").write_text("team-token\n")
    shared = GatewaySettings.from_flags(
        upstream="http://r:5000", listen="[::1]:5001", token_key_file=tmp_path / "key", publisher_token_file=tmp_path / "publisher"
    )
    assert not shared.ephemeral_key and shared.token_key == b"k" * 64
    assert shared.publisher_token == "team-token" and shared.host == "::1" and shared.port == 5001
