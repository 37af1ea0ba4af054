"""The executor: runs a query plan against the subgraphs and merges what they return.

Fetches of a ``Parallel`` node run concurrently, those of a ``Sequence`` one after the other.
An entity fetch collects the objects at its flatten path, builds one representation per distinct
object (identical representations are sent once) and merges each returned entity back into every
object it stands for. Every subgraph failure becomes a located error in the response — the rest
of the data is kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Protocol

import msgspec
from graphql import FieldNode, InlineFragmentNode, OperationDefinitionNode, parse

from nova_gateway.federation.errors import (
    TYPE_ALIAS_PREFIX,
    ErrorDict,
    Path,
    SubgraphFetchError,
    graphql_error,
    subgraph_error,
)
from nova_gateway.federation.plan import (
    LIST_MARKER,
    ConditionNode,
    FetchNode,
    FlattenNode,
    ParallelNode,
    PlanNode,
    QueryPlan,
    SequenceNode,
    ShapeField,
)
from nova_gateway.federation.transport import SUBREQUEST_MALFORMED_RESPONSE, SubgraphRequest
from nova_gateway.metrics import SUBGRAPH_GRAPHQL_ERRORS

_CANONICAL = msgspec.json.Encoder(order="sorted")


class Fetcher(Protocol):
    async def fetch(
        self, service: str, request: SubgraphRequest, headers: Mapping[str, str]
    ) -> dict[str, Any]: ...


@dataclass(slots=True)
class ExecutionResult:
    data: dict[str, Any]
    errors: list[ErrorDict] = field(default_factory=list)


@dataclass(slots=True)
class _Run:
    fetcher: Fetcher
    variables: dict[str, Any]
    headers: Mapping[str, str]
    data: dict[str, Any]
    errors: list[ErrorDict]
    """Errors of this branch; parallel branches collect their own and are joined in plan
    order, so the response lists errors deterministically."""
    conditions: Mapping[str, Any]
    """The coerced variable values (defaults applied) that ``Condition`` nodes test."""


async def execute_plan(
    plan: QueryPlan,
    fetcher: Fetcher,
    *,
    variables: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    coerced_variables: Mapping[str, Any] | None = None,
) -> ExecutionResult:
    """Run ``plan``. ``variables`` go to the subgraphs as the client sent them;
    ``coerced_variables`` (by default the same) decide the plan's conditions."""
    raw = dict(variables or {})
    conditions = raw if coerced_variables is None else coerced_variables
    run = _Run(fetcher, raw, dict(headers or {}), {}, [], conditions)
    if plan.node is not None:
        await _execute(run, plan.node)
    return ExecutionResult(data=run.data, errors=run.errors)


async def _execute(run: _Run, node: PlanNode) -> None:
    if isinstance(node, FetchNode):
        await _fetch_root(run, node)
    elif isinstance(node, FlattenNode):
        await _fetch_entities(run, node)
    elif isinstance(node, SequenceNode):
        for child in node.nodes:
            await _execute(run, child)
    elif isinstance(node, ConditionNode):
        clause = node.if_clause if run.conditions.get(node.condition) is True else node.else_clause
        if clause is not None:
            await _execute(run, clause)
    elif isinstance(node, ParallelNode):
        branches = [replace(run, errors=[]) for _ in node.nodes]
        await asyncio.gather(
            *(_execute(branch, child) for branch, child in zip(branches, node.nodes, strict=True))
        )
        for branch in branches:
            run.errors.extend(branch.errors)


def _request(run: _Run, fetch: FetchNode, extra: dict[str, Any] | None = None) -> SubgraphRequest:
    variables = {
        name: run.variables[name] for name in fetch.variable_usages if name in run.variables
    }
    if extra:
        variables.update(extra)
    return SubgraphRequest(
        query=fetch.operation, variables=variables, is_mutation=fetch.operation_kind == "mutation"
    )


async def _fetch_root(run: _Run, fetch: FetchNode) -> None:
    errors = run.errors
    try:
        payload = await run.fetcher.fetch(fetch.service, _request(run, fetch), run.headers)
    except SubgraphFetchError as failure:
        for key in top_level_keys(fetch.operation):
            errors.append(_fetch_failure(failure, fetch.service, [key]))
        return
    data = payload.get("data")
    if isinstance(data, dict):
        if fetch.type_aliases:
            restore_type_aliases(data)
        deep_merge(run.data, data)
    raw_errors = payload.get("errors")
    if isinstance(raw_errors, list) and raw_errors:
        SUBGRAPH_GRAPHQL_ERRORS.labels(fetch.service).inc(len(raw_errors))
        for raw in raw_errors:
            errors.append(subgraph_error(raw, fetch.service, _plain_path(raw)))


@dataclass(slots=True)
class _Target:
    obj: dict[str, Any]
    path: Path


def collect_targets(data: Any, path: Sequence[str], prefix: Path | None = None) -> list[_Target]:
    """The objects found at a flatten path, with the response path of each."""
    found: list[_Target] = []
    stack: list[tuple[Any, int, Path]] = [(data, 0, list(prefix or []))]
    while stack:
        value, depth, at = stack.pop()
        if value is None:
            continue
        if depth == len(path):
            if isinstance(value, dict):
                found.append(_Target(value, at))
            elif isinstance(value, list):
                stack.extend(
                    (item, depth, [*at, i]) for i, item in reversed(list(enumerate(value)))
                )
            continue
        step = path[depth]
        if step == LIST_MARKER:
            if isinstance(value, list):
                stack.extend(
                    (item, depth + 1, [*at, i]) for i, item in reversed(list(enumerate(value)))
                )
        elif isinstance(value, dict):
            stack.append((value.get(step), depth + 1, [*at, step]))
    return found


def build_representation(
    obj: dict[str, Any],
    shape: tuple[ShapeField, ...],
    typename: str | None,
    optional: frozenset[str] = frozenset(),
) -> dict[str, Any] | None:
    """The ``_entities`` representation of ``obj``, or None when a key field is missing."""
    representation: dict[str, Any] = {"__typename": typename or obj.get("__typename")}
    values = _shape_values(obj, shape, optional)
    if values is None:
        return None
    representation.update(values)
    return representation


def _shape_values(
    obj: dict[str, Any], shape: tuple[ShapeField, ...], optional: frozenset[str] = frozenset()
) -> dict[str, Any] | None:
    values: dict[str, Any] = {}
    for item in shape:
        if item.response_key not in obj:
            if item.response_key in optional:
                continue
            return None
        value = obj[item.response_key]
        if item.shape and value is not None:
            value = _shape_list(value, item.shape)
            if value is None:
                return None
        values[item.name] = value
    return values


def _shape_list(value: Any, shape: tuple[ShapeField, ...]) -> Any:
    if isinstance(value, list):
        return [_shape_list(item, shape) for item in value]
    if isinstance(value, dict):
        nested = _shape_values(value, shape)
        if nested is not None and "__typename" in value:
            nested = {"__typename": value["__typename"], **nested}
        return nested
    return value


async def _fetch_entities(run: _Run, flatten: FlattenNode) -> None:
    fetch = flatten.node
    entity = fetch.entity
    assert entity is not None
    representations: list[dict[str, Any]] = []
    targets_by_index: list[list[_Target]] = []
    index_by_key: dict[bytes, int] = {}
    for target in collect_targets(run.data, flatten.path):
        if target.obj.get("__typename") not in entity.accepted_types:
            continue
        representation = build_representation(
            target.obj, entity.representation, entity.typename, entity.optional
        )
        if representation is None:
            continue
        key = _CANONICAL.encode(representation)
        index = index_by_key.get(key)
        if index is None:
            index = index_by_key[key] = len(representations)
            representations.append(representation)
            targets_by_index.append([])
        targets_by_index[index].append(target)
    if not representations:
        return
    errors = run.errors
    first_keys = top_level_keys(fetch.operation)[:1]
    request = _request(run, fetch, {"representations": representations})
    try:
        payload = await run.fetcher.fetch(fetch.service, request, run.headers)
    except SubgraphFetchError as failure:
        for targets in targets_by_index:
            for target in targets:
                errors.append(_fetch_failure(failure, fetch.service, [*target.path, *first_keys]))
        return
    data = payload.get("data")
    if fetch.type_aliases and isinstance(data, dict):
        restore_type_aliases(data)
    entities = data.get("_entities") if isinstance(data, dict) else None
    raw_errors = payload.get("errors")
    if isinstance(raw_errors, list) and raw_errors:
        SUBGRAPH_GRAPHQL_ERRORS.labels(fetch.service).inc(len(raw_errors))
        for raw in raw_errors:
            errors.extend(_entity_errors(raw, fetch.service, targets_by_index, first_keys))
    if entities is None:
        return
    if not isinstance(entities, list) or len(entities) != len(representations):
        count = len(entities) if isinstance(entities, list) else 0
        message = (
            f"subgraph {fetch.service} returned {count} entities "
            f"for {len(representations)} representations"
        )
        for targets in targets_by_index:
            for target in targets:
                errors.append(
                    graphql_error(
                        message,
                        path=[*target.path, *first_keys],
                        code=SUBREQUEST_MALFORMED_RESPONSE,
                        serviceName=fetch.service,
                    )
                )
        return
    for entity_value, targets in zip(entities, targets_by_index, strict=True):
        if isinstance(entity_value, dict):
            # Entered with the object's own __typename, a subgraph answering another one
            # names the implementation of an interface the object was only known as.
            concrete = entity_value.get("__typename") if entity.typename is None else None
            for target in targets:
                deep_merge(target.obj, entity_value)
                if isinstance(concrete, str):
                    target.obj["__typename"] = concrete


def _entity_errors(
    raw: object, service: str, targets_by_index: list[list[_Target]], first_keys: list[str]
) -> list[ErrorDict]:
    path = _plain_path(raw)
    if path and len(path) >= 2 and path[0] == "_entities" and isinstance(path[1], int):
        index = path[1]
        if 0 <= index < len(targets_by_index):
            return [
                subgraph_error(raw, service, [*target.path, *path[2:]])
                for target in targets_by_index[index]
            ]
    # No usable path: the error concerns the whole fetch; locate it at every object it covers.
    return [
        subgraph_error(raw, service, [*target.path, *first_keys])
        for targets in targets_by_index
        for target in targets
    ]


def _plain_path(raw: object) -> Path | None:
    if not isinstance(raw, dict):
        return None
    path = raw.get("path")
    if isinstance(path, list) and all(isinstance(p, str | int) for p in path):
        return list(path)
    return None


def _fetch_failure(failure: SubgraphFetchError, service: str, path: Path) -> ErrorDict:
    return graphql_error(failure.message, path=path, code=failure.code, serviceName=service)


def restore_type_aliases(value: Any) -> None:
    """Rename every ``_nova_as<N>_<key>`` back to ``<key>``: only objects of one type carry the
    alias, so the key is free in them."""
    if isinstance(value, list):
        for item in value:
            restore_type_aliases(item)
        return
    if not isinstance(value, dict):
        return
    for key in [k for k in value if k.startswith(TYPE_ALIAS_PREFIX)]:
        value[key.removeprefix(TYPE_ALIAS_PREFIX).partition("_")[2]] = value.pop(key)
    for nested in value.values():
        restore_type_aliases(nested)


def deep_merge(target: dict[str, Any], source: Mapping[str, Any]) -> None:
    """Merge ``source`` into ``target``; an existing ``__typename`` is kept (an interface
    object answers with the interface name, the concrete type came first)."""
    for key, value in source.items():
        if key == "__typename" and key in target:
            continue
        existing = target.get(key)
        if isinstance(existing, dict) and isinstance(value, dict):
            deep_merge(existing, value)
        elif isinstance(existing, list) and isinstance(value, list) and len(existing) == len(value):
            _merge_lists(existing, value)
        else:
            target[key] = value


def _merge_lists(target: list[Any], source: list[Any]) -> None:
    for index, (existing, value) in enumerate(zip(target, source, strict=True)):
        if isinstance(existing, dict) and isinstance(value, dict):
            deep_merge(existing, value)
        elif isinstance(existing, list) and isinstance(value, list) and len(existing) == len(value):
            _merge_lists(existing, value)
        else:
            target[index] = value


@lru_cache(maxsize=1024)
def _top_level_keys(operation: str) -> tuple[str, ...]:
    document = parse(operation, no_location=True)
    definition = document.definitions[0]
    assert isinstance(definition, OperationDefinitionNode)
    selections = list(definition.selection_set.selections)
    first = selections[0] if selections else None
    if isinstance(first, FieldNode) and first.name.value == "_entities" and first.selection_set:
        fragment = first.selection_set.selections[0]
        assert isinstance(fragment, InlineFragmentNode)
        selections = list(fragment.selection_set.selections)
    keys = [
        (s.alias or s.name).value
        for s in selections
        if isinstance(s, FieldNode) and s.name.value != "__typename"
    ]
    return tuple(keys)


def top_level_keys(operation: str) -> list[str]:
    """Response keys of the fields a subgraph operation asks for first (used to locate errors
    of a fetch that failed as a whole)."""
    return list(_top_level_keys(operation))
