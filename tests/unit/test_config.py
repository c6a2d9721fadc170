from pathlib import Path

import pytest

from hubpush import errors
from hubpush.config import DEFAULT_BASE_IMAGE, DEFAULT_REGISTRY, PushSettings
from hubpush.core.metadata import Visibility


def test_defaults(monkeypatch):
    monkeypatch.delenv("HUBPUSH_BASE_IMAGE", raising=False)
    settings = PushSettings.from_flags(path=Path("."))
    assert settings.registry == DEFAULT_REGISTRY and settings.effective_base_image == DEFAULT_BASE_IMAGE
    assert settings.visibility is None and settings.tags == []


def test_base_image_flag_beats_env_beats_default(monkeypatch):
    monkeypatch.setenv("HUBPUSH_BASE_IMAGE", "from/env:1")
    assert PushSettings.from_flags(path=Path(".")).effective_base_image == "from/env:1"
    assert PushSettings.from_flags(path=Path("."), base_image="from/flag:2").effective_base_image == "from/flag:2"
    assert PushSettings.from_flags(path=Path(".")).base_image_flag is None


def test_secret_from_env_only_for_updates(monkeypatch):
    monkeypatch.setenv("HUBPUSH_SECRET", "from-env")
    assert PushSettings.from_flags(path=Path(".")).secret is None  # a first publish is not an error
    assert PushSettings.from_flags(path=Path("."), force_update="X").secret == "from-env"
    assert PushSettings.from_flags(path=Path("."), force_update="X", secret="flag").secret == "flag"


def test_flag_errors():
    with pytest.raises(errors.ConflictingFlagsError):
        PushSettings.from_flags(path=Path("."), public=True, private=True)
    with pytest.raises(errors.SecretWithoutForceUpdateError):
        PushSettings.from_flags(path=Path("."), secret="x")
    with pytest.raises(errors.InvalidTagError):
        PushSettings.from_flags(path=Path("."), tags=["ok", "not ok"])
    with pytest.raises(errors.InvalidTagError):
        PushSettings.from_flags(path=Path("."), protected_tags=[".bad"])
    with pytest.raises(errors.InvalidBuildEnvError):
        PushSettings.from_flags(path=Path("."), build_env=["nope"])
    with pytest.raises(errors.InvalidExecutorNameError):
        PushSettings.from_flags(path=Path("."), force_update="bad name")


def test_private_and_build_env():
    settings = PushSettings.from_flags(path=Path("."), private=True, build_env=["A=1"], force_update="X", secret="s")
    assert settings.visibility is Visibility.PRIVATE and settings.build_env == {"A": "1"}
