"""The consistency rules of ``hub check``: pure, so examples and properties over generated states."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hubpush.core.consistency import REPAIRABLE, ExecutorState, Problem, find_problems, repaired
from hubpush.core.metadata import ExecutorMetadata, HistoryEntry, TagRecord, Visibility

NOW = "2026-12-02T12:00:00Z"
A = "sha256:" + "a" * 64
B = "sha256:" + "b" * 64


def metadata(tags: dict[str, str] | None = None, protected: list[str] | None = None, history: bool = True) -> ExecutorMetadata:
    tags = tags or {}
    return ExecutorMetadata(
        name="Hello", repository="hello", visibility=Visibility.PUBLIC, secret_hash="h",
        created_at=NOW, updated_at=NOW, protected_tags=list(protected or []),
        tags={t: TagRecord(d, NOW) for t, d in tags.items()},
        history=[HistoryEntry(t, d, NOW) for t, d in tags.items()] if history else [],
    )  # fmt: skip


def kinds(state: ExecutorState) -> list[tuple[Problem, str | None]]:
    return [(f.problem, f.tag) for f in find_problems(state)]


def test_a_consistent_executor_has_no_problems():
    assert find_problems(ExecutorState("hello", metadata({"v1": A}, ["v1"]), {"v1": A})) == []


def test_a_registry_without_hubpush_repositories_is_consistent():
    assert find_problems(ExecutorState("hello", None, None)) == []
    assert find_problems(ExecutorState("emptied", None, {})) == []  # every manifest deleted: nothing to pull


def test_each_kind_of_problem_is_named_with_its_tag():
    state = ExecutorState("team/hello", metadata({"gone": A, "moved": A, "ok": A}, ["intent"]), {"moved": B, "ok": A, "extra": B})
    assert kinds(state) == [
        (Problem.TAG_MISSING, "gone"),
        (Problem.TAG_MOVED, "moved"),
        (Problem.TAG_UNRECORDED, "extra"),
        (Problem.PROTECTED_TAG_MISSING, "intent"),
    ]
    assert all("team/hello" in f.message for f in find_problems(state))


def test_a_moved_protected_tag_is_reported_but_never_repaired():
    [finding] = find_problems(ExecutorState("hello", metadata({"v1": A}, ["v1"]), {"v1": B}))
    assert finding.problem is Problem.TAG_MOVED and not finding.repairable
    assert "protected" in finding.message


def test_a_failed_first_publish_leaves_the_name_reserved():
    [finding] = find_problems(ExecutorState("hello", metadata(protected=["v1"]), None))
    assert finding.problem is Problem.NAME_RESERVED and not finding.repairable
    assert "--force-update Hello" in finding.fix


def test_images_without_metadata_and_corrupt_metadata_need_a_person():
    [orphan] = find_problems(ExecutorState("hello", None, {"latest": A}))
    [corrupt] = find_problems(ExecutorState("hello", None, {"latest": A}, corrupt="not JSON"))
    assert (orphan.problem, corrupt.problem) == (Problem.METADATA_MISSING, Problem.METADATA_CORRUPT)
    assert not orphan.repairable and not corrupt.repairable


def test_a_tag_without_history_gets_it_on_repair_and_keeps_its_push_time():
    meta = metadata({"v1": A}, history=False)
    meta.tags["v1"] = TagRecord(A, "2020-01-01T00:00:00Z")
    findings = find_problems(ExecutorState("hello", meta, {"v1": A}))
    assert [f.problem for f in findings] == [Problem.HISTORY_MISSING]
    fixed = repaired(meta, findings, NOW).metadata
    assert fixed.history == [HistoryEntry("v1", A, "2020-01-01T00:00:00Z")]
    assert fixed.tags["v1"].pushed_at == "2020-01-01T00:00:00Z"


def test_repair_changes_a_copy_and_says_what_it_did():
    meta = metadata({"gone": A}, ["intent"])
    findings = find_problems(ExecutorState("hello", meta, {"extra": B}))
    repair = repaired(meta, findings, NOW)
    assert meta.tags.keys() == {"gone"}  # the input is untouched
    assert repair.metadata.tags == {"extra": TagRecord(B, NOW)}
    assert repair.metadata.protected_tags == []
    assert len(repair.done) == 3 and any("intent" in line for line in repair.done)


TAGS = st.sampled_from(["latest", "v1", "v2", "v3", "rc"])
DIGESTS = st.sampled_from([A, B])


@st.composite
def states(draw) -> ExecutorState:
    recorded = draw(st.dictionaries(TAGS, DIGESTS, max_size=5))
    held = draw(st.none() | st.dictionaries(TAGS, DIGESTS, max_size=5))
    protected = draw(st.lists(TAGS, max_size=5))
    return ExecutorState("hello", metadata(recorded, protected, history=draw(st.booleans())), held)


@given(states())
def test_after_a_repair_only_problems_a_person_must_settle_remain(state):
    fixed = repaired(state.metadata, find_problems(state), NOW).metadata
    left = find_problems(ExecutorState(state.repository, fixed, state.tags))
    assert all(f.problem not in REPAIRABLE or not f.repairable for f in left), left


@given(states())
def test_a_repair_never_drops_the_protection_of_a_tag_the_registry_holds(state):
    fixed = repaired(state.metadata, find_problems(state), NOW).metadata
    held = state.tags or {}
    assert {t for t in state.metadata.protected_tags if t in held} <= set(fixed.protected_tags)


@given(states())
def test_a_repair_is_idempotent(state):
    once = repaired(state.metadata, find_problems(state), NOW).metadata
    again = repaired(once, find_problems(ExecutorState(state.repository, once, state.tags)), NOW)
    assert again.done == []
