"""Bar charts (matplotlib, Agg) as SVG or PNG bytes: the same bytes for the same chart (no
dates, a fixed hash salt), with a title, labelled axes and the count on each bar. Reports
(services/charts.py writes them to files) and chat replies (a person's own numbers, where the
network carries files) draw with this. matplotlib is imported only when a chart is drawn
(`wayfinder --help` and an idle bot stay light); a lock keeps two threads from drawing at
once, since matplotlib's settings are global."""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from typing import Any

FORMATS = ("svg", "png")
COLOURS = ("#3465a4", "#f57900", "#73d216", "#75507b", "#c17d11")
_drawing = threading.Lock()


@dataclass(frozen=True)
class Chart:
    """What to draw: bars for each label, one series or several side by side."""

    title: str
    xlabel: str
    ylabel: str
    labels: list[str]
    series: dict[str, list[float]]  # name -> a value per label
    unit: str = ""  # printed after each bar's count ("%", " d")
    # The one label of a chart without any. Every text of a chart is the caller's, in the
    # reader's language (a chat reply) or English (reports on the command line).
    empty: str = "(no one)"


def draw(chart: Chart, fmt: str, max_width: float = 14.0) -> tuple[bytes, int]:
    """The chart as `fmt` ("svg" or "png") bytes, and the number of bars drawn. Blocking:
    call it off the event loop (asyncio.to_thread)."""
    if fmt not in FORMATS:
        raise ValueError(f"a chart is drawn as svg or png, not {fmt!r}")
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    labels = chart.labels or [chart.empty]
    series = chart.series if chart.labels else {name: [0.0] for name in chart.series}
    total = len(labels) * max(1, len(series))
    width = min(max_width, max(min(7.0, max_width), 0.45 * total + 2))
    out = io.BytesIO()
    with _drawing, matplotlib.rc_context({"svg.hashsalt": "wayfinder", "svg.fonttype": "none",
                                          "font.size": 10}):
        fig = Figure(figsize=(width, 5.0 if max_width >= 7 else 4.0), dpi=100,
                     layout="constrained")
        ax = fig.subplots()
        count = len(series)
        step = 0.8 / count
        bars = 0
        for n, (name, values) in enumerate(series.items()):
            xs = [i - 0.4 + step * (n + 0.5) for i in range(len(labels))]
            drawn = ax.bar(xs, values, step * 0.95, label=name,
                           color=COLOURS[n % len(COLOURS)])
            for i, bar in enumerate(drawn):
                bar.set_gid(f"bar-{n}-{i}")
            ax.bar_label(drawn, labels=[_count(v, chart.unit) for v in values], padding=2,
                         fontsize=9 if total <= 20 else 7)
            bars += len(drawn)
        crowded = sum(len(label) + 2 for label in labels) > 9 * width  # about 9 letters an inch
        ax.set_xticks(range(len(labels)), labels, rotation=20 if crowded else 0,
                      ha="right" if crowded else "center")
        ax.set_title(chart.title, fontsize=12, fontweight="bold")
        ax.set_xlabel(chart.xlabel)
        ax.set_ylabel(chart.ylabel)
        ax.margins(y=0.15)
        _from_zero(ax, series)
        ax.spines[["top", "right"]].set_visible(False)
        if count > 1:  # under the axes: never over a bar's count
            fig.legend(loc="outside lower center", ncols=count, frameon=False)
        metadata: dict[str, str | None] = ({"Date": None} if fmt == "svg"
                                           else {"Software": None})
        fig.savefig(out, format=fmt, metadata=metadata)
    return out.getvalue(), bars


def _count(value: float, unit: str) -> str:
    if value != value:  # NaN: nothing to count
        return ""
    text = (f"{value:.0f}" if float(value).is_integer() or unit == "%"
            else f"{value:.1f}")
    return text + unit


def _from_zero(ax: Any, series: dict[str, list[float]]) -> None:
    """Bars count up from 0. With nothing counted yet (every value 0 or NaN) matplotlib
    would centre the axis on 0, from -0.06 to 0.06: negative people. Then 0 to 1 instead."""
    if any(v > 0 for values in series.values() for v in values):
        ax.set_ylim(bottom=0)
        return
    from matplotlib.ticker import MaxNLocator

    ax.set_ylim(0, 1)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
