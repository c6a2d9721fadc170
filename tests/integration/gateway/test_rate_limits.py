"""What a client over its budget of failed secret checks meets: 429 with Retry-After on every surface,
the CLI's sentence and exit 39, the portal's sentence, and a registry left as it was.

One gateway whose budget is a single failure per address per hour: the first wrong secret from
this machine is checked (and refused as wrong), every later unverified one is refused unchecked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests

from hubpush.core.names import repository_for
from tests.conftest import CliResult, Gateway, cli_publisher, running_gateway, running_registry

LIMITS = {
    "HUBPUSH_GATEWAY_ADDRESS_FAILURES": "1",
    "HUBPUSH_GATEWAY_NAME_FAILURES": "1",
    "HUBPUSH_GATEWAY_FAILURE_WINDOW_SECONDS": "3600",
}


@pytest.fixture(scope="module")
def strict_hub(docker_client, tmp_path_factory) -> Iterator[Gateway]:
    with running_registry(docker_client) as behind, running_gateway(behind, tmp_path_factory.mktemp("strict"), env=LIMITS) as gateway:
        yield gateway


@pytest.fixture(scope="module")
def published(strict_hub, tmp_path_factory) -> dict:
    out, _ = cli_publisher(strict_hub.address, tmp_path_factory.mktemp("publisher"))()
    # this machine's one failure of the hour: checked, and refused as wrong
    wrong = requests.get(f"{strict_hub.url}/hubpush/v1/token", params={"service": "hubpush"}, auth=(out["name"], "wrong-1"), timeout=30)
    assert wrong.status_code == 401, wrong.text
    return out


@pytest.fixture
def on_hub(hubpush, strict_hub):
    def run(*args: object) -> CliResult:
        return hubpush(*args, env={"HUBPUSH_REGISTRY": strict_hub.address})

    return run


def assert_refused_unchecked(result: CliResult, strict_hub: Gateway, before: dict) -> None:
    assert result.exit_code == 39, result.stderr + result.stdout
    assert re.search(r"Too many wrong NAME/SECRET attempts came from your address; .*try again in \d+ seconds\.", result.stderr), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert strict_hub.registry.snapshot() == before


def test_the_token_service_and_v2_answer_429_with_retry_after_and_an_oci_body(strict_hub, published):
    for response in (
        requests.get(f"{strict_hub.url}/hubpush/v1/token", params={"service": "hubpush"}, auth=(published["name"], "wrong-2"), timeout=30),
        requests.get(f"{strict_hub.url}/v2/", auth=(published["name"], "wrong-3"), timeout=30),
    ):
        assert response.status_code == 429, response.text
        assert 3000 < int(response.headers["Retry-After"]) <= 3600  # one failure an hour: back in about an hour
        error = response.json()["errors"][0]
        assert error["code"] == "TOOMANYREQUESTS" and error["detail"] == {"kind": "rate-limited", "exit_code": 39}
        assert f"try again in {response.headers['Retry-After']} seconds" in error["message"]
    # no trusted proxies are configured: a client's own X-Forwarded-For changes nothing
    disguised = requests.get(f"{strict_hub.url}/v2/", auth=(published["name"], "wrong-8"), headers={"X-Forwarded-For": "203.0.113.7"}, timeout=30)
    assert disguised.status_code == 429


def test_push_show_and_pull_with_a_wrong_secret_say_when_to_retry_and_exit_39(on_hub, strict_hub, published, make_executor):
    folder, _ = make_executor(name=published["name"])
    before = strict_hub.registry.snapshot()
    assert_refused_unchecked(on_hub("push", folder, "--force-update", published["name"], "--secret", "wrong-4"), strict_hub, before)
    assert_refused_unchecked(on_hub("show", published["name"], "--secret", "wrong-5"), strict_hub, before)
    assert_refused_unchecked(on_hub("pull", published["name"], "--secret", "wrong-6"), strict_hub, before)


def test_the_owners_recently_verified_secret_still_passes_from_a_limited_address(on_hub, published, make_executor):
    # the publish verified this pair a moment ago (its image push logged in with it): the cache answers, no budget needed
    shown = on_hub("show", "--json", published["name"], "--secret", published["secret"])
    assert shown.exit_code == 0, shown.stderr
    assert shown.json["repository"].endswith(repository_for(published["name"]))


def test_the_portal_unlock_form_says_when_to_retry(strict_hub, published):
    session = requests.Session()
    repository = repository_for(published["name"])
    locked = session.get(f"{strict_hub.url}/executors/{repository}-not-here", timeout=30)
    csrf = re.search(r'name="csrf" value="([^"]+)"', locked.text)[1]
    answer = session.post(
        f"{strict_hub.url}/executors/{repository}-not-here/unlock",
        data={"name": published["name"], "secret": "wrong-7", "csrf": csrf},
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 429 and answer.headers["Retry-After"].isdigit()
    assert "text/html" in answer.headers["Content-Type"]
    assert re.search(r"Too many wrong NAME/SECRET attempts came from your address; .*try again in \d+ seconds\.", answer.text)
