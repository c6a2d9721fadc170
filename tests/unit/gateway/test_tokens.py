"""Sealed values (the portal's cookie and form token): signed per purpose, expiring, never a bearer token."""

from hubpush.gateway.tokens import TokenSigner

SIGNER = TokenSigner(b"k" * 32)


def test_a_sealed_value_opens_for_its_purpose_until_it_expires():
    sealed = SIGNER.seal("hubpush-portal", {"repositories": ["a"]}, ttl=60, now=1000)
    assert SIGNER.unseal("hubpush-portal", sealed, now=1059) == {"repositories": ["a"], "exp": 1060}
    assert SIGNER.unseal("hubpush-portal", sealed, now=1061) is None


def test_a_sealed_value_passes_for_no_other_purpose_and_no_token():
    sealed = SIGNER.seal("hubpush-csrf", {"nonce": "n"}, ttl=60)
    assert SIGNER.unseal("hubpush-portal", sealed) is None
    assert SIGNER.verify(sealed) is None
    assert SIGNER.unseal("hubpush-portal", SIGNER.issue("a", {"a": frozenset({"pull"})})) is None


def test_a_changed_or_damaged_value_is_refused():
    payload, _, signature = SIGNER.seal("p", {"x": 1}, ttl=60).partition(".")
    assert SIGNER.unseal("p", f"{payload}x.{signature}") is None
    assert SIGNER.unseal("p", f"{payload}.{signature[:-1]}") is None
    for junk in ["", ".", "e30.x", "ü.ü", "not-a-seal"]:
        assert SIGNER.unseal("p", junk) is None


def test_undecodable_bytes_from_a_header_are_merely_wrong():
    # aiohttp hands header bytes that are not UTF-8 over as lone surrogates
    for value in ["a.\udcff\udcfe", "\udcff.x", "e30.\udcff"]:
        assert SIGNER.unseal("hubpush-portal", value) is None
        assert SIGNER.verify(value) is None


def test_an_access_token_names_its_repositories_expires_and_passes_for_nothing_else():
    token, expires = SIGNER.issue_access(["b", "a"], hours=1, now=1000.0)
    assert expires == 1000 + 3600 and token.startswith("hpat.")
    assert SIGNER.verify_access(token, now=1001.0) == frozenset({"a", "b"})
    assert SIGNER.verify_access(token, now=expires + 1.0) is None
    assert SIGNER.verify(token[len("hpat."):]) is None  # never a bearer token
    assert SIGNER.unseal("jina-source", token[len("hpat."):], now=1001.0) is None  # never a source URL's token
    sealed_elsewhere = SIGNER.seal("hubpush-portal", {"pull": ["a"]}, ttl=60, now=1000.0)
    assert SIGNER.verify_access("hpat." + sealed_elsewhere, now=1001.0) is None  # a portal cookie is no access token
    assert SIGNER.verify_access(token[len("hpat."):], now=1001.0) is None
    assert TokenSigner(b"o" * 32).verify_access(token, now=1001.0) is None  # another hub's key
