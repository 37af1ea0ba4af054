"""Selection trees the planner fills in, one per subgraph fetch, and prints as GraphQL.

A tree keeps fields by response key and fragments by type condition (plus directives) in the
order they were added, so the same operation always prints the same subgraph query.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from graphql import (
    ArgumentNode,
    DirectiveNode,
    Node,
    VariableNode,
    print_ast,
    visit,
)
from graphql.language import Visitor


class SelectionConflictError(ValueError):
    """Two different fields want the same response key in one subgraph query."""


@dataclass(eq=False, slots=True)
class FieldEntry:
    name: str
    arguments: tuple[ArgumentNode, ...] = ()
    directives: tuple[DirectiveNode, ...] = ()
    tree: SelectionTree | None = None


@dataclass(eq=False, slots=True)
class FragmentEntry:
    type_condition: str | None
    directives: tuple[DirectiveNode, ...]
    tree: SelectionTree


@dataclass(eq=False, slots=True)
class SelectionTree:
    entries: dict[str, FieldEntry | FragmentEntry] = field(default_factory=dict)

    def add_field(
        self,
        response_key: str,
        name: str,
        arguments: Sequence[ArgumentNode] = (),
        directives: Sequence[DirectiveNode] = (),
        *,
        has_selections: bool = False,
    ) -> FieldEntry:
        existing = self.entries.get(response_key)
        if isinstance(existing, FieldEntry):
            if existing.name != name or _printed(existing.arguments) != _printed(arguments):
                raise SelectionConflictError(
                    f"response key {response_key!r} is used by two different fields"
                )
            if _printed(existing.directives) != _printed(directives):
                # The same field asked for under different conditions: fetch it unconditionally
                # and let the response shaping apply each condition.
                existing.directives = ()
            return existing
        entry = FieldEntry(
            name,
            tuple(arguments),
            tuple(directives),
            SelectionTree() if has_selections else None,
        )
        self.entries[response_key] = entry
        return entry

    def has_field(self, name: str) -> bool:
        """True when the field ``name`` is selected here without an alias (directly or in a
        fragment that only adds conditions)."""
        entry = self.entries.get(name)
        if isinstance(entry, FieldEntry) and entry.name == name:
            return True
        return any(
            isinstance(e, FragmentEntry) and e.type_condition is None and e.tree.has_field(name)
            for e in self.entries.values()
        )

    def paths(self, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
        """The response path (after ``prefix``) of every field selected here, at any depth,
        through fragments; ``__typename`` left out."""
        for key, entry in self.entries.items():
            if isinstance(entry, FragmentEntry):
                yield from entry.tree.paths(prefix)
                continue
            if entry.name == "__typename":
                continue
            path = (*prefix, key)
            yield path
            if entry.tree is not None:
                yield from entry.tree.paths(path)

    def add_typename(self) -> None:
        self.add_field("__typename", "__typename")

    def fragment(
        self, type_condition: str | None, directives: Sequence[DirectiveNode] = ()
    ) -> SelectionTree:
        key = f"... on {type_condition} {_printed(directives)}"
        existing = self.entries.get(key)
        if isinstance(existing, FragmentEntry):
            return existing.tree
        entry = FragmentEntry(type_condition, tuple(directives), SelectionTree())
        self.entries[key] = entry
        return entry.tree

    def __bool__(self) -> bool:
        return any(isinstance(e, FieldEntry) or bool(e.tree) for e in self.entries.values())

    def print(self) -> str:
        parts: list[str] = []
        for key, entry in self.entries.items():
            if isinstance(entry, FieldEntry):
                parts.append(_print_field(key, entry))
            elif entry.tree:
                condition = f" on {entry.type_condition}" if entry.type_condition else ""
                directives = f" {_printed(entry.directives)}" if entry.directives else ""
                parts.append(f"...{condition}{directives} {entry.tree.print()}")
        return "{ " + " ".join(parts) + " }"

    def conditions(self) -> frozenset[Condition]:
        """The ``@include``/``@skip`` conditions on a variable that every selection here is
        under: when any of them drops its selections, the tree selects nothing."""
        common: frozenset[Condition] | None = None
        for entry in self.entries.values():
            if isinstance(entry, FragmentEntry):
                if not entry.tree:
                    continue
                own = _conditions(entry.directives) | entry.tree.conditions()
            else:
                own = _conditions(entry.directives)
            common = own if common is None else common & own
            if not common:
                return frozenset()
        return common or frozenset()

    def variables(self) -> list[str]:
        """Names of the variables used anywhere in the tree, in order of appearance."""
        found: dict[str, None] = {}
        for node in self._nodes():
            for variable in _variables_in(node):
                found[variable] = None
        return list(found)

    def _nodes(self) -> Iterator[Node]:
        for entry in self.entries.values():
            if isinstance(entry, FieldEntry):
                yield from entry.arguments
                yield from entry.directives
                if entry.tree is not None:
                    yield from entry.tree._nodes()
            else:
                yield from entry.directives
                yield from entry.tree._nodes()


@dataclass(frozen=True, slots=True, order=True)
class Condition:
    """``@include(if: $variable)`` (``include``) or ``@skip(if: $variable)``."""

    variable: str
    include: bool


def _conditions(directives: Sequence[DirectiveNode]) -> frozenset[Condition]:
    found: set[Condition] = set()
    for directive in directives:
        if directive.name.value not in ("include", "skip"):
            continue
        for argument in directive.arguments or ():
            if argument.name.value == "if" and isinstance(argument.value, VariableNode):
                found.add(Condition(argument.value.name.value, directive.name.value == "include"))
    return frozenset(found)


def _print_field(response_key: str, entry: FieldEntry) -> str:
    text = entry.name if response_key == entry.name else f"{response_key}: {entry.name}"
    if entry.arguments:
        text += "(" + ", ".join(print_ast(a) for a in entry.arguments) + ")"
    if entry.directives:
        text += f" {_printed(entry.directives)}"
    if entry.tree is not None:
        text += f" {entry.tree.print()}"
    return text


def _printed(nodes: Sequence[Node]) -> str:
    return " ".join(print_ast(node) for node in nodes)


class _VariableCollector(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def enter_variable(self, node: VariableNode, *_: object) -> None:
        self.names.append(node.name.value)


def _variables_in(node: Node) -> list[str]:
    collector = _VariableCollector()
    visit(node, collector)
    return collector.names
