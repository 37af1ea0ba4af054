"""The supergraph model: the join directives of a composed schema as plain dataclasses.

The composer (``@theguild/federation-composition``) writes a supergraph whose types carry
``@join__type``/``@join__field``/``@join__implements``/``@join__unionMember``/``@join__enumValue``
and whose ``join__Graph`` enum lists the subgraphs (``@join__graph(name, url)``).
:mod:`.parse` reads them into the types below, which the planner queries; :mod:`.api_schema`
derives the schema clients see.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from graphql import (
    GraphQLSchema,
)


class SupergraphError(ValueError):
    """The supergraph cannot be used; the message says why."""


@dataclass(frozen=True, slots=True)
class Subgraph:
    name: str
    url: str


@dataclass(frozen=True, slots=True)
class EntityKey:
    """One ``@key`` of a type in one subgraph; ``fields`` is the raw field set."""

    graph: str
    fields: str
    resolvable: bool = True


@dataclass(frozen=True, slots=True)
class FieldJoin:
    """One ``@join__field`` of a field: how one subgraph knows it."""

    graph: str
    requires: str | None = None
    provides: str | None = None
    external: bool = False
    override: str | None = None
    used_overridden: bool = False
    type: str | None = None
    """The field's type in that subgraph when it differs from the supergraph's."""


@dataclass(frozen=True, slots=True)
class FieldInfo:
    name: str
    type_name: str
    """The named type the field returns (lists and non-null stripped)."""
    list_depth: int
    joins: tuple[FieldJoin, ...] = ()
    unjoined: bool = False
    """True when the field carries a bare ``@join__field``: no subgraph resolves it directly
    (a field contributed by an ``@interfaceObject``)."""
    type_string: str = ""
    """The field's type as printed in the supergraph (``[ID!]!``)."""

    def type_in(self, graph: str) -> str:
        """The field's type as ``graph`` declares it."""
        for join in self.joins:
            if join.graph == graph and join.type:
                return join.type
        return self.type_string

    def type_name_in(self, graph: str) -> str:
        """The named type the field returns in ``graph`` (narrower than ``type_name`` when
        the subgraph declares, say, one member of the supergraph's union)."""
        for join in self.joins:
            if join.graph == graph and join.type:
                return join.type.replace("[", "").replace("]", "").replace("!", "").strip()
        return self.type_name


@dataclass(frozen=True, slots=True)
class TypeInfo:
    name: str
    kind: str
    """``object``, ``interface``, ``union``, ``enum``, ``input`` or ``scalar``."""
    graphs: tuple[str, ...]
    keys: tuple[EntityKey, ...] = ()
    interface_object_graphs: frozenset[str] = frozenset()
    fields: dict[str, FieldInfo] = field(default_factory=dict)
    implements: dict[str, frozenset[str]] = field(default_factory=dict)
    """Per subgraph, the interfaces this type implements there."""
    union_members: dict[str, frozenset[str]] = field(default_factory=dict)
    """Per subgraph, the members of this union there."""


@dataclass(frozen=True, slots=True)
class Supergraph:
    """The parsed supergraph. Immutable; a reload builds a new one."""

    subgraphs: dict[str, Subgraph]
    types: dict[str, TypeInfo]
    api_schema: GraphQLSchema
    root_types: dict[str, str]
    """Operation kind (``query``/``mutation``/``subscription``) → root type name."""
    sdl_hash: str
    _local_types: dict[tuple[str, str], frozenset[str]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def type(self, name: str) -> TypeInfo:
        try:
            return self.types[name]
        except KeyError:
            raise SupergraphError(f"type {name} is not in the supergraph") from None

    def field(self, type_name: str, field_name: str) -> FieldInfo:
        info = self.type(type_name).fields.get(field_name)
        if info is None:
            raise SupergraphError(f"field {type_name}.{field_name} is not in the supergraph")
        return info

    def resolving_graphs(self, type_name: str, field_name: str) -> tuple[str, ...]:
        """Subgraphs that can resolve ``type_name.field_name`` themselves, in a stable order."""
        type_info = self.type(type_name)
        info = self.field(type_name, field_name)
        if info.unjoined:
            return ()
        if not info.joins:
            return type_info.graphs
        return tuple(
            join.graph for join in info.joins if not join.external and not join.used_overridden
        )

    def field_join(self, type_name: str, field_name: str, graph: str) -> FieldJoin | None:
        for join in self.field(type_name, field_name).joins:
            if join.graph == graph:
                return join
        return None

    def knows_type(self, graph: str, type_name: str) -> bool:
        info = self.types.get(type_name)
        return info is not None and graph in info.graphs

    def resolvable_keys(self, type_name: str, graph: str) -> tuple[EntityKey, ...]:
        return tuple(
            key for key in self.type(type_name).keys if key.graph == graph and key.resolvable
        )

    def possible_types(self, type_name: str) -> tuple[str, ...]:
        """Object types a value of ``type_name`` can have at run time (itself if an object)."""
        named = self.api_schema.get_type(type_name)
        if named is None:
            info = self.type(type_name)
            if info.kind == "object":
                return (type_name,)
            raise SupergraphError(f"type {type_name} is not in the API schema")
        if self.types[type_name].kind == "object":
            return (type_name,)
        return tuple(
            t.name
            for t in self.api_schema.get_possible_types(named)  # type: ignore[arg-type]
        )

    def possible_types_in(self, type_name: str, graph: str) -> frozenset[str]:
        """Object types a value of ``type_name`` can have when ``graph`` returns it: the union's
        members and the interface's implementations *in that subgraph*
        (``join__unionMember``/``join__implements``), which may be fewer than the
        supergraph's. A subgraph that sees the interface as an ``@interfaceObject`` may stand
        for any implementation."""
        cache_key = (type_name, graph)
        cached = self._local_types.get(cache_key)
        if cached is not None:
            return cached
        info = self.type(type_name)
        found: frozenset[str]
        if info.kind not in ("interface", "union"):
            found = frozenset((type_name,))
        elif info.kind == "union" and info.union_members:
            found = info.union_members.get(graph, frozenset())
        elif info.kind == "interface" and graph in info.interface_object_graphs:
            found = frozenset(self.possible_types(type_name))
        elif info.kind == "interface" and any(t.implements for t in self.types.values()):
            found = frozenset(
                t.name
                for t in self.types.values()
                if t.kind == "object" and type_name in t.implements.get(graph, ())
            )
        else:
            # A supergraph without per-subgraph membership: every possible type it has.
            found = frozenset(
                t for t in self.possible_types(type_name) if self.knows_type(graph, t)
            )
        self._local_types[cache_key] = found
        return found

    def interfaces_of(self, type_name: str) -> tuple[str, ...]:
        """Interfaces ``type_name`` implements in the API schema."""
        named = self.api_schema.get_type(type_name)
        interfaces = getattr(named, "interfaces", ())
        return tuple(interface.name for interface in interfaces)

    def is_abstract(self, type_name: str) -> bool:
        return self.type(type_name).kind in ("interface", "union")
