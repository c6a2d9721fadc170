import stat

import pytest

from hubpush.errors import SecretCacheError

from hubpush.secret_store import SecretStore


def test_cache_is_owner_only_and_keyed_by_registry_and_repository(tmp_path):
    store = SecretStore(tmp_path / "cfg")
    store.put("localhost:5000", "tags-hasher", "one")
    store.put("other:5000", "tags-hasher", "two")
    assert store.get("localhost:5000", "tags-hasher") == "one"
    assert store.get("other:5000", "tags-hasher") == "two"
    assert store.get("localhost:5000", "nope") is None
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700


def test_damaged_cache_is_refused_not_replaced(tmp_path):
    store = SecretStore(tmp_path)
    store.path.write_text('{"other:5000/x": "precious", ')
    with pytest.raises(SecretCacheError, match="repair or move it"):
        store.get("a", "b")
    with pytest.raises(SecretCacheError):
        store.put("a", "b", "c")
    assert store.path.read_text() == '{"other:5000/x": "precious", '  # untouched
    store.path.write_text('["not", "a", "mapping"]')
    with pytest.raises(SecretCacheError):
        store.get("a", "b")


def test_existing_folder_keeps_its_permissions_and_a_file_is_a_clear_error(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    SecretStore(shared).put("r", "x", "s")
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755
    assert stat.S_IMODE((shared / "secrets.json").stat().st_mode) == 0o600
    (tmp_path / "a-file").write_text("")
    with pytest.raises(SecretCacheError, match="cannot be written"):
        SecretStore(tmp_path / "a-file").put("r", "x", "s")
