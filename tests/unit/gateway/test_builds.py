"""What a hub build's events keep out of its record (pure)."""

from __future__ import annotations

import asyncio

from hubpush.gateway.builds import BuildEvents


def test_a_secret_shown_in_a_failure_goes_to_the_pusher_but_not_into_the_record():
    events = BuildEvents(asyncio.new_event_loop(), seconds=60)
    sentence = "Pushing failed. The name 'A' is reserved for you: " + events.resume_hint("A", "s3cr3t-" + "x" * 36, "/unused")
    assert "jina hub push --force-update A --secret s3cr3t-" in sentence  # the pusher's only copy
    assert "s3cr3t-" not in events.recordable(sentence) and "--secret SECRET" in events.recordable(sentence)


def test_the_builds_own_directory_is_never_named():
    events = BuildEvents(asyncio.new_event_loop(), seconds=60)
    events.workdir = "/tmp/hubpush-build-abc/executor"
    assert events.clean("Building x from /tmp/hubpush-build-abc/executor/Dockerfile") == "Building x from (the upload)/Dockerfile"
    assert BuildEvents(asyncio.new_event_loop(), seconds=60).recordable("no secret here") == "no secret here"
