"""The fetch graph: the subgraph requests a plan is made of (nodes) and what each waits for
(edges).

The walk (:mod:`.walk`) builds it, placing every field of the operation in one group;
:mod:`.optimize` tidies it and :mod:`.emit` turns it into plan nodes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from graphql import SelectionNode

from nova_gateway.federation.planning.plan import (
    LIST_MARKER,
    ShapeField,
)
from nova_gateway.federation.planning.selection import SelectionTree


@dataclass(frozen=True, slots=True)
class EntityTarget:
    """What an entity group resolves: the type its selection runs on and which objects at
    its path become representations."""

    type_condition: str
    accepted_types: frozenset[str]
    typename: str | None


@dataclass(eq=False, slots=True)
class FetchGroup:
    """One future subgraph request: a root fetch or an ``_entities`` fetch at ``path``."""

    index: int
    graph: str
    path: tuple[str, ...]
    tree: SelectionTree = field(default_factory=SelectionTree)
    entity: EntityTarget | None = None
    representation: dict[str, ShapeField] = field(default_factory=dict)
    depends_on: set[int] = field(default_factory=set)
    key: tuple[SelectionNode, ...] = ()
    """The key fields an entity group is entered with."""
    optional: set[str] = field(default_factory=set)
    """Representation fields that are ``@requires`` fields, not key fields: absent when the
    fields needing them were skipped."""
    type_aliases: bool = False
    """Some fields are selected under type aliases (``TYPE_ALIAS_PREFIX``)."""


@dataclass(slots=True)
class FetchGraph:
    """The fetch groups of one planning pass; a group's ``depends_on`` are its incoming edges
    (the indexes of the groups it waits for)."""

    kind: str
    """The operation kind the root groups run as."""
    variable_definitions: Mapping[str, str]
    groups: list[FetchGroup] = field(default_factory=list)

    def edges(self) -> list[tuple[int, int]]:
        """``(before, after)`` for every group ``after`` that waits for ``before``."""
        return sorted((before, g.index) for g in self.groups for before in g.depends_on)

    def placements(self) -> list[tuple[str, tuple[str, ...]]]:
        """``(subgraph, response path)`` of every field the groups select, group by group: the
        response keys from the root (list items and type conditions left out, ``__typename``
        too)."""
        found: list[tuple[str, tuple[str, ...]]] = []
        for group in self.groups:
            prefix = tuple(key for key in group.path if key != LIST_MARKER)
            found.extend((group.graph, path) for path in group.tree.paths(prefix))
        return found
