import stat

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


def test_corrupt_cache_reads_as_empty(tmp_path):
    store = SecretStore(tmp_path)
    store.path.write_text("{not json")
    assert store.get("a", "b") is None
    store.put("a", "b", "c")
    assert store.get("a", "b") == "c"
