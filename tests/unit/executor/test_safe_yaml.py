"""Hostile YAML: each limit holds during composition, in milliseconds and with bounded memory."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from hubpush.errors import InvalidExecutorConfigError
from hubpush.executor.safe_yaml import DEFAULT_YAML_LIMITS, YamlLimits, parse_yaml


def billion_laughs(levels: int = 9, width: int = 10) -> str:
    """``width ** levels`` nodes in a few hundred bytes."""
    lines = ["l0: &l0 [" + ", ".join(["lol"] * width) + "]"]
    for level in range(1, levels + 1):
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * width) + "]")
    return "\n".join(lines) + f"\njtype: A\nmetas:\n  name: Laughs\n  description: *l{levels}\n"


def refused(text: str, fragment: str, limits: YamlLimits = DEFAULT_YAML_LIMITS) -> float:
    """Parse ``text``: must be refused with ``fragment`` in the sentence; returns the seconds it took."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(InvalidExecutorConfigError) as caught:
            parse_yaml(text, "config.yml", limits)
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = caught.value.message
    assert fragment in message and message.startswith("config.yml") and message.count(". ") == 0, message
    assert peak < 16 << 20, f"{peak} bytes"
    return elapsed


def test_normal_configs_and_jina_tags_still_load():
    assert parse_yaml("!MyExec\nwith: {a: 1}\nmetas:\n  name: X\n", "c") == {"with": {"a": 1}, "metas": {"name": "X"}, "__tag__": "MyExec"}
    shared = parse_yaml("base: &b {a: 1}\none: *b\ntwo: {<<: *b, c: 2}\n", "c")
    assert shared["one"] == {"a": 1} and shared["two"] == {"a": 1, "c": 2}


def test_billion_laughs_is_refused_in_milliseconds():
    assert refused(billion_laughs(), "more than 20000 YAML nodes once its aliases are expanded") < 0.1


def test_merge_key_laughs_are_counted_too():
    lines = ["m0: &m0 {a: 1, b: 2, c: 3, d: 4}"]
    lines += [f"m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}], k{i}: [*m{i - 1}, *m{i - 1}, *m{i - 1}]}}" for i in range(1, 30)]
    assert refused("\n".join(lines) + "\n", "aliases are expanded") < 0.1


@pytest.mark.parametrize(
    "text",
    ["[" * 100_000, "{a: " * 100_000, "".join(" " * i + "a:\n" for i in range(3000)), "".join("  " * i + "-\n" for i in range(3000))],
    ids=["flow-sequences", "flow-mappings", "block-mappings", "block-sequences"],
)
def test_deep_nesting_is_refused_without_recursion_error(text):
    # libyaml stops 100,000 flow levels itself ("maximum nesting depth"); either way one sentence, no RecursionError
    assert refused(text, "") < 0.1


@pytest.mark.parametrize("depth, accepted", [(64, True), (65, False)])
def test_depth_limit_is_exact(depth, accepted):
    text = "[" * depth + "]" * depth
    if accepted:
        assert parse_yaml(text, "config.yml") is not None
    else:
        refused(text, "nests deeper than 64 levels")


def test_alias_count_is_bounded():
    text = "a: &a x\nb: [" + ", ".join(["*a"] * 1001) + "]\n"
    refused(text, "more than 1000 aliases")


def test_an_alias_inside_its_own_anchor_is_a_cycle():
    refused("a: &a [1, *a]\n", "inside the node it refers to")


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("version: " + "1" * 5000 + "\n", "value YAML cannot read"),
        ("a: !!python/object:os.system x\n", "could not determine a constructor"),
        ("a: \x00\n", "control characters"),
        ("a: &x 1\nb: &x 2\n", "duplicate anchor"),
        ("a: *nowhere\n", "undefined alias"),
        ("a: 1\n---\nb: 2\n", "another document"),
        ("a: [1, 2\n", "not valid YAML at line"),
    ],
)
def test_other_hostile_values_are_one_sentence(text, fragment):
    refused(text, fragment)


def test_timestamps_stay_text_so_impossible_dates_do_not_crash():
    assert parse_yaml("version: 2024-02-30\n", "c") == {"version": "2024-02-30"}


@pytest.fixture(scope="module")
def pure_python_parse():
    """A copy of the module built without libyaml, as on a PyYAML without its C extension."""
    import importlib.util
    import sys

    import hubpush.executor.safe_yaml as module

    spec = importlib.util.spec_from_file_location("hubpush.executor._safe_yaml_pure", module.__file__)
    assert spec and spec.loader
    copy = importlib.util.module_from_spec(spec)
    saved = sys.modules.get("yaml._yaml")
    sys.modules["yaml._yaml"] = None  # type: ignore[assignment]  # makes the import fail
    sys.modules[spec.name] = copy  # dataclasses look their module up there
    try:
        spec.loader.exec_module(copy)
    finally:
        del sys.modules[spec.name]
        if saved is not None:
            sys.modules["yaml._yaml"] = saved
    assert not hasattr(copy, "_Parser")
    return copy.parse_yaml


@pytest.mark.parametrize(
    "text, fragment",
    [
        (billion_laughs(), "aliases are expanded"),
        ("[" * 100_000, "nests deeper than 64 levels"),
        ("{a: " * 100_000, "nests deeper than 64 levels"),
        ("a: &a [1, *a]\n", "inside the node it refers to"),
        ("version: " + "1" * 5000 + "\n", "value YAML cannot read"),
    ],
)
def test_the_same_limits_hold_without_libyaml(pure_python_parse, text, fragment):
    started = time.perf_counter()
    with pytest.raises(InvalidExecutorConfigError, match=fragment):
        pure_python_parse(text, "config.yml")
    assert time.perf_counter() - started < 0.5
    assert pure_python_parse("!Exec\nmetas: {name: X}\n", "c") == {"metas": {"name": "X"}, "__tag__": "Exec"}
