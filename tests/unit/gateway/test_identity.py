"""Basic credentials as the gateway reads them and the CLI sends them."""

from __future__ import annotations

import base64

from hubpush.gateway.identity import basic_credentials
from hubpush.oci.client import utf8_basic


def basic(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def test_utf8_and_latin1_secrets_are_read_as_sent_and_garbage_as_none():
    assert basic_credentials(basic("Exec:秘密".encode())) == ("Exec", "秘密")
    assert basic_credentials(basic("Exec:sécrét".encode("latin-1"))) == ("Exec", "sécrét")  # curl, or requests' default
    assert basic_credentials("!!!not base64") == ("", "")


def test_the_cli_sends_basic_auth_as_utf8():
    auth = utf8_basic(("Exec", "秘密"))
    assert (auth.username, auth.password) == (b"Exec", "秘密".encode())
