"""Parsing a composed supergraph SDL into the :class:`~.model.Supergraph` model."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any, cast

from graphql import (
    ArgumentNode,
    BooleanValueNode,
    ConstDirectiveNode,
    DefinitionNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    EnumValueNode,
    FieldDefinitionNode,
    GraphQLError,
    InputObjectTypeDefinitionNode,
    InterfaceTypeDefinitionNode,
    ObjectTypeDefinitionNode,
    ScalarTypeDefinitionNode,
    SchemaDefinitionNode,
    StringValueNode,
    TypeDefinitionNode,
    UnionTypeDefinitionNode,
    parse,
    print_ast,
)

from nova_gateway.federation.supergraph.api_schema import (
    Features,
    build_api_schema,
    is_machinery,
    unwrap_type,
)
from nova_gateway.federation.supergraph.model import (
    EntityKey,
    FieldInfo,
    FieldJoin,
    Subgraph,
    Supergraph,
    SupergraphError,
    TypeInfo,
)

SUPPORTED_JOIN_VERSIONS = frozenset({"v0.3", "v0.4", "v0.5"})
_SPEC_URL = re.compile(r"^https?://specs\.apollo\.dev/(?P<name>[\w-]+)/(?P<version>v\d+\.\d+)$")


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


def _read_links(document: DocumentNode) -> Features:
    features = Features()
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


def _read_graphs(document: DocumentNode, features: Features) -> dict[str, Subgraph]:
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


def _read_types(
    document: DocumentNode, features: Features, graphs: dict[str, Subgraph]
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
        if is_machinery(name, features):
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
    type_name, depth = unwrap_type(node.type)
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
