"""Short codes: every character of the alphabet equally likely, from a pool of the system's
randomness that a forked child never shares with its parent."""

from __future__ import annotations

import os
from collections import Counter

from bot.codes import _POOL, ALPHABET, POOL_BYTES, normalise_code, random_code, short_code


def test_every_character_is_about_equally_likely() -> None:
    counts = Counter("".join(random_code(8) for _ in range(15_000)))
    expected = 15_000 * 8 / len(ALPHABET)
    assert set(counts) == set(ALPHABET)
    # 4000 each expected; six standard deviations (about 380) either way is never crossed.
    assert all(abs(n - expected) < 6 * expected ** 0.5 for n in counts.values()), counts


def test_bounds_that_are_not_powers_of_two_are_uniform_and_in_range() -> None:
    draws = Counter(_POOL.below(3) for _ in range(30_000))
    assert set(draws) == {0, 1, 2}
    assert all(abs(n - 10_000) < 600 for n in draws.values()), draws


def test_codes_span_many_pools_without_repeating() -> None:
    codes = {short_code() for _ in range(3 * POOL_BYTES)}  # several refills
    assert len(codes) == 3 * POOL_BYTES
    assert all(normalise_code(c.lower().replace("-", " ")) == c for c in list(codes)[:50])


def test_a_forked_child_draws_its_own_codes() -> None:
    random_code(8)  # the pool holds bytes the child must not reuse
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next code, to the parent
        os.write(write, random_code(16).encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 64).decode()
    os.waitpid(pid, 0)
    os.close(read)
    assert child != random_code(16)  # the parent's next code from the same pool differs
