import pytest

from hubpush.errors import InvalidRegistryAddressError
from hubpush.config import PushSettings
from hubpush.oci.reference import parse_registry_address


@pytest.mark.parametrize(
    "address, expected",
    [
        ("localhost:5000", ("http://localhost:5000", "localhost:5000", "")),
        ("127.0.0.1:5000", ("http://127.0.0.1:5000", "127.0.0.1:5000", "")),
        ("[::1]:5000", ("http://[::1]:5000", "[::1]:5000", "")),
        ("registry.corp:5000", ("https://registry.corp:5000", "registry.corp:5000", "")),
        ("harbor.corp/ml-team", ("https://harbor.corp", "harbor.corp", "ml-team")),
        ("localhost:5000/team-a/ml/", ("http://localhost:5000", "localhost:5000", "team-a/ml")),
        ("http://registry.corp:5000", ("http://registry.corp:5000", "registry.corp:5000", "")),
        ("https://localhost:5443", ("https://localhost:5443", "localhost:5443", "")),
    ],
)
def test_addresses(address, expected):
    assert parse_registry_address(address) == expected


@pytest.mark.parametrize("address", ["", "localhost:5000/Team", "h/a//b", "ftp://h", "h/hubpush-meta", "h/x/hubpush-meta/y"])
def test_bad_addresses(address):
    with pytest.raises(InvalidRegistryAddressError):
        parse_registry_address(address)


def test_bad_registry_is_refused_with_the_flags(tmp_path):
    with pytest.raises(InvalidRegistryAddressError):
        PushSettings.from_flags(path=tmp_path / "not-even-checked", registry="localhost:5000/UPPER")
