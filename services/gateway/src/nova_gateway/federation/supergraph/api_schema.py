"""The API schema: the supergraph as clients see it, for validation and introspection.

Federation machinery (the ``@link``/``@join__*`` directives and ``prefix__`` types of every
linked spec) and ``@inaccessible`` elements are removed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from graphql import (
    ConstDirectiveNode,
    DefinitionNode,
    DirectiveDefinitionNode,
    DocumentNode,
    EnumTypeDefinitionNode,
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
    SchemaDefinitionNode,
    TypeDefinitionNode,
    TypeNode,
    UnionTypeDefinitionNode,
    assert_valid_schema,
    build_ast_schema,
)

from nova_gateway.federation.supergraph.model import SupergraphError


@dataclass(slots=True)
class Features:
    """Names the linked specs use in this document (``@link(as:)`` may rename them)."""

    join: str = "join"
    link: str = "link"
    inaccessible: str = "inaccessible"
    machinery: set[str] = field(default_factory=set)
    """Prefixes of every linked spec: their directives and ``prefix__`` types are stripped."""


def unwrap_type(type_node: TypeNode) -> tuple[str, int]:
    depth = 0
    while not isinstance(type_node, NamedTypeNode):
        if isinstance(type_node, ListTypeNode):
            depth += 1
        type_node = cast("ListTypeNode | NonNullTypeNode", type_node).type
    return type_node.name.value, depth


def is_machinery(name: str, features: Features) -> bool:
    return any(name == prefix or name.startswith(f"{prefix}__") for prefix in features.machinery)


def build_api_schema(document: DocumentNode, features: Features) -> GraphQLSchema:
    """The schema clients see: no link/join machinery, no ``@inaccessible`` element."""
    hidden_types = {
        d.name.value
        for d in document.definitions
        if isinstance(d, TypeDefinitionNode) and _inaccessible(d, features)
    }
    kept: list[DefinitionNode] = []
    for definition in document.definitions:
        if isinstance(definition, DirectiveDefinitionNode):
            if not is_machinery(definition.name.value, features):
                kept.append(definition)
            continue
        if isinstance(definition, TypeDefinitionNode):
            name = definition.name.value
            if is_machinery(name, features) or name in hidden_types:
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


def _inaccessible(node: Any, features: Features) -> bool:
    return any(d.name.value == features.inaccessible for d in node.directives or ())


def _public_directives(node: Any, features: Features) -> tuple[ConstDirectiveNode, ...]:
    return tuple(d for d in node.directives or () if not is_machinery(d.name.value, features))


def _strip_type(node: Any, features: Features, hidden_types: set[str]) -> Any:
    changes: dict[str, Any] = {"directives": _public_directives(node, features)}
    if isinstance(node, ObjectTypeDefinitionNode | InterfaceTypeDefinitionNode):
        changes["fields"] = tuple(
            _strip_field(f, features, hidden_types)
            for f in node.fields or ()
            if not _inaccessible(f, features) and unwrap_type(f.type)[0] not in hidden_types
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


def _strip_field(node: FieldDefinitionNode, features: Features, hidden: set[str]) -> Any:
    return FieldDefinitionNode(
        name=node.name,
        description=node.description,
        arguments=_strip_inputs(node.arguments, features),
        type=node.type,
        directives=_public_directives(node, features),
    )


def _strip_inputs(
    nodes: Iterable[InputValueDefinitionNode] | None, features: Features
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
