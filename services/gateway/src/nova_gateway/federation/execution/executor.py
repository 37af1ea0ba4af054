"""The executor: runs a query plan against the subgraphs and merges what they return
(:mod:`.merge`).

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
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionNode,
    parse,
)

from nova_gateway.federation.errors import (
    ErrorDict,
    Path,
    SubgraphFetchError,
    graphql_error,
    subgraph_error,
)
from nova_gateway.federation.execution.merge import deep_merge, restore_type_aliases
from nova_gateway.federation.execution.transport import (
    SUBREQUEST_MALFORMED_RESPONSE,
    SubgraphRequest,
)
from nova_gateway.federation.planning.plan import (
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
from nova_gateway.metrics import SUBGRAPH_GRAPHQL_ERRORS

_CANONICAL = msgspec.json.Encoder(order="sorted")
ENTITY_REPRESENTATION_INCOMPLETE = "ENTITY_REPRESENTATION_INCOMPLETE"


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
        # A failing branch cancels its siblings; the caller sees its error, not a group of one.
        try:
            async with asyncio.TaskGroup() as group:
                for branch, child in zip(branches, node.nodes, strict=True):
                    group.create_task(_execute(branch, child))
        except ExceptionGroup as failed:
            raise failed.exceptions[0] from None
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
    elif payload.get("errors"):
        # The subgraph refused the operation as a whole (``data: null``): each field it was
        # asked for is null, explained by the errors below.
        for key in top_level_keys(fetch.operation):
            run.data.setdefault(key, None)
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
        if item.types is not None and obj.get("__typename") not in item.types:
            continue
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


def _representations(
    run: _Run, flatten: FlattenNode
) -> tuple[list[dict[str, Any]], list[list[_Target]]]:
    """The distinct representations of the objects at the flatten path, each with the objects
    it stands for. An object that cannot be represented gets an error, never silence."""
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
            # A key or required value is missing: the object cannot be sent. Unless an earlier
            # error already explains it (a failed fetch of that value), say so.
            if not _explained(run.errors, target.path):
                run.errors.append(
                    graphql_error(
                        f"{fetch.service} was not asked for this {entity.type_condition}: "
                        "a field its @key or @requires needs is missing",
                        path=[*target.path, *top_level_keys(fetch.operation)[:1]],
                        code=ENTITY_REPRESENTATION_INCOMPLETE,
                        serviceName=fetch.service,
                    )
                )
            _null_requested(fetch, [[target]])
            continue
        key = _CANONICAL.encode(representation)
        index = index_by_key.get(key)
        if index is None:
            index = index_by_key[key] = len(representations)
            representations.append(representation)
            targets_by_index.append([])
        targets_by_index[index].append(target)
    return representations, targets_by_index


async def _fetch_entities(run: _Run, flatten: FlattenNode) -> None:
    fetch = flatten.node
    entity = fetch.entity
    assert entity is not None
    representations, targets_by_index = _representations(run, flatten)
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
        _null_requested(fetch, targets_by_index)
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
        _null_requested(fetch, targets_by_index)
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
        _null_requested(fetch, targets_by_index)
        return
    for entity_value, targets in zip(entities, targets_by_index, strict=True):
        if entity_value is None:
            # The subgraph has no such entity: every field asked of it is null (a non-null one
            # then propagates with its error when the response is shaped).
            _null_requested(fetch, [targets])
        elif isinstance(entity_value, dict):
            # Entered with the object's own __typename, a subgraph answering another one
            # names the implementation of an interface the object was only known as.
            concrete = entity_value.get("__typename") if entity.typename is None else None
            for target in targets:
                deep_merge(target.obj, entity_value)
                if isinstance(concrete, str):
                    target.obj["__typename"] = concrete


def _null_requested(fetch: FetchNode, targets_by_index: list[list[_Target]]) -> None:
    """What ``fetch`` was to bring is null on each object it did not answer for (a failed or
    malformed fetch, or an entity the subgraph does not have): the fields are there, null, next
    to the errors that say why, never absent (a non-null one propagates when shaped)."""
    requested = dict.fromkeys(top_level_keys(fetch.operation))
    restore_type_aliases(requested)
    for targets in targets_by_index:
        for target in targets:
            for key in requested:
                target.obj.setdefault(key, None)


def _explained(errors: list[ErrorDict], path: Path) -> bool:
    """True when an error is located at ``path``, below it or at one of its parents."""
    for error in errors:
        located = error.get("path")
        if not isinstance(located, list):
            continue
        common = min(len(located), len(path))
        if located[:common] == path[:common]:
            return True
    return False


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


@lru_cache(maxsize=1024)
def _top_level_keys(operation: str) -> tuple[str, ...]:
    document = parse(operation, no_location=True)
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    definition = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    selections: Sequence[SelectionNode] = definition.selection_set.selections
    first = selections[0] if selections else None
    if isinstance(first, FieldNode) and first.name.value == "_entities" and first.selection_set:
        # every type condition's fields: one fetch may enter several entity types
        selections = first.selection_set.selections
    keys: dict[str, None] = {}
    _collect_keys(selections, fragments, keys, set())
    return tuple(keys)


def _collect_keys(
    selections: Sequence[SelectionNode],
    fragments: Mapping[str, FragmentDefinitionNode],
    keys: dict[str, None],
    seen: set[str],
) -> None:
    """The response keys of ``selections``, through inline fragments and fragment spreads (a
    field under ``... @include(if: $x) { f }`` is still a field the fetch asks for)."""
    for selection in selections:
        if isinstance(selection, FieldNode):
            if selection.name.value != "__typename":
                keys.setdefault((selection.alias or selection.name).value)
        elif isinstance(selection, InlineFragmentNode):
            _collect_keys(selection.selection_set.selections, fragments, keys, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is not None and name not in seen:
                seen.add(name)
                _collect_keys(fragment.selection_set.selections, fragments, keys, seen)


def top_level_keys(operation: str) -> list[str]:
    """Response keys of the fields a subgraph operation asks for first, through fragments (used to
    locate the errors of a fetch that failed as a whole and to null what it was to bring)."""
    return list(_top_level_keys(operation))
