"""Task sources benchmark: refresh 5 sources × 500 tasks, then hand tasks out from a warm cache.

The trackers are the test stand-ins (tests/tracker_standins.py: two GitHub repositories, two
GitLab projects, one Phabricator tag, 500 open tasks each, 100 a page) served by a child
process on 127.0.0.1, so the bot's memory is measured alone. One bot (SQLite in a temporary
folder, the memory adapter) with all five sources on one project:
  1. times a refresh of all five (started by one tick, read concurrently, 25 pages, 2,500
     rows written), cold and then again (replacing the cache), with the peak RSS meanwhile;
  2. hands out a task 200 times from the warm cache: `!release` then `!task`, timing the
     `!task` turn end to end (ranking 2,500 cached tasks by skill, the hand-off check with
     the tracker, the claim committed, the reply sent).
Prints one JSON line.

    python -m bench.tracker [--tasks 500] [--samples 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.broadcast import RssSampler, _rss_mb
from bench.stats import percentiles
from flows.tracker.service import TrackerService
from tests.harness import CONTENT, Harness, make_config

ROOT = Path(__file__).resolve().parent.parent
TO_TASK = ["!start", "!skip", "writing", "!skip", "Handbook", "done",
           "[Lumen](https://lumen.test)", "done",
           "https://code.lumen.test/handbook/handbook/-/merge_requests/3"]


def _sources(url: str) -> str:
    docs = 'label_skills = { docs = ["writing"] }\n'
    parts = [f'[[task_sources]]\nid = "gh{n}"\nkind = "github"\nurl = "{url}"\n'
             f'repo = "bench/r{n}"\nlabels = ["good first issue"]\n{docs}' for n in (1, 2)]
    parts += [f'[[task_sources]]\nid = "gl{n}"\nkind = "gitlab"\nurl = "{url}"\n'
              f'project = "bench/p{n}"\nlabels = ["good first issue"]\n{docs}' for n in (1, 2)]
    parts.append(f'[[task_sources]]\nkind = "phabricator"\nurl = "{url}"\ntag = "bench"\n'
                 'token_env = "BENCH_PHAB_TOKEN"\nskills = ["php"]\n')
    return "\n".join(parts)


async def _refresh(service: TrackerService) -> tuple[float, int]:
    began = time.perf_counter()
    started = await service.tick()
    await service.settle()
    return time.perf_counter() - began, started


async def run(tasks: int, samples: int, folder: Path) -> dict[str, object]:
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.tracker_standins", str(tasks), cwd=ROOT,
        stdout=asyncio.subprocess.PIPE)
    try:
        assert server.stdout is not None
        url = (await server.stdout.readline()).decode().strip()
        content = folder / "content"
        shutil.copytree(CONTENT, content, ignore=shutil.ignore_patterns("__pycache__"))
        handbook = content / "projects" / "handbook.toml"
        handbook.write_text(handbook.read_text(encoding="utf-8") + "\n" + _sources(url),
                            encoding="utf-8")
        config = make_config(f"sqlite+aiosqlite:///{folder / 'bench.db'}",
                             content={"path": str(content)})
        async with Harness(config) as bot:
            service = bot.running.services["tracker"]
            assert isinstance(service, TrackerService)
            before = _rss_mb()
            with RssSampler() as sampler:
                cold, started = await _refresh(service)
            bot.clock.advance(hours=2)
            with RssSampler() as again:
                warm, _ = await _refresh(service)
            cached = len(await bot.running.store.open_live_tasks("handbook"))
            standings = await bot.running.store.source_standings()
            errors = {s.source_key: s.error for s in standings if s.error}
            await bot.script("ann", TO_TASK)
            latencies: list[float] = []
            for _ in range(samples):
                await bot.say("ann", "!release")
                began = time.perf_counter()
                reply = await bot.say("ann", "!task")
                latencies.append(time.perf_counter() - began)
                assert "Your task:" in reply, reply
            return {
                "sources": started, "tasks_per_source": tasks, "cached_tasks": cached,
                "errors": errors,
                "refresh_cold_s": round(cold, 3), "refresh_again_s": round(warm, 3),
                "rss_before_mb": round(before, 1),
                "rss_peak_refresh_mb": round(max(sampler.peak, again.peak), 1),
                "handoff": percentiles(latencies),
                "handoff_samples": samples,
            }
    finally:
        server.terminate()
        await server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=500)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    import os

    os.environ.setdefault("BENCH_PHAB_TOKEN", "api-secret")
    with tempfile.TemporaryDirectory(prefix="wf-tracker-bench-") as tmp:
        print(json.dumps(asyncio.run(run(args.tasks, args.samples, Path(tmp)))))


if __name__ == "__main__":
    main()
