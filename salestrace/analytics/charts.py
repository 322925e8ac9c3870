"""Chart images for messages (the weekly health digest): numbers in, PNG bytes out. No ORM, no clock.

matplotlib with the Agg backend (no display), and a CJK font so Chinese labels render: Noto Sans CJK
SC when fontconfig or matplotlib knows it (Debian's fonts-noto-cjk), else any CJK family found, else
matplotlib's default (the labels then show boxes, but the image is still made: a digest is never
lost for want of a font)."""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from io import BytesIO
from typing import Any

log = logging.getLogger(__name__)

PREFERRED = ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "Noto Sans SC", "Microsoft YaHei")
BRAND, DANGER, MUTED = "#1f5fbf", "#d93025", "#5b6475"


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The family name of a font that draws Chinese, or None; looked up once per process."""
    from matplotlib import font_manager

    known = {f.name for f in font_manager.fontManager.ttflist}
    for family in PREFERRED:
        if family in known:
            return family
    try:  # fontconfig may know a file matplotlib has not indexed
        found = subprocess.run(
            ["fc-match", "-f", "%{file}", ":lang=zh-cn"],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        found = ""
    if found:
        try:
            font_manager.fontManager.addfont(found)
            return font_manager.FontProperties(fname=found).get_name()
        except (OSError, RuntimeError, ValueError):
            pass
    cjk = sorted(name for name in known if "CJK" in name or name.endswith(" SC"))
    if cjk:
        return cjk[0]
    log.warning("no CJK font found: Chinese in chart images will not render (install fonts-noto-cjk)")
    return None


def _style() -> Any:
    """matplotlib settings for one chart: the CJK font first; texts take it when they are made."""
    import matplotlib

    family = cjk_font()
    return matplotlib.rc_context(
        {"font.family": [family, "sans-serif"] if family else ["sans-serif"], "axes.unicode_minus": False}
    )


def _figure(width: float, height: float) -> tuple[Any, Any]:
    # A bare Figure draws with Agg and never touches pyplot's global state (safe in a worker thread).
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100)
    return figure, figure.add_subplot()


def _png(figure: Any) -> bytes:
    buffer = BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight", facecolor="white")
    return buffer.getvalue()


@dataclass(frozen=True)
class TrendSeries:
    name: str
    values: tuple[float | None, ...]  # 0–100 per week, None where nothing was logged
    line: float | None = None  # the template's line for it, 0–100
    colour: str = BRAND


def trend_png(*, title: str, weeks: Sequence[str], series: Sequence[TrendSeries], line_label: str) -> bytes:
    """A rep's weeks as lines (score, completeness, timeliness), each line's baseline dashed."""
    with _style():
        figure, axes = _figure(6.4, 3.4)
        x = list(range(len(weeks)))
        for s in series:
            points = [(i, v) for i, v in zip(x, s.values, strict=True) if v is not None]
            if points:
                axes.plot(
                    [p[0] for p in points],
                    [p[1] for p in points],
                    marker="o",
                    color=s.colour,
                    label=s.name,
                    linewidth=2,
                )
            if s.line is not None:
                axes.axhline(s.line, color=s.colour, linestyle="--", linewidth=1, alpha=0.6)
                axes.annotate(
                    f"{line_label} {s.line:.0f}%",
                    xy=(0.01, s.line),
                    xycoords=("axes fraction", "data"),
                    fontsize=8,
                    color=s.colour,
                    ha="left",
                    va="bottom",
                )
        axes.set_xticks(x, list(weeks), fontsize=9)
        axes.set_ylim(0, 105)
        axes.set_title(title, fontsize=12)
        axes.grid(axis="y", alpha=0.3)
        axes.spines[["top", "right"]].set_visible(False)
        axes.legend(loc="lower left", fontsize=8, frameon=False, ncols=max(len(series), 1))
        return _png(figure)


def team_png(*, title: str, names: Sequence[str], scores: Sequence[int | None], low: Sequence[bool]) -> bytes:
    """A team's scores as horizontal bars, lowest at the bottom; bars of reps under a line in red."""
    with _style():
        figure, axes = _figure(6.4, max(1.6, 0.42 * len(names) + 1.0))
        y = list(range(len(names)))
        values = [s or 0 for s in scores]
        bars = axes.barh(y, values, color=[DANGER if flag else BRAND for flag in low])
        for bar, score in zip(bars, scores, strict=True):
            axes.text(
                bar.get_width() + 1,
                bar.get_y() + bar.get_height() / 2,
                "–" if score is None else str(score),
                va="center",
                fontsize=9,
                color=MUTED,
            )
        axes.set_yticks(y, list(names), fontsize=9)
        axes.invert_yaxis()
        axes.set_xlim(0, 105)
        axes.set_title(title, fontsize=12)
        axes.spines[["top", "right"]].set_visible(False)
        return _png(figure)
