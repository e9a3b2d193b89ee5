"""Pure pieces: router, text cleaning, choices, durations, rate limiter, keyed locks."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from bot.caches import remember
from bot.choices import resolve
from bot.durations import describe, parse_duration
from bot.flow import Turn, drop_warm
from bot.i18n import TranslatableError, reason, translator
from bot.locks import KeyedLocks
from bot.model import (
    Capabilities,
    ExternalId,
    Identity,
    Inbound,
    Network,
    PersonId,
    Rate,
    RoomRef,
    compact_json,
    compact_json_parts,
)
from bot.ratelimit import TokenBucket
from bot.router import parse
from bot.scheduler import Ticker
from bot.text import MAX_INPUT_CHARS, clean_input


@pytest.mark.parametrize(("text", "command", "args"), [
    ("!start", "start", ""),
    ("!START over", "start", "over"),
    ("/start@wayfinder_bot payload", "start", "payload"),
    ("wayfinder: start", "start", ""),
    ("Wayfinder, help", "help", ""),
    ("!2", "2", ""),
    ("! start", "", ""),
    ("!", "", ""),
    ("hello !start", "", ""),
    ("!" + "x" * 40, "", ""),
])
def test_router(text: str, command: str, args: str) -> None:
    parsed = parse(text, ("!", "/"), "wayfinder")
    assert (parsed.command, parsed.args) == (command, args)


def test_router_prefixes_are_per_network() -> None:
    assert parse("/start", ("!",)).command == ""
    assert parse("/start", ("/", "!")).command == "start"


def test_clean_input() -> None:
    assert clean_input("  hi\x00\x1b[31m there\u202e ") == ("hi[31m there", False)
    assert clean_input("line one\nline two\ttab") == ("line one\nline two\ttab", False)
    text, cut = clean_input("é" * (MAX_INPUT_CHARS + 10))
    assert cut
    assert len(text) == MAX_INPUT_CHARS
    assert clean_input("e\u0301") == ("é", False)  # NFC


def test_choices() -> None:
    offered = [["python", "python"], ["go", "go"], ["rust", "Rust"]]
    assert resolve("2", offered, False).picked == ["go"]
    assert resolve("rust", offered, False).picked == ["rust"]
    multi = resolve("1, Rust and cobol", offered, True)
    assert (multi.picked, multi.free) == (["python", "rust"], ["cobol"])
    assert "no option 4" in resolve("4", offered, False).error
    assert resolve("0", offered, False).error
    assert resolve("I like maps", offered, False).free == ["I like maps"]


def test_durations() -> None:
    assert parse_duration("48h") == timedelta(hours=48)
    assert parse_duration("1d12h") == timedelta(days=1, hours=12)
    assert parse_duration(" 90s ") == timedelta(seconds=90)
    for bad in ("", "soon", "10", "0h", "5x", "h5"):
        with pytest.raises(ValueError, match=r"duration|zero"):
            parse_duration(bad)
    for huge in ("3000000d", "99999999999999999999d", "53w", "367d"):
        with pytest.raises(ValueError, match="too long"):
            parse_duration(huge)
    assert parse_duration("52w") == timedelta(weeks=52)
    assert describe(timedelta(minutes=10)) == "10 minutes"
    assert describe(timedelta(days=1)) == "1 day"


def test_a_refused_duration_says_why_in_the_readers_language() -> None:
    with pytest.raises(TranslatableError) as refused:
        parse_duration("367d")
    assert str(refused.value) == "'367d' is too long; at most 366 days"  # config, command line
    assert reason(refused.value, translator("es")) == ("'367d' es demasiado largo; como máximo "
                                                      "366 días")
    assert reason(refused.value, translator("pt_BR")) == ("'367d' é longo demais; no máximo "
                                                         "366 dias")
    with pytest.raises(ValueError, match="empty duration") as empty:
        parse_duration(" ")
    assert reason(empty.value, translator("pt_BR")) == ("duração vazia; escreva como 30m, 48h "
                                                        "ou 7d")
    assert reason(ValueError("as written"), translator("es")) == "as written"


async def test_token_bucket_spaces_sends_without_blocking_the_loop() -> None:
    now = [0.0]
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    bucket = TokenBucket(Rate(per_second=2, burst=3), clock=lambda: now[0], sleep=fake_sleep)
    for _ in range(5):
        await bucket.acquire()
    assert slept == pytest.approx([0.5, 0.5])
    bucket.pause(2.0)
    await bucket.acquire()
    assert sum(slept) == pytest.approx(1.0 + 2.5)



async def test_token_bucket_serves_waiters_in_order_and_a_cancelled_waiter_takes_no_token() -> None:
    now = [0.0]
    gate = asyncio.Event()

    async def held_sleep(seconds: float) -> None:
        await gate.wait()  # time moves only when the test says so
        gate.clear()
        now[0] += seconds

    bucket = TokenBucket(Rate(per_second=1, burst=1), clock=lambda: now[0], sleep=held_sleep)
    await bucket.acquire()  # the burst token
    served: list[str] = []

    async def take(tag: str) -> None:
        await bucket.acquire()
        served.append(tag)

    tasks = {tag: asyncio.create_task(take(tag)) for tag in ("a", "b", "c")}
    await asyncio.sleep(0)
    tasks["b"].cancel()
    for _ in range(2):
        gate.set()
        for _ in range(5):
            await asyncio.sleep(0)
    assert served == ["a", "c"]
    assert tasks["b"].cancelled()
    assert now[0] == pytest.approx(2.0)  # two tokens for two senders: b's slot went to c
    await bucket.close()

async def test_keyed_locks_serialise_per_key_and_clean_up() -> None:
    locks = KeyedLocks()
    order: list[str] = []

    async def work(key: str, tag: str, delay: float) -> None:
        async with locks.hold(key):
            order.append(f"{tag}+")
            await asyncio.sleep(delay)
            order.append(f"{tag}-")

    await asyncio.gather(work("a", "1", 0.02), work("a", "2", 0), work("b", "3", 0))
    assert order.index("1-") < order.index("2+")
    assert order.index("3+") < order.index("1-")  # another key is not held up
    assert len(locks) == 0


async def test_ticker_runs_the_scan_repeatedly_and_survives_a_failing_scan() -> None:
    calls: list[int] = []
    third = asyncio.Event()

    async def scan() -> None:
        calls.append(len(calls))
        if len(calls) == 1:
            raise RuntimeError("database briefly unavailable")
        if len(calls) == 3:
            third.set()

    ticker = Ticker(scan, interval=0.05)
    ticker.start()
    try:
        await asyncio.wait_for(third.wait(), timeout=3)
    finally:
        ticker.stop()
    assert len(calls) >= 3


def bare_turn(data: dict[str, Any] | None = None, **extra: Any) -> Turn:
    """A turn of ana's "hi" on IRC with no content, store, config or directory: for what a
    turn does by itself."""
    room = RoomRef(Network("irc"), "#general", "general", False)
    inbound = Inbound(Network("irc"), "e1", room, Identity(Network("irc"), ExternalId("ana"), True),
                      "hi", False, datetime.now(UTC))
    unused = cast(Any, None)
    return Turn(person_id=PersonId(1), inbound=inbound, input=parse("hi", ("!",), "wf"),
                data=dict(data or {}), content=unused, reads=unused, config=unused,
                directory=unused, now=inbound.at, **extra)


def test_a_turn_asks_for_the_private_route_only_when_read() -> None:
    """Engine._turn asked every adapter for its private route on every turn; now a turn asks
    only when a handler reads `reach_privately`, for its own network."""
    asked: list[str] = []

    def reach(network: str) -> Capabilities:
        asked.append(network)
        return Capabilities(reach_privately=f"/msg wf on {network}")

    turn = bare_turn(reach=reach)
    assert asked == []
    assert turn.reach_privately == "/msg wf on irc"
    assert asked == ["irc"]
    assert bare_turn().reach_privately == ""


async def test_keyed_locks_hand_over_in_turn_and_survive_a_cancelled_waiter() -> None:
    locks = KeyedLocks()
    order: list[str] = []
    first_in = asyncio.Event()
    release_first = asyncio.Event()

    async def first() -> None:
        async with locks.hold("a"):
            order.append("1")
            first_in.set()
            await release_first.wait()

    async def later(tag: str) -> None:
        async with locks.hold("a"):
            order.append(tag)

    holder = asyncio.create_task(first())
    await first_in.wait()
    waiters = {tag: asyncio.create_task(later(tag)) for tag in ("2", "3", "4")}
    await asyncio.sleep(0)
    waiters["3"].cancel()  # cancelled while waiting in line: the others keep their turn
    release_first.set()
    await asyncio.gather(holder, waiters["2"], waiters["4"])
    assert waiters["3"].cancelled()
    assert order == ["1", "2", "4"]
    assert len(locks) == 0

    async def fails() -> None:
        async with locks.hold("b"):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await fails()
    assert len(locks) == 0  # released on an exception too


async def test_keyed_locks_pass_on_a_key_handed_to_a_waiter_cancelled_meanwhile() -> None:
    locks = KeyedLocks()
    order: list[str] = []
    tasks: dict[str, asyncio.Task[None]] = {}
    go = asyncio.Event()

    async def first() -> None:
        async with locks.hold("c"):
            await go.wait()
        tasks["2"].cancel()  # handed the key a moment ago, cancelled before it ran

    async def later(tag: str) -> None:
        async with locks.hold("c"):
            order.append(tag)

    holder = asyncio.create_task(first())
    await asyncio.sleep(0)
    tasks.update({tag: asyncio.create_task(later(tag)) for tag in ("2", "3")})
    await asyncio.sleep(0)
    go.set()
    await asyncio.gather(holder, tasks["3"])
    assert tasks["2"].cancelled()
    assert order == ["3"]
    assert len(locks) == 0


def test_a_committed_turns_typed_state_is_taken_once_by_the_next_turn() -> None:
    """Turn.keep_warm: the next turn reading the very same stored part takes the typed state
    instead of validating it anew; only one turn gets it (turns change it in place), and a
    turn that was not kept warm (failed, conflicted) leaves nothing behind."""
    from flows.path.state import PathState

    first = bare_turn({"path": {"project": "handbook"}})
    first.state(PathState).rated = ["a"]
    first.settle()
    first.keep_warm()  # committed
    committed = first.data
    second, racing = bare_turn(committed), bare_turn(committed)
    path = second.state(PathState)
    assert path is first.state(PathState)  # taken, not validated anew
    assert racing.state(PathState) is not path  # the other turn validates its own
    path.rated.append("b")  # changed in place; the turn fails: not settled, not kept
    assert committed["path"] == {"project": "handbook", "rated": ["a"]}
    third = bare_turn(committed)
    assert third.state(PathState).rated == ["a"]
    # Settled but never committed (keep_warm not called): the next turn validates anew.
    third.state(PathState).rated = ["c"]
    third.settle()
    fourth = bare_turn(third.data)
    assert fourth.state(PathState) is not third.state(PathState)
    assert fourth.state(PathState).rated == ["c"]
    # Forgotten (the person erased or merged, or their state no longer cached): not taken.
    third.keep_warm()
    drop_warm(third.data)
    assert bare_turn(third.data).state(PathState) is not third.state(PathState)


def test_a_settled_turn_tells_which_stored_parts_it_changed() -> None:
    """Turn.settled_changes: a typed state read but left as it was keeps its very stored part (a
    projection keeps its record), and stays warm under it; one changed or emptied is another
    part; before settling, every state read counts as changed; taking over another person's
    stored state changes them all."""
    from flows.events.state import EventsState
    from flows.pairing.state import PairingState
    from flows.path.state import PathState

    stored = {"path": {"project": "handbook"}, "events": {"region": "eu"},
              "pairing": {"pair": True}}
    turn = bare_turn(stored)
    turn.state(PathState)  # read, left as it was
    turn.state(EventsState).region = "us"
    turn.state(PairingState).pair = False  # back to the defaults: the part goes
    assert turn.touched(PathState)  # not settled: every state read may have changed
    assert turn.touched(EventsState)
    assert turn.settled_changes() is None
    turn.settle()
    assert turn.data["path"] is stored["path"]
    assert turn.data["events"] == {"region": "us"}
    assert "pairing" not in turn.data
    changed = turn.settled_changes()
    assert changed is not None
    assert PathState not in changed
    assert EventsState in changed
    assert PairingState in changed
    turn.keep_warm()
    assert bare_turn(turn.data).state(PathState) is turn.state(PathState)  # warm, same part
    drop_warm(turn.data)
    # A state the turn never read, and a state read after settling, changed nothing.
    untouched = bare_turn(stored)
    assert not untouched.touched(PathState)
    untouched.settle()
    untouched.state(EventsState)
    assert untouched.settled_changes() == set()  # neither EventsState nor PathState
    linked = bare_turn(stored)
    linked.settle()
    linked.replace_data({"path": {"project": "handbook"}})
    linked.settle()
    assert linked.settled_changes() is None  # PathState, EventsState: any may have changed


def test_a_bounded_cache_drops_its_oldest_entries_first() -> None:
    cache: dict[str, int] = {}
    for n, key in enumerate("abcd"):
        assert remember(cache, key, n, 3) == n
    assert cache == {"b": 1, "c": 2, "d": 3}
    remember(cache, "b", 9, 3)  # renewed: now the newest
    remember(cache, "e", 4, 3)
    assert list(cache) == ["d", "b", "e"]


def test_a_state_is_encoded_as_a_whole_and_only_its_changed_values_anew() -> None:
    """compact_json_parts writes what compact_json writes, and a value that is the very object
    it was before is taken from its fragment, not encoded again."""
    path = {"project": "handbook", "done": ["a", "ü"], "ok": True, "none": None, "x": 1.5}
    before = {"messages": 4, "last_room": ["irc", "#r", "#r", False], "path": path}
    encoded, fragments = compact_json_parts(before, {}, {})
    assert encoded == compact_json(before)
    assert fragments == {key: compact_json(value) for key, value in before.items()}
    # The next turn: a new counter, the same room list and path (the very objects), a new key.
    after = {**before, "messages": 5, "locale": {"chosen": "es"}, "flag": False}
    marked = {**fragments, "path": '"from the fragment"'}
    encoded, fragments = compact_json_parts(after, before, marked)
    assert encoded == compact_json({**after, "path": "from the fragment"})
    assert fragments["messages"] == "5"
    assert fragments["flag"] == "false"
    # An equal value that is another object is encoded anew, not taken from the fragment.
    again, _ = compact_json_parts({**after, "path": dict(path)}, after,
                                  {**fragments, "path": '"from the fragment"'})
    assert again == compact_json({**after, "path": path})
    assert compact_json_parts({}, before, fragments) == ("{}", {})
