"""The one publisher-token check both the hub API and the Jina API use (pure: no request is sent)."""

from __future__ import annotations

from aiohttp.test_utils import make_mocked_request

from hubpush.gateway.handlers.jina_api import _holds_publisher_token
from hubpush.gateway.hub import Hub
from hubpush.gateway.settings import GatewaySettings

TOKEN = "team-publisher-token-0123456789abcdef"


def hub(token: str | None = TOKEN) -> Hub:
    return Hub.from_settings(GatewaySettings(upstream="http://localhost:1", token_key=b"k" * 32, publisher_token=token))


def test_only_the_token_itself_passes_and_any_text_is_merely_wrong():
    guarded = hub()
    assert guarded.is_publisher_token(TOKEN)
    for wrong in ["", TOKEN[:-1], TOKEN + "x", "\udcff\udcfe", "é" + TOKEN]:
        assert not guarded.is_publisher_token(wrong)
    assert not hub(None).is_publisher_token(TOKEN)  # an open hub has no publisher token to hold


def test_a_configured_token_that_is_not_ascii_still_matches_itself():
    assert hub("é" + "a" * 31).is_publisher_token("é" + "a" * 31)


def test_jina_sends_it_as_an_ascii_token_and_unicode_spaces_around_it_do_not_count():
    guarded = hub()
    def holds(value: str) -> bool:
        return _holds_publisher_token(guarded, make_mocked_request("POST", "/", headers={"Authorization": value}))
    assert holds(f"token {TOKEN}") and holds(f"Token  {TOKEN} ")
    for wrong in [f"Bearer {TOKEN}", f"token {TOKEN}\u00a0", f"token \u3000{TOKEN}", f"token{TOKEN}", "token "]:
        assert not holds(wrong), wrong
