"""What the latency benchmarks print about their samples."""

from __future__ import annotations

import statistics


def percentiles(values: list[float]) -> dict[str, float]:
    """p50, p90 and p99 of samples in seconds, as milliseconds."""
    ordered = sorted(values)
    return {"p50_ms": round(statistics.median(ordered) * 1000, 2),
            "p90_ms": round(ordered[int(len(ordered) * 0.9) - 1] * 1000, 2),
            "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 2)}
