"""Stage 2 — walk the operation, placing every field: a :class:`PreparedOperation` in, a
:class:`~.fetch_graph.FetchGraph` out. No I/O.

Every field lands in exactly one *fetch group* — a future subgraph request. A field the current
group's subgraph can resolve (itself, through ``@provides``, or because it is ``@shareable``
there; see :mod:`.placement`) stays in that group; any other field opens (or joins) an *entity
group*: an ``_entities`` fetch into a subgraph that resolves the field, entered through one of its
``@key``s. Key fields and ``@requires`` fields are planned like any other field at the same
position, so a key only another subgraph knows is fetched first, and the entity group depends on
whichever groups supply them (nested key fields included). A field of a value type that no
subgraph can enter through a key *re-enters* at the nearest entity above it (through one of its
keys) or at the root (another fetch of the same root field), in a subgraph resolving every field
on the way down. A shared root field is fetched from the subgraph that resolves most of its
selection itself (``@provides`` included); an ``@interfaceObject`` answer gets its
implementation's ``__typename`` from a subgraph that has the interface itself, and type
conditions on it are planned there.

Placing a field and opening the group it goes to are one decision here: a field prefers a group
already open at its position, so the choice depends on what the walk has built so far.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from graphql import DirectiveNode, FieldNode, InlineFragmentNode, SelectionNode

from nova_gateway.federation.errors import TYPE_ALIAS_PREFIX, PlanningError
from nova_gateway.federation.planning.fetch_graph import EntityTarget, FetchGraph, FetchGroup
from nova_gateway.federation.planning.field_sets import (
    Provided,
    alias_arguments,
    alias_taken_keys,
    compatible,
    merge_shape,
    parse_field_set,
    representation_shape,
)
from nova_gateway.federation.planning.normalize import PreparedOperation
from nova_gateway.federation.planning.placement import Placement
from nova_gateway.federation.planning.plan import LIST_MARKER
from nova_gateway.federation.planning.selection import SelectionTree
from nova_gateway.federation.supergraph.model import FieldInfo


def build_fetch_graph(
    placement: Placement, operation: PreparedOperation, fields: Sequence[FieldNode]
) -> FetchGraph:
    """The fetch graph of the root ``fields`` (one of ``operation.batches()``)."""
    return _Walk(placement, operation).walk(fields)


_Lookup = tuple[int, str, tuple[str, ...], str, int]
"""An entity group: (source group, subgraph, path, type, variant). Variants are groups of the
same entity whose ``@requires`` need one field with different arguments."""


class _NoKeyToSupplyError(PlanningError):
    """No subgraph resolving a field can be entered with a key the current one supplies."""


@dataclass(frozen=True, slots=True)
class _Step:
    """One step down from a lineage's anchor: a field (``node`` on ``parent``) or a fragment
    narrowing to ``condition``."""

    parent: str
    node: FieldNode | None = None
    condition: str | None = None
    directives: tuple[DirectiveNode, ...] = ()


@dataclass(frozen=True, slots=True)
class _Lineage:
    """How the objects at a position were reached from the nearest entity (``anchor``) or,
    with no anchor, from the root: a field no subgraph can reach through a key re-enters
    there, in a subgraph that resolves every step."""

    anchor: _Position | None
    anchor_type: str
    steps: tuple[_Step, ...] = ()
    outer: _Lineage | None = None
    """How the anchor itself was reached: the next place to re-enter when no subgraph can
    be entered at the anchor."""

    def down(self, step: _Step) -> _Lineage:
        return _Lineage(self.anchor, self.anchor_type, (*self.steps, step), self.outer)

    def ancestors(self) -> list[tuple[_Position | None, str, tuple[_Step, ...]]]:
        """Each place to re-enter, nearest first, with the steps from there to here."""
        found: list[tuple[_Position | None, str, tuple[_Step, ...]]] = []
        suffix: tuple[_Step, ...] = ()
        lineage: _Lineage | None = self
        while lineage is not None:
            found.append((lineage.anchor, lineage.anchor_type, (*lineage.steps, *suffix)))
            if lineage.outer is None:
                break
            suffix = (*lineage.steps, *suffix)
            # ``outer`` ends with the step into the anchor: its steps lead here once
            # ``suffix`` follows them.
            lineage = lineage.outer
        return found


@dataclass(frozen=True, slots=True)
class _Position:
    """Where the walk is: the group fetching the objects, their response path (``@`` for list
    items), the selection tree they are written to and what ``@provides`` makes local there."""

    group: FetchGroup
    path: tuple[str, ...]
    tree: SelectionTree
    provided: Provided | None
    client: tuple[SelectionNode, ...] = ()
    """The client's selections on these objects: a key or required field the planner adds
    under a response key the client uses for another field gets an alias."""
    conditions: tuple[tuple[DirectiveNode, ...], ...] = ()
    """``@skip``/``@include`` of the fragments entered since the last field: a field planned
    into another group here is wrapped in the same conditions there."""
    lineage: _Lineage | None = None
    siblings: SelectionTree | None = None
    """The tree whose type-conditioned fragments the objects' fields are selected in: one
    subgraph query cannot give a response key two types there."""
    local: frozenset[str] | None = None
    """The object types these objects can have as the group's subgraph returns them (its own
    field types, union members and implementations, narrowed by the fragments entered);
    None: every type the subgraph has for the parent type."""


@dataclass(frozen=True, slots=True)
class _Fragment:
    condition: str | None
    directives: tuple[DirectiveNode, ...]
    selections: Sequence[SelectionNode]


def _down(lineage: _Lineage | None, step: _Step) -> _Lineage | None:
    return None if lineage is None else lineage.down(step)


class _Walk:
    """One walk over a batch of root fields; the groups it opens are the fetch graph."""

    def __init__(self, placement: Placement, operation: PreparedOperation) -> None:
        self.placement = placement
        self.supergraph = placement.supergraph
        self.kind = operation.kind
        self.root_type = operation.root_type
        self.graph = FetchGraph(operation.kind, operation.variable_definitions)
        self.groups = self.graph.groups
        self.root_groups: dict[str, FetchGroup] = {}
        self.entity_groups: dict[_Lookup, FetchGroup] = {}
        self.entering: set[_Lookup] = set()
        self.sibling_types: dict[int, dict[str, list[str]]] = {}

    def walk(self, fields: Sequence[FieldNode]) -> FetchGraph:
        for node in fields:
            candidates = self.supergraph.resolving_graphs(self.root_type, node.name.value)
            if not candidates:
                raise PlanningError(f"no subgraph resolves {self.root_type}.{node.name.value}")
            graph = self.placement.root_subgraph(self.root_type, node, candidates, self.root_groups)
            group = self.root_groups.get(graph)
            if group is None:
                group = self._new_group(graph, ())
                self.root_groups[graph] = group
            lineage = _Lineage(None, self.root_type) if self.kind == "query" else None
            self._plan_field(
                _Position(group, (), group.tree, None, tuple(fields), lineage=lineage),
                self.root_type,
                node,
            )
        return self.graph

    def _plan_selections(
        self, at: _Position, parent: str, selections: Sequence[SelectionNode]
    ) -> set[int]:
        """Plan ``selections`` on the objects of type ``parent`` found at ``at``; the result
        names the groups that fetch them (the providers of these fields)."""
        providers: set[int] = set()
        for selection in selections:
            if isinstance(selection, FieldNode):
                providers |= self._plan_field(at, parent, selection)
                continue
            assert isinstance(selection, InlineFragmentNode)
            condition = selection.type_condition.name.value if selection.type_condition else None
            inner = selection.selection_set.selections
            fragment_at = _Fragment(condition, tuple(selection.directives or ()), inner)
            providers |= self._plan_fragment(at, parent, fragment_at)
        return providers

    def _plan_fragment(self, at: _Position, parent: str, fragment: _Fragment) -> set[int]:
        supergraph = self.supergraph
        condition, directives = fragment.condition, fragment.directives
        if condition is None or condition == parent or not supergraph.is_abstract(parent):
            if (
                condition is not None
                and condition != parent
                and condition not in supergraph.possible_types(parent)
                and parent not in supergraph.possible_types(condition)
            ):
                return set()
            if not directives:
                return self._plan_selections(at, parent, fragment.selections)
            inner = replace(
                at,
                tree=at.tree.fragment(None, directives),
                conditions=(*at.conditions, directives),
                lineage=_down(at.lineage, _Step(parent, directives=directives)),
            )
            return self._plan_selections(inner, parent, fragment.selections)
        if self.placement.is_interface_object(at.group.graph, parent):
            # The subgraph sees the interface as one object type: it cannot narrow it. A
            # subgraph that has the interface itself names each object's implementation and
            # the fragment is planned there.
            owner = self.placement.typename_owner(at.group.graph, parent)
            if owner is None:
                return self._plan_selections(at, parent, fragment.selections)
            target = self._entity_group(at, owner, parent)
            target.tree.add_typename()
            tree = target.tree
            for conditions in at.conditions:
                tree = tree.fragment(None, conditions)
            target_at = _Position(target, at.path, tree, None, at.client, lineage=at.lineage)
            return {target.index} | self._plan_fragment(target_at, parent, fragment)
        graph = at.group.graph
        local = self._local_types(at, parent)
        matching = frozenset(t for t in local if self.placement.matches(t, condition))
        if not matching:
            # No object this subgraph returns here has that type.
            return set()
        entered = (*at.conditions, directives) if directives else at.conditions
        if supergraph.knows_type(graph, condition) and matching == {
            t for t in local if t in supergraph.possible_types_in(condition, graph)
        }:
            inner = replace(
                at,
                tree=at.tree.fragment(condition, directives),
                conditions=entered,
                lineage=_down(
                    at.lineage, _Step(parent, condition=condition, directives=directives)
                ),
                siblings=at.tree,
                local=matching,
            )
            return self._plan_selections(inner, condition, fragment.selections)
        # The subgraph's own type system disagrees with the supergraph's about which of its
        # objects match (an implementation declared in another subgraph, a narrower field
        # type): select on each matching object type instead.
        providers: set[int] = set()
        for concrete in self.placement.ordered(matching):
            concrete_at = replace(
                at,
                tree=at.tree.fragment(concrete, directives),
                conditions=entered,
                lineage=_down(at.lineage, _Step(parent, condition=concrete, directives=directives)),
                siblings=at.tree,
                local=frozenset((concrete,)),
            )
            providers |= self._plan_selections(concrete_at, concrete, fragment.selections)
        return providers

    def _local_types(self, at: _Position, parent: str) -> frozenset[str]:
        if at.local is not None:
            return at.local
        return self.supergraph.possible_types_in(parent, at.group.graph)

    def _plan_field(self, at: _Position, parent: str, node: FieldNode) -> set[int]:
        name = node.name.value
        response_key = node.alias.value if node.alias else name
        group = at.group
        if name == "__typename":
            owner = self.placement.typename_owner(group.graph, parent)
            if owner is not None:
                # An @interfaceObject subgraph only knows the interface: the implementation's
                # name comes from a subgraph that has the interface itself.
                target = self._entity_group(at, owner, parent)
                tree = target.tree
                for directives in at.conditions:
                    tree = tree.fragment(None, directives)
                target.tree.add_typename()
                tree.add_field(response_key, name, (), tuple(node.directives or ()))
                return {target.index}
            at.tree.add_field(response_key, name, (), tuple(node.directives or ()))
            return {group.index}
        if self.placement.resolvable_in(group.graph, parent, name, at.provided):
            return {group.index} | self._add_field(at, parent, node)
        supergraph = self.supergraph
        if supergraph.is_abstract(parent) and self.placement.interface_jump(parent, name) is None:
            # No subgraph resolves the field for the interface as a whole: plan it on each
            # concrete type this subgraph can return.
            providers: set[int] = set()
            for concrete in self.placement.ordered(self._local_types(at, parent)):
                concrete_at = replace(
                    at,
                    tree=at.tree.fragment(concrete),
                    provided=None,
                    lineage=_down(at.lineage, _Step(parent, condition=concrete)),
                    siblings=at.tree,
                    local=frozenset((concrete,)),
                )
                providers |= self._plan_field(concrete_at, concrete, node)
            return providers
        if not supergraph.is_abstract(parent) and not supergraph.resolving_graphs(parent, name):
            # A field an @interfaceObject adds to every implementation: enter that subgraph
            # through the interface.
            parent = self.placement.interface_owning(parent, name)
        if not self.placement.key_candidates(parent, name) and at.lineage is not None:
            return self._reenter(at, at.lineage, parent, node)
        try:
            target = self._jump(at, parent, name)
        except _NoKeyToSupplyError:
            if at.lineage is None:
                raise
            # Every key leads back here (the key field itself needs this jump): reach the
            # field from further up instead, through an entity already entered on the way.
            return self._reenter(at, at.lineage, parent, node)
        tree = target.tree
        for directives in at.conditions:
            tree = tree.fragment(None, directives)
        target_at = _Position(target, at.path, tree, None, at.client, lineage=at.lineage)
        return {target.index} | self._add_field(target_at, parent, node)

    def _add_field(self, at: _Position, parent: str, node: FieldNode) -> set[int]:
        """Add ``node`` to ``at``'s group; the result names the groups that fetch its
        sub-selections (a key or required field nested in an object may come from another
        subgraph, and whoever needs it must wait for that fetch too)."""
        name = node.name.value
        response_key = node.alias.value if node.alias else name
        info = self.supergraph.field(parent, name)
        entry = at.tree.add_field(
            self._typed_key(at, info, response_key),
            name,
            tuple(node.arguments or ()),
            tuple(node.directives or ()),
            has_selections=node.selection_set is not None,
        )
        if node.selection_set is None or entry.tree is None:
            return set()
        if self.supergraph.is_abstract(info.type_name):
            entry.tree.add_typename()
        child_provided = self.placement.field_provides(at.group.graph, parent, name, at.provided)
        graph = at.group.graph
        child = _Position(
            at.group,
            (*at.path, response_key, *([LIST_MARKER] * info.list_depth)),
            entry.tree,
            child_provided or None,
            tuple(node.selection_set.selections),
            local=self.supergraph.possible_types_in(info.type_name_in(graph), graph),
        )
        if any(key.resolvable for key in self.supergraph.type(info.type_name).keys):
            outer = _down(at.lineage, _Step(parent, node))
            child = replace(child, lineage=_Lineage(child, info.type_name, outer=outer))
        else:
            child = replace(child, lineage=_down(at.lineage, _Step(parent, node)))
        return self._plan_selections(child, info.type_name, node.selection_set.selections)

    def _typed_key(self, at: _Position, info: FieldInfo, response_key: str) -> str:
        """``response_key``, or an alias when a sibling fragment of the same subgraph query
        already selects ``response_key`` with another type there (``ID`` and ``ID!``)."""
        if at.siblings is None:
            return response_key
        types = self.sibling_types.setdefault(id(at.siblings), {}).setdefault(response_key, [])
        field_type = info.type_in(at.group.graph)
        if field_type not in types:
            types.append(field_type)
        index = types.index(field_type)
        if index == 0:
            return response_key
        at.group.type_aliases = True
        return f"{TYPE_ALIAS_PREFIX}{index}_{response_key}"

    # --- entity jumps ---------------------------------------------------------------------

    def _reenter(self, at: _Position, lineage: _Lineage, parent: str, node: FieldNode) -> set[int]:
        """Plan ``node`` — a field of a value type no subgraph reaches through a key — in a
        subgraph that resolves the whole way down from the nearest entity (entered through its
        key) or from the root (another root fetch of the same root field, merged into the
        same response objects)."""
        supergraph = self.supergraph
        name = node.name.value
        choice = next(
            (
                (graph, anchor, anchor_type, steps)
                for anchor, anchor_type, steps in lineage.ancestors()
                for graph in supergraph.resolving_graphs(parent, name)
                if graph != at.group.graph
                and self._resolves_steps(graph, anchor, anchor_type, steps)
                and (
                    anchor is None
                    or (anchor.group.index, graph, anchor.path, anchor_type, 0) not in self.entering
                )
            ),
            None,
        )
        if choice is None:
            raise PlanningError(
                f"{parent}.{name} cannot be reached from subgraph {at.group.graph}: "
                "no subgraph resolving it has a resolvable @key"
            )
        graph, anchor, anchor_type, steps = choice
        if anchor is None:
            group = self.root_groups.get(graph)
            if group is None:
                group = self.root_groups[graph] = self._new_group(graph, ())
        else:
            group = self._entity_group(anchor, graph, anchor_type)
        tree = group.tree
        for step in steps:
            if step.node is None:
                tree = tree.fragment(step.condition, step.directives)
                continue
            field_node = step.node
            entry = tree.add_field(
                (field_node.alias or field_node.name).value,
                field_node.name.value,
                tuple(field_node.arguments or ()),
                tuple(field_node.directives or ()),
                has_selections=True,
            )
            assert entry.tree is not None
            tree = entry.tree
            step_type = supergraph.field(step.parent, field_node.name.value).type_name
            if supergraph.is_abstract(step_type):
                tree.add_typename()
        target_at = _Position(group, at.path, tree, None, at.client, lineage=lineage)
        return {group.index} | self._add_field(target_at, parent, node)

    def _resolves_steps(
        self, graph: str, anchor: _Position | None, anchor_type: str, steps: Sequence[_Step]
    ) -> bool:
        supergraph = self.supergraph
        if anchor is not None and not supergraph.resolvable_keys(anchor_type, graph):
            return False
        for step in steps:
            if step.node is None:
                if step.condition is not None and not supergraph.knows_type(graph, step.condition):
                    return False
            elif not self.placement.resolvable_in(graph, step.parent, step.node.name.value, None):
                return False
        return True

    def _jump(self, at: _Position, parent: str, name: str) -> FetchGroup:
        supergraph = self.supergraph
        candidates = self.placement.key_candidates(parent, name)
        if not candidates:
            raise PlanningError(
                f"{parent}.{name} cannot be reached from subgraph {at.group.graph}: "
                "no subgraph resolving it has a resolvable @key"
            )
        graph = self._choose_graph(at, parent, name, candidates)
        join = supergraph.field_join(parent, name, graph)
        if join is None or not join.requires:
            return self._entity_group(at, graph, parent)
        # A required field with arguments is fetched under an alias of its own arguments, so
        # two @requires of one field with different arguments never share a response key; the
        # representation carries the field's name, so they go to different entity groups.
        required = alias_taken_keys(alias_arguments(parse_field_set(join.requires)), at.client)
        shape = representation_shape(required, self.supergraph.possible_types)
        variant = 0
        while True:
            open_group = self.entity_groups.get((at.group.index, graph, at.path, parent, variant))
            if open_group is None or compatible(open_group.representation, shape):
                break
            variant += 1
        target = self._entity_group(at, graph, parent, variant)
        # The required fields are fetched before this group, never into it: a required
        # field of the same subgraph goes into a fetch of its own.
        lookup = (at.group.index, graph, at.path, parent, variant)
        self.entity_groups.pop(lookup, None)
        try:
            target.depends_on |= self._plan_selections(at, parent, required)
        finally:
            self.entity_groups[lookup] = target
        merge_shape(target.representation, shape)
        key_fields = {k.response_key for k in representation_shape(target.key)}
        target.optional |= {
            item.response_key for item in shape if item.response_key not in key_fields
        }
        return target

    def _choose_graph(self, at: _Position, parent: str, name: str, candidates: list[str]) -> str:
        """Prefer a group already fetching this field at this position (as a key), then any
        group already open here, then a subgraph whose key the source already has, then any
        subgraph not being entered right now (its key is fetched first)."""
        source = at.group
        available = [
            g for g in candidates if (source.index, g, at.path, parent, 0) not in self.entering
        ]
        for graph in available:
            open_group = self.entity_groups.get((source.index, graph, at.path, parent, 0))
            if open_group is not None and open_group.tree.has_field(name):
                return graph
        for graph in available:
            if (source.index, graph, at.path, parent, 0) in self.entity_groups:
                return graph
        for graph in available:
            for key in self.supergraph.resolvable_keys(parent, graph):
                if self.placement.locally_available(
                    source.graph, parent, parse_field_set(key.fields), at.provided
                ):
                    return graph
        if available:
            return available[0]
        raise _NoKeyToSupplyError(
            f"{parent} at {'.'.join(at.path) or 'the root'} cannot be reached from subgraph "
            f"{source.graph}: no subgraph offers a key it can supply"
        )

    def _entity_group(self, at: _Position, graph: str, parent: str, variant: int = 0) -> FetchGroup:
        source = at.group
        lookup = (source.index, graph, at.path, parent, variant)
        existing = self.entity_groups.get(lookup)
        if existing is not None:
            # Entered again from another selection (another fragment) on the same objects:
            # the key must be fetched there too.
            at.tree.add_typename()
            self.entering.add(lookup)
            try:
                existing.depends_on |= self._plan_selections(at, parent, existing.key)
            finally:
                self.entering.discard(lookup)
            if existing.entity is not None:
                accepted = existing.entity.accepted_types | self._entered_types(at, parent)
                existing.entity = replace(existing.entity, accepted_types=accepted)
            return existing
        supergraph = self.supergraph
        keys = supergraph.resolvable_keys(parent, graph)
        parsed = [parse_field_set(k.fields) for k in keys]
        chosen = next(
            (
                p
                for p in parsed
                if self.placement.locally_available(source.graph, parent, p, at.provided)
            ),
            parsed[0],
        )
        chosen = alias_taken_keys(chosen, at.client)
        at.tree.add_typename()
        self.entering.add(lookup)
        try:
            providers = self._plan_selections(at, parent, chosen)
        finally:
            self.entering.discard(lookup)
        interface_object = self.placement.is_interface_object(graph, parent)
        target = self._new_group(graph, at.path)
        target.entity = EntityTarget(
            type_condition=parent,
            accepted_types=self._entered_types(at, parent),
            typename=parent if interface_object else None,
        )
        target.depends_on = {source.index, *providers}
        target.key = chosen
        merge_shape(
            target.representation, representation_shape(chosen, self.supergraph.possible_types)
        )
        self.entity_groups[lookup] = target
        return target

    def _entered_types(self, at: _Position, parent: str) -> frozenset[str]:
        """The ``__typename``s of the objects an entity group entered at ``at`` is for: the
        object types the position can hold (a fragment entered narrows them), and the type
        itself (an ``@interfaceObject`` answer names the interface)."""
        possible = self.supergraph.possible_types(parent)
        if at.local is None:
            return frozenset((*possible, parent))
        return frozenset((*(t for t in possible if t in at.local), parent))

    def _new_group(self, graph: str, path: tuple[str, ...]) -> FetchGroup:
        group = FetchGroup(index=len(self.groups), graph=graph, path=path)
        self.groups.append(group)
        return group
