"""Bounded caches kept in plain dicts: insertion order is age, so the oldest entry is first."""

from __future__ import annotations

from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


def remember(cache: dict[K, V], key: K, value: V, limit: int) -> V:
    """Keep `value` under `key`, dropping the oldest entries first so at most `limit` stay."""
    cache.pop(key, None)  # a renewed entry counts as the newest
    while len(cache) >= limit:
        cache.pop(next(iter(cache)))
    cache[key] = value
    return value
