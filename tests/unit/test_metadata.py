import json

import pytest

from hubpush.errors import MetadataCorruptError
from hubpush.metadata import ExecutorMetadata, Visibility


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
