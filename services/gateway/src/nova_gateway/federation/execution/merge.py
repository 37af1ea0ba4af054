"""Merging subgraph answers into the plan's response data.

Each fetch's ``data`` (or, for ``_entities`` fetches, each entity) is merged into the objects
it was asked for; type aliases the planner introduced are renamed back first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nova_gateway.federation.errors import TYPE_ALIAS_PREFIX


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
