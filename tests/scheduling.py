"""Start the longest tests first, one on each pytest-xdist worker.

The suite's run time is set by a few tests that wait on real servers' rate limits for minutes
(IRC's default flood class, Synapse's default message rate); begun late, each one stretches
the run by its whole length. Under `--dist worksteal`, xdist hands each worker an equal
contiguous slice of the collection at the start, then balances by stealing from the tails of
the queues, so putting a slow test at the head of each slice starts them all at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def initial_slices(count: int, workers: int) -> list[int]:
    """The sizes of the slices worksteal gives `workers` idle workers out of `count` tests
    (xdist/scheduler/worksteal.py, check_schedule: the pending ones split evenly in order)."""
    sizes = []
    remaining = count
    for n in range(workers):
        size = remaining // (workers - n)
        sizes.append(size)
        remaining -= size
    return sizes


def slow_first(items: Sequence[T], slow: Sequence[T], workers: int) -> list[T]:
    """`items` reordered so that each worker's first slice begins with slow ones (dealt round
    robin, the first listed first); the others keep their order."""
    chosen = set(map(id, slow))
    rest = [i for i in items if id(i) not in chosen]
    if workers < 2:
        return [*slow, *rest]
    dealt: list[list[T]] = [[] for _ in range(workers)]
    for n, item in enumerate(slow):
        dealt[n % workers].append(item)
    ordered: list[T] = []
    for heads, size in zip(dealt, initial_slices(len(items), workers), strict=True):
        ordered += heads
        take = max(0, size - len(heads))
        ordered += rest[:take]
        del rest[:take]
    return ordered + rest
