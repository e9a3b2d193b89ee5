"""Reports drawn as bar charts into files (bot/charts.py draws them): SVG or PNG, the same
bytes for the same report."""

from __future__ import annotations

from pathlib import Path

from bot.charts import FORMATS, Chart, draw

__all__ = ["FORMATS", "Chart", "render_chart"]


def render_chart(chart: Chart, path: Path) -> int:
    """Draw `chart` into `path` (.svg or .png); returns the number of bars drawn."""
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(f"a chart is written as .svg or .png, not {path.name!r}")
    data, bars = draw(chart, fmt)
    path.write_bytes(data)
    return bars
