"""What the latency benchmarks print about their samples."""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any


def percentiles(values: list[float]) -> dict[str, float]:
    """p50, p90 and p99 of samples in seconds, as milliseconds."""
    ordered = sorted(values)
    return {"p50_ms": round(statistics.median(ordered) * 1000, 2),
            "p90_ms": round(ordered[int(len(ordered) * 0.9) - 1] * 1000, 2),
            "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 2)}


def sampling_main(description: str, folder_prefix: str,
                  run: Callable[[int, Path], Coroutine[Any, Any, dict[str, Any]]]) -> None:
    """The command line of a latency benchmark: `--samples N`, a scratch folder, one JSON line."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--samples", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix=folder_prefix) as folder:
        print(json.dumps(asyncio.run(run(args.samples, Path(folder)))))


# Benchmarks send one person's turns far faster than anyone types: the flood limits are set
# out of reach, so their cost is measured but nothing is dropped.
NO_FLOODS = {"flood_per_person": 1_000_000, "flood_per_room": 1_000_000}
