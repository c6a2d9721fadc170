"""YAML from an executor folder, parsed with limits that hold *while* it is composed.

PyYAML's safe loader is safe from code execution, not from resource exhaustion:

- **aliases**: ``a: &a [x, x]``, ``b: &b [*a, *a]``, ... is a few hundred bytes that stand for
  10^9 nodes (a "billion laughs"). PyYAML shares the aliased objects, so loading is cheap, but any
  code that walks, prints or copies the result then runs for ever. Here every alias adds the size
  of what it stands for to a running total of nodes *after* expansion, and composition stops when
  that total passes :attr:`YamlLimits.max_nodes`; an alias to a node still being composed (a cycle)
  is refused outright.
- **depth**: PyYAML's composer and constructor recurse once per nesting level, so ``[[[[...``
  100,000 deep ends in RecursionError. The composer below counts levels and stops at
  :attr:`YamlLimits.max_depth`, long before Python's stack is in danger.
- **size**: the caller reads at most ``max_bytes + 1`` bytes (:func:`hubpush.executor.files.read_head`).

Jina's ``!ClassName`` tags stay accepted (the tag is kept under ``__tag__``). Timestamps stay
text: a config's ``version: 2024-02-30`` must not be a crash in :mod:`datetime`.
Events come from libyaml when PyYAML has it (ten times faster than the pure-Python parser; its
own composer is not used, as it has no limits either).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent
from yaml.resolver import Resolver

from ..errors import InvalidExecutorConfigError


@dataclass(frozen=True)
class YamlLimits:
    """Bounds on one YAML file of an executor folder. Jina configs use a few dozen nodes."""

    max_bytes: int = 256 << 10
    max_depth: int = 64
    #: nodes after alias expansion: a billion-laughs document is refused after this many
    max_nodes: int = 20_000
    max_aliases: int = 1_000


DEFAULT_YAML_LIMITS = YamlLimits()


class _LimitedComposer(Composer):
    """PyYAML's composer, counting depth, aliases and expanded nodes as it goes."""

    def __init__(self, where: str, limits: YamlLimits) -> None:
        Composer.__init__(self)
        self._where, self._limits = where, limits
        self._depth = self._nodes = self._aliases = 0
        #: expanded size of each anchored node, known once the node is complete
        self._sizes: dict[str, int] = {}

    def _refuse(self, what: str, advice: str) -> InvalidExecutorConfigError:
        return InvalidExecutorConfigError(f"{self._where} {what}; {advice}.")

    def _count(self, nodes: int) -> None:
        self._nodes += nodes
        if self._nodes > self._limits.max_nodes:
            raise self._refuse(
                f"stands for more than {self._limits.max_nodes} YAML nodes once its aliases are expanded",
                "an executor config needs far fewer: remove the aliases (*name) that repeat large parts",
            )

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[attr-defined]  # the parser half of the loader has it
        if isinstance(event, AliasEvent):
            self._aliases += 1
            if self._aliases > self._limits.max_aliases:
                raise self._refuse(f"uses more than {self._limits.max_aliases} aliases", "write the values out instead")
            if event.anchor in self.anchors and event.anchor not in self._sizes:
                raise self._refuse(f"has an alias *{event.anchor} inside the node it refers to", "remove the cycle")
            self._count(self._sizes.get(event.anchor or "", 0))  # an unknown anchor: PyYAML's own error follows
            return super().compose_node(parent, index)
        if self._depth >= self._limits.max_depth:
            raise self._refuse(f"nests deeper than {self._limits.max_depth} levels", "flatten it")
        self._depth += 1
        before = self._nodes
        self._count(1)
        node = super().compose_node(parent, index)
        self._depth -= 1
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            self._sizes[anchor] = self._nodes - before
        return node


def _construct_tagged(loader: SafeConstructor, tag_suffix: str, node: yaml.Node) -> Any:
    """Old Jina configs say ``!MyExecutor`` at the top instead of ``jtype: MyExecutor``;
    the tag is kept under the key ``__tag__`` so it can stand in for ``jtype``."""
    if isinstance(node, yaml.MappingNode):
        value: Any = loader.construct_mapping(node, deep=True)
        value.setdefault("__tag__", tag_suffix)
        return value
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


try:  # libyaml's event parser, when PyYAML was built with it
    from yaml._yaml import CParser as _Parser  # type: ignore[import-not-found]

    class _Loader(_LimitedComposer, _Parser, SafeConstructor, Resolver):  # type: ignore[misc]
        def __init__(self, text: str, where: str, limits: YamlLimits) -> None:
            _Parser.__init__(self, text)
            _LimitedComposer.__init__(self, where, limits)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)

except ImportError:  # pragma: no cover - PyYAML without libyaml
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Loader(_LimitedComposer, Reader, Scanner, Parser, SafeConstructor, Resolver):  # type: ignore[no-redef,misc]
        def __init__(self, text: str, where: str, limits: YamlLimits) -> None:
            Reader.__init__(self, text)
            Scanner.__init__(self)
            Parser.__init__(self)
            _LimitedComposer.__init__(self, where, limits)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)


_Loader.add_multi_constructor("!", _construct_tagged)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", SafeConstructor.construct_yaml_str)  # type: ignore[type-var]


def parse_yaml(text: str, where: str, limits: YamlLimits = DEFAULT_YAML_LIMITS) -> Any:
    """The single YAML document in ``text``, or an :class:`InvalidExecutorConfigError` naming
    ``where`` (the file) and what is wrong. Never anything else: no RecursionError, no hang."""
    loader = _Loader(text, where, limits)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or getattr(exc, "reason", None) or "syntax error"
        context = getattr(exc, "context", None)
        if context and getattr(exc, "problem", None):
            problem = f"{context.split(';')[0]}, {problem}"  # "found duplicate anchor 'x', second occurrence"
        raise InvalidExecutorConfigError(f"{where} is not valid YAML{at}: {problem}; fix the file and push again.") from None
    except (ValueError, TypeError, OverflowError) as exc:
        # what the constructors let through: int("1" * 5000) beyond Python's digit limit, bad !!binary, ...
        raise InvalidExecutorConfigError(
            f"{where} has a value YAML cannot read ({exc.__class__.__name__}); quote it to keep it as text."
        ) from None
    finally:
        loader.dispose()
