"""The order that starts the slow tests first, one on each worker (tests/scheduling.py)."""

from __future__ import annotations

from tests.scheduling import initial_slices, slow_first


def test_worksteal_slices_are_even_and_cover_every_test() -> None:
    assert initial_slices(10, 3) == [3, 3, 4]
    assert initial_slices(933, 6) == [155, 155, 155, 156, 156, 156]
    assert initial_slices(2, 3) == [0, 1, 1]


def test_each_workers_slice_begins_with_a_slow_test_and_nothing_is_lost() -> None:
    items = [f"t{n}" for n in range(20)]
    slow = [items[19], items[7], items[12], items[3]]  # the longest first
    ordered = slow_first(items, slow, 3)
    assert sorted(ordered) == sorted(items)
    starts = [0, 6, 13]  # initial_slices(20, 3) == [6, 7, 7]
    assert [ordered[s] for s in starts] == ["t19", "t7", "t12"]
    assert ordered[1] == "t3"  # the fourth goes to the first worker, after its first
    others = [i for i in ordered if i not in slow]
    assert others == [i for i in items if i not in slow]  # the rest keep their order


def test_one_process_runs_the_slow_tests_first() -> None:
    assert slow_first(["a", "b", "c"], ["c"], 1) == ["c", "a", "b"]
