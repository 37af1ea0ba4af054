"""The supergraph: the join directives of a composed schema as a typed model, plus the API schema.

The composer (``@theguild/federation-composition``) writes a supergraph whose types carry
``@join__type``/``@join__field``/``@join__implements``/``@join__unionMember``/``@join__enumValue``
and whose ``join__Graph`` enum lists the subgraphs (``@join__graph(name, url)``). This module reads
them into plain dataclasses the planner queries, and derives the schema clients see (federation
machinery and ``@inaccessible`` elements removed) for validation and introspection.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from graphql import (
    ArgumentNode,
    BooleanValueNode,
    ConstDirectiveNode,
    DefinitionNode,
    DirectiveDefinitionNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    EnumValueNode,
    FieldDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    InputObjectTypeDefinitionNode,
    InputValueDefinitionNode,
    InterfaceTypeDefinitionNode,
    ListTypeNode,
    NamedTypeNode,
    NonNullTypeNode,
    ObjectTypeDefinitionNode,
    ScalarTypeDefinitionNode,
    SchemaDefinitionNode,
    StringValueNode,
    TypeDefinitionNode,
    TypeNode,
    UnionTypeDefinitionNode,
    assert_valid_schema,
    build_ast_schema,
    parse,
    print_ast,
)

SUPPORTED_JOIN_VERSIONS = frozenset({"v0.3", "v0.4", "v0.5"})
_SPEC_URL = re.compile(r"^https?://specs\.apollo\.dev/(?P<name>[\w-]+)/(?P<version>v\d+\.\d+)$")


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


# --- parsing --------------------------------------------------------------------------------


@dataclass(slots=True)
class _Features:
    """Names the linked specs use in this document (``@link(as:)`` may rename them)."""

    join: str = "join"
    link: str = "link"
    inaccessible: str = "inaccessible"
    machinery: set[str] = field(default_factory=set)
    """Prefixes of every linked spec: their directives and ``prefix__`` types are stripped."""


def parse_supergraph(sdl: str) -> Supergraph:
    """Parse a composed supergraph; :class:`SupergraphError` says what is wrong with it."""
    try:
        document = parse(sdl, no_location=True)
    except GraphQLError as error:
        raise SupergraphError(f"supergraph is not valid GraphQL: {error.message}") from None
    features = _read_links(document)
    graphs = _read_graphs(document, features)
    types = _read_types(document, features, graphs)
    root_types = _read_root_types(document)
    api_schema = build_api_schema(document, features)
    for kind, name in root_types.items():
        if name not in types:
            raise SupergraphError(f"the {kind} root type {name} is not defined")
    return Supergraph(
        subgraphs={g.name: g for g in graphs.values()},
        types=types,
        api_schema=api_schema,
        root_types=root_types,
        sdl_hash=hashlib.sha256(sdl.encode()).hexdigest(),
    )


def _argument_values(directive: ConstDirectiveNode) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for argument in directive.arguments or ():
        values[argument.name.value] = _literal(argument)
    return values


def _literal(argument: ArgumentNode) -> Any:
    value = argument.value
    if isinstance(value, StringValueNode):
        return value.value
    if isinstance(value, BooleanValueNode):
        return value.value
    if isinstance(value, EnumValueNode):
        return value.value
    return None


def _directives(node: Any, name: str) -> list[dict[str, Any]]:
    return [
        _argument_values(directive)
        for directive in cast("Sequence[ConstDirectiveNode]", node.directives or ())
        if directive.name.value == name
    ]


def _schema_nodes(document: DocumentNode) -> list[Any]:
    from graphql import SchemaExtensionNode

    return [
        d for d in document.definitions if isinstance(d, SchemaDefinitionNode | SchemaExtensionNode)
    ]


def _read_links(document: DocumentNode) -> _Features:
    features = _Features()
    join_version: str | None = None
    for schema in _schema_nodes(document):
        for link in _directives(schema, "link"):
            match = _SPEC_URL.match(str(link.get("url") or ""))
            if match is None:
                continue
            spec, version = match["name"], match["version"]
            local_name = str(link.get("as") or spec)
            features.machinery.add(local_name)
            if spec == "join":
                features.join, join_version = local_name, version
            elif spec == "link":
                features.link = local_name
            elif spec == "inaccessible":
                features.inaccessible = local_name
    if join_version is None:
        raise SupergraphError(
            "not a Federation v2 supergraph: no @link to https://specs.apollo.dev/join"
        )
    if join_version not in SUPPORTED_JOIN_VERSIONS:
        supported = ", ".join(sorted(SUPPORTED_JOIN_VERSIONS))
        raise SupergraphError(f"join spec {join_version} is not supported (supported: {supported})")
    features.machinery.add(features.link)
    return features


def _read_graphs(document: DocumentNode, features: _Features) -> dict[str, Subgraph]:
    enum_name = f"{features.join}__Graph"
    for definition in document.definitions:
        if isinstance(definition, EnumTypeDefinitionNode) and definition.name.value == enum_name:
            graphs: dict[str, Subgraph] = {}
            for value in definition.values or ():
                joined = _directives(value, f"{features.join}__graph")
                if not joined:
                    raise SupergraphError(f"{enum_name}.{value.name.value} has no @join__graph")
                graphs[value.name.value] = Subgraph(
                    name=str(joined[0]["name"]), url=str(joined[0].get("url") or "")
                )
            if not graphs:
                raise SupergraphError("the supergraph has no subgraphs")
            return graphs
    raise SupergraphError(f"the supergraph has no {enum_name} enum")


_KINDS: dict[type[DefinitionNode], str] = {
    ObjectTypeDefinitionNode: "object",
    InterfaceTypeDefinitionNode: "interface",
    UnionTypeDefinitionNode: "union",
    EnumTypeDefinitionNode: "enum",
    InputObjectTypeDefinitionNode: "input",
    ScalarTypeDefinitionNode: "scalar",
}


def _unwrap(type_node: TypeNode) -> tuple[str, int]:
    depth = 0
    while not isinstance(type_node, NamedTypeNode):
        if isinstance(type_node, ListTypeNode):
            depth += 1
        type_node = cast("ListTypeNode | NonNullTypeNode", type_node).type
    return type_node.name.value, depth


def _read_types(
    document: DocumentNode, features: _Features, graphs: dict[str, Subgraph]
) -> dict[str, TypeInfo]:
    join = features.join

    def graph_name(enum_value: object) -> str:
        try:
            return graphs[str(enum_value)].name
        except KeyError:
            raise SupergraphError(f"unknown join__Graph value {enum_value}") from None

    types: dict[str, TypeInfo] = {}
    for definition in document.definitions:
        kind = _KINDS.get(type(definition))
        if kind is None:
            continue
        node = cast("TypeDefinitionNode", definition)
        name = node.name.value
        if _is_machinery(name, features):
            continue
        type_joins = _directives(node, f"{join}__type")
        type_graphs = tuple(dict.fromkeys(graph_name(j["graph"]) for j in type_joins))
        keys = tuple(
            EntityKey(
                graph=graph_name(j["graph"]),
                fields=str(j["key"]),
                resolvable=j.get("resolvable") is not False,
            )
            for j in type_joins
            if j.get("key")
        )
        interface_objects = frozenset(
            graph_name(j["graph"]) for j in type_joins if j.get("isInterfaceObject") is True
        )
        implements: dict[str, set[str]] = {}
        for j in _directives(node, f"{join}__implements"):
            implements.setdefault(graph_name(j["graph"]), set()).add(str(j["interface"]))
        members: dict[str, set[str]] = {}
        for j in _directives(node, f"{join}__unionMember"):
            members.setdefault(graph_name(j["graph"]), set()).add(str(j["member"]))
        fields: dict[str, FieldInfo] = {}
        if isinstance(node, ObjectTypeDefinitionNode | InterfaceTypeDefinitionNode):
            for field_node in node.fields or ():
                fields[field_node.name.value] = _read_field(field_node, join, graph_name)
        types[name] = TypeInfo(
            name=name,
            kind=kind,
            graphs=type_graphs,
            keys=keys,
            interface_object_graphs=interface_objects,
            fields=fields,
            implements={g: frozenset(v) for g, v in implements.items()},
            union_members={g: frozenset(v) for g, v in members.items()},
        )
    return types


def _read_field(node: FieldDefinitionNode, join: str, graph_name: Any) -> FieldInfo:
    type_name, depth = _unwrap(node.type)
    raw_joins = _directives(node, f"{join}__field")
    joins = tuple(
        FieldJoin(
            graph=graph_name(j["graph"]),
            requires=j.get("requires"),
            provides=j.get("provides"),
            external=j.get("external") is True,
            override=j.get("override"),
            used_overridden=j.get("usedOverridden") is True,
            type=j.get("type"),
        )
        for j in raw_joins
        if j.get("graph") is not None
    )
    return FieldInfo(
        name=node.name.value,
        type_name=type_name,
        list_depth=depth,
        joins=joins,
        unjoined=bool(raw_joins) and not joins,
        type_string=print_ast(node.type),
    )


def _read_root_types(document: DocumentNode) -> dict[str, str]:
    roots: dict[str, str] = {}
    for schema in _schema_nodes(document):
        for operation in schema.operation_types or ():
            roots[operation.operation.value] = operation.type.name.value
    if not roots:
        defined = {
            d.name.value for d in document.definitions if isinstance(d, ObjectTypeDefinitionNode)
        }
        for kind, name in (("query", "Query"), ("mutation", "Mutation")):
            if name in defined:
                roots[kind] = name
    if "query" not in roots:
        raise SupergraphError("the supergraph has no query root type")
    return roots


# --- API schema -----------------------------------------------------------------------------


def _is_machinery(name: str, features: _Features) -> bool:
    return any(name == prefix or name.startswith(f"{prefix}__") for prefix in features.machinery)


def build_api_schema(document: DocumentNode, features: _Features) -> GraphQLSchema:
    """The schema clients see: no link/join machinery, no ``@inaccessible`` element."""
    hidden_types = {
        d.name.value
        for d in document.definitions
        if isinstance(d, TypeDefinitionNode) and _inaccessible(d, features)
    }
    kept: list[DefinitionNode] = []
    for definition in document.definitions:
        if isinstance(definition, DirectiveDefinitionNode):
            if not _is_machinery(definition.name.value, features):
                kept.append(definition)
            continue
        if isinstance(definition, TypeDefinitionNode):
            name = definition.name.value
            if _is_machinery(name, features) or name in hidden_types:
                continue
            kept.append(_strip_type(definition, features, hidden_types))
            continue
        if isinstance(definition, SchemaDefinitionNode):
            kept.append(
                SchemaDefinitionNode(directives=(), operation_types=definition.operation_types)
            )
            continue
        kept.append(definition)
    try:
        schema = build_ast_schema(DocumentNode(definitions=tuple(kept)), assume_valid_sdl=False)
        assert_valid_schema(schema)
    except (GraphQLError, TypeError) as error:
        raise SupergraphError(f"the API schema is invalid: {error}") from None
    return schema


def _inaccessible(node: Any, features: _Features) -> bool:
    return any(d.name.value == features.inaccessible for d in node.directives or ())


def _public_directives(node: Any, features: _Features) -> tuple[ConstDirectiveNode, ...]:
    return tuple(d for d in node.directives or () if not _is_machinery(d.name.value, features))


def _strip_type(node: Any, features: _Features, hidden_types: set[str]) -> Any:
    changes: dict[str, Any] = {"directives": _public_directives(node, features)}
    if isinstance(node, ObjectTypeDefinitionNode | InterfaceTypeDefinitionNode):
        changes["fields"] = tuple(
            _strip_field(f, features, hidden_types)
            for f in node.fields or ()
            if not _inaccessible(f, features) and _unwrap(f.type)[0] not in hidden_types
        )
        changes["interfaces"] = tuple(
            i for i in node.interfaces or () if i.name.value not in hidden_types
        )
    elif isinstance(node, UnionTypeDefinitionNode):
        changes["types"] = tuple(t for t in node.types or () if t.name.value not in hidden_types)
    elif isinstance(node, EnumTypeDefinitionNode):
        changes["values"] = tuple(
            v.__class__(
                name=v.name, description=v.description, directives=_public_directives(v, features)
            )
            for v in node.values or ()
            if not _inaccessible(v, features)
        )
    elif isinstance(node, InputObjectTypeDefinitionNode):
        changes["fields"] = _strip_inputs(node.fields, features)
    return node.__class__(**{**_node_attributes(node), **changes})


def _strip_field(node: FieldDefinitionNode, features: _Features, hidden: set[str]) -> Any:
    return FieldDefinitionNode(
        name=node.name,
        description=node.description,
        arguments=_strip_inputs(node.arguments, features),
        type=node.type,
        directives=_public_directives(node, features),
    )


def _strip_inputs(
    nodes: Iterable[InputValueDefinitionNode] | None, features: _Features
) -> tuple[InputValueDefinitionNode, ...]:
    return tuple(
        InputValueDefinitionNode(
            name=n.name,
            description=n.description,
            type=n.type,
            default_value=n.default_value,
            directives=_public_directives(n, features),
        )
        for n in nodes or ()
        if not _inaccessible(n, features)
    )


def _node_attributes(node: Any) -> dict[str, Any]:
    return {key: getattr(node, key) for key in node.keys if key != "loc"}
