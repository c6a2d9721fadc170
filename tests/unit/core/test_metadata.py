import json

import pytest

from hubpush.errors import MetadataCorruptError
from hubpush.core.metadata import ExecutorMetadata, Visibility


def test_roundtrip_and_history():
    meta = ExecutorMetadata("N", "n", Visibility.PRIVATE, "scrypt$h", "t0", "t0", protected_tags=["v1"])
    meta.record_push(["v1", "latest"], "sha256:abc", "t1")
    again = ExecutorMetadata.from_json(meta.to_json(), where="x")
    assert again == meta
    assert again.tags["latest"].digest == "sha256:abc"
    assert [h.tag for h in again.history] == ["v1", "latest"]
    assert json.loads(meta.to_json())["visibility"] == "private"


@pytest.mark.parametrize("raw", [b"not json", b"{}", b'{"name": "x"}', b"[]"])
def test_corrupt_documents_are_a_clear_error(raw):
    with pytest.raises(MetadataCorruptError, match="reg/hubpush-meta/x"):
        ExecutorMetadata.from_json(raw, where="reg/hubpush-meta/x")


def test_absorb_keeps_a_concurrent_pushs_tags_and_never_drops_protection():
    ours = ExecutorMetadata("N", "n", Visibility.PUBLIC, "h", "t0", "t0", protected_tags=["v1"])
    latest = ExecutorMetadata("N", "n", Visibility.PUBLIC, "h", "t0", "t1", protected_tags=["lts"])
    latest.record_push(["lts"], "sha256:other", "t1")
    ours.absorb(latest)
    ours.record_push(["v1"], "sha256:mine", "t2")
    assert ours.protected_tags == ["lts", "v1"]
    assert {t: r.digest for t, r in ours.tags.items()} == {"lts": "sha256:other", "v1": "sha256:mine"}
    assert [h.tag for h in ours.history] == ["lts", "v1"]


def test_the_history_keeps_the_newest_entries_only():
    from hubpush.core.metadata import MAX_HISTORY, ExecutorMetadata, Visibility

    metadata = ExecutorMetadata("A", "a", Visibility.PUBLIC, "h", "t", "t")
    for number in range(MAX_HISTORY + 5):
        metadata.record_push(["latest"], f"sha256:{number:064d}", f"t{number}")
    assert len(metadata.history) == MAX_HISTORY and metadata.history[-1].pushed_at == f"t{MAX_HISTORY + 4}"
