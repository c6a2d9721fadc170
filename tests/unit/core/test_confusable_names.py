"""NAMEs that read the same: folding, and the first publish it refuses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hubpush import errors
from hubpush.core.metadata import ExecutorMetadata, Visibility
from hubpush.core.names import NAME_PATTERN, confusable_paths, fold_name, folded_path, repository_for
from hubpush.core.policy import PushRequest, decide_push

names = st.from_regex(NAME_PATTERN, fullmatch=True).filter(lambda n: fold_name(n) != "hubpushmeta")
separators = st.sampled_from(["-", "_", "."])


def meta(name: str) -> ExecutorMetadata:
    return ExecutorMetadata(
        name=name, repository=repository_for(name), visibility=Visibility.PRIVATE, secret_hash="scrypt$x", created_at="t", updated_at="t"
    )


def first_publish(name: str) -> PushRequest:
    return PushRequest(name=name, is_update=False, secret=None, tags=[], protected_tags=[], visibility=None)


@given(names)
def test_folding_is_idempotent_and_repositories_fold_like_their_names(name):
    assert fold_name(fold_name(name)) == fold_name(name)
    assert fold_name(repository_for(name)) == fold_name(name)


@given(names, st.data())
def test_names_that_differ_only_in_case_and_separators_fold_alike(name, data):
    respelled = "".join(
        (ch.swapcase() if data.draw(st.booleans()) else ch) + (data.draw(separators) if data.draw(st.booleans()) else "")
        for ch in name
    )
    assert fold_name(respelled) == fold_name(name)


@pytest.mark.parametrize("a, b", [("PrivB", "PRIVB"), ("CaseExec", "caseexec"), ("a-b-c", "ABC"), ("my_exec", "MyExec2")])
def test_the_names_seen_shadowing_each_other_fold_alike_and_others_do_not(a, b):
    assert repository_for(a) != repository_for(b)  # two executors, as before folding
    assert (fold_name(a) == fold_name(b)) == (b != "MyExec2")


def test_only_other_executors_of_the_same_namespace_are_confusable():
    executors = ["priv-b", "team/privb", "team/priv-b", "privc", "other/priv-b"]
    assert confusable_paths("privb", executors) == ["priv-b"]
    assert confusable_paths("team/priv-b", executors) == ["team/privb"]
    assert folded_path("team/ml/Priv-B") == "team/ml/privb"


def test_a_first_publish_that_reads_like_an_existing_executor_is_taken_with_its_name():
    with pytest.raises(errors.NameTakenError) as refused:
        decide_push(first_publish("PRIVB"), None, None, registry="hub:5000", rivals=[meta("PrivB")])
    assert "'PrivB'" in refused.value.message and "hub:5000/priv-b" in refused.value.message
    assert "--force-update PrivB" in refused.value.message


def test_rivals_that_do_not_read_alike_or_are_the_executor_itself_change_nothing():
    decided = decide_push(first_publish("PrivB"), None, None, registry="hub:5000", rivals=[meta("PrivC"), meta("Priv-B")])
    assert decided.is_first_publish  # Priv-B maps to priv-b itself: that is `current`'s job, not a rival's


def test_updates_of_executors_that_already_collide_stay_possible():
    current = meta("PRIVB")
    update = PushRequest(name="PRIVB", is_update=True, secret="s", tags=[], protected_tags=[], visibility=None)
    decided = decide_push(update, current, [], registry="hub:5000", rivals=[meta("PrivB")], verify=lambda s, h: True)
    assert not decided.is_first_publish


def test_the_gateway_can_hand_in_its_own_answer_for_the_secret():
    current = meta("PrivB")
    update = PushRequest(name="PrivB", is_update=True, secret="wrong", tags=[], protected_tags=[], visibility=None)
    with pytest.raises(errors.WrongSecretError):
        decide_push(update, current, [], registry="hub:5000", verify=lambda s, h: False)
