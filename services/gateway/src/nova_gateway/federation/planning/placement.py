"""Where a field can be resolved: the rules the fetch-graph walk places each field by.

Pure questions on the supergraph, each answered from explicit inputs (a subgraph, a parent type,
what ``@provides`` makes local at the position): can this subgraph resolve the field where it is
asked, through which subgraphs and keys can it be reached otherwise, which subgraph should a root
field be fetched from, which subgraph names an ``@interfaceObject``'s implementation. The walk
(:mod:`.walk`) asks them while it builds the fetch graph; it owns every decision that depends on
the fetches already opened.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from graphql import FieldNode, InlineFragmentNode, SelectionNode

from nova_gateway.federation.errors import PlanningError
from nova_gateway.federation.planning.field_sets import (
    CONDITION_PREFIX,
    Provided,
    parse_field_set,
    provided_fields,
)
from nova_gateway.federation.supergraph.model import Supergraph


@dataclass(frozen=True, slots=True)
class Placement:
    """The placement rules of one supergraph."""

    supergraph: Supergraph

    def root_subgraph(
        self, root_type: str, node: FieldNode, candidates: Sequence[str], opened: Collection[str]
    ) -> str:
        """The subgraph to fetch the root field ``node`` from, among the ``candidates`` that
        resolve it: the one resolving most of its selection itself (``@provides`` included),
        then one already fetched from (``opened``), then the first."""
        if len(candidates) == 1 or node.selection_set is None:
            return next((g for g in candidates if g in opened), candidates[0])
        type_name = self.supergraph.field(root_type, node.name.value).type_name
        selections = node.selection_set.selections

        def rank(index_graph: tuple[int, str]) -> tuple[int, bool, int]:
            index, graph = index_graph
            provided = self.field_provides(graph, root_type, node.name.value, None)
            local = self.local_count(graph, type_name, selections, provided)
            return (local, graph in opened, -index)

        return max(enumerate(candidates), key=rank)[1]

    def field_provides(
        self, graph: str, parent: str, name: str, provided: Provided | None
    ) -> Provided | None:
        """What is local under ``parent.name`` fetched from ``graph``."""
        nested = dict(self.provided_at(provided, parent).get(name, {}))
        join = self.supergraph.field_join(parent, name, graph)
        if join is not None and join.provides:
            nested.update(provided_fields(parse_field_set(join.provides)))
        return nested or None

    def local_count(
        self,
        graph: str,
        parent: str,
        selections: Sequence[SelectionNode],
        provided: Provided | None,
    ) -> int:
        """How many of ``selections`` (at any depth) ``graph`` resolves where they are."""
        count = 0
        for selection in selections:
            if isinstance(selection, FieldNode):
                name = selection.name.value
                if name == "__typename" or not self.resolvable_in(graph, parent, name, provided):
                    continue
                count += 1
                if selection.selection_set is not None:
                    count += self.local_count(
                        graph,
                        self.supergraph.field(parent, name).type_name,
                        selection.selection_set.selections,
                        self.field_provides(graph, parent, name, provided),
                    )
                continue
            assert isinstance(selection, InlineFragmentNode)
            condition_node = selection.type_condition
            condition = condition_node.name.value if condition_node else parent
            if condition == parent or self.supergraph.knows_type(graph, condition):
                count += self.local_count(
                    graph, condition, selection.selection_set.selections, provided
                )
        return count

    def resolvable_in(self, graph: str, parent: str, name: str, provided: Provided | None) -> bool:
        """True when ``graph`` resolves ``parent.name`` where it is asked: itself (no
        ``@requires``), through ``@provides``, or for every implementation of an interface."""
        if name in self.provided_at(provided, parent):
            return True
        supergraph = self.supergraph
        if graph not in supergraph.resolving_graphs(parent, name):
            return False
        join = supergraph.field_join(parent, name, graph)
        if join is not None and join.requires:
            return False
        if supergraph.type(parent).kind == "interface" and not self.is_interface_object(
            graph, parent
        ):
            # The subgraph answers an interface field with its implementations' fields: one
            # of them moved elsewhere (@override) makes the field non-local as a whole.
            return all(
                graph in supergraph.resolving_graphs(concrete, name)
                for concrete in supergraph.possible_types_in(parent, graph)
            )
        return True

    def provided_at(self, provided: Provided | None, parent: str) -> Provided:
        """What ``@provides`` makes local on objects of type ``parent``."""
        if not provided:
            return {}
        here: Provided = {}
        for key, nested in provided.items():
            if not key.startswith(CONDITION_PREFIX):
                here.setdefault(key, {}).update(nested)
                continue
            condition = key.removeprefix(CONDITION_PREFIX)
            if condition == parent or parent in self.supergraph.possible_types(condition):
                for name, fields in nested.items():
                    here.setdefault(name, {}).update(fields)
        return here

    def locally_available(
        self,
        graph: str,
        parent: str,
        selections: Sequence[SelectionNode],
        provided: Provided | None,
    ) -> bool:
        """True when ``graph`` resolves every field of the field set ``selections`` (a key)
        where it is."""
        for selection in selections:
            if not isinstance(selection, FieldNode):
                return False
            name = selection.name.value
            if name == "__typename":
                continue
            if not self.resolvable_in(graph, parent, name, provided):
                return False
            if selection.selection_set is not None:
                info = self.supergraph.field(parent, name)
                nested = self.provided_at(provided, parent).get(name)
                if not self.locally_available(
                    graph, info.type_name, selection.selection_set.selections, nested
                ):
                    return False
        return True

    def is_interface_object(self, graph: str, type_name: str) -> bool:
        return graph in self.supergraph.type(type_name).interface_object_graphs

    def typename_owner(self, graph: str, parent: str) -> str | None:
        """A subgraph to ask the implementation's ``__typename`` of the interface ``parent``
        when ``graph`` sees it as an ``@interfaceObject``."""
        info = self.supergraph.type(parent)
        if info.kind != "interface" or graph not in info.interface_object_graphs:
            return None
        return next(
            (
                key.graph
                for key in info.keys
                if key.resolvable and key.graph not in info.interface_object_graphs
            ),
            None,
        )

    def interface_jump(self, parent: str, name: str) -> str | None:
        """A subgraph that resolves ``name`` on the interface ``parent`` through a key on the
        interface itself (an entity interface or an ``@interfaceObject``)."""
        if self.supergraph.type(parent).kind != "interface":
            return None
        for graph in self.supergraph.resolving_graphs(parent, name):
            if self.supergraph.resolvable_keys(parent, graph):
                return graph
        return None

    def interface_owning(self, object_type: str, name: str) -> str:
        """The interface of ``object_type`` through which a subgraph adds ``name`` to it (a
        field an ``@interfaceObject`` adds to every implementation)."""
        for interface in self.supergraph.interfaces_of(object_type):
            if self.interface_jump(interface, name) is not None:
                return interface
        raise PlanningError(f"no subgraph resolves {object_type}.{name}")

    def key_candidates(self, parent: str, name: str) -> list[str]:
        """The subgraphs resolving ``parent.name`` that can be entered through a key."""
        supergraph = self.supergraph
        return [
            g
            for g in supergraph.resolving_graphs(parent, name)
            if supergraph.resolvable_keys(parent, g)
        ]

    def matches(self, object_type: str, condition: str) -> bool:
        """True when an object of ``object_type`` matches the type condition ``condition``
        (as the client means it: in the supergraph)."""
        if object_type == condition:
            return True
        return self.supergraph.is_abstract(condition) and object_type in (
            self.supergraph.possible_types(condition)
        )

    def ordered(self, types: Collection[str]) -> list[str]:
        """``types`` in the supergraph's order (plans print the same every time)."""
        return [name for name in self.supergraph.types if name in types]
