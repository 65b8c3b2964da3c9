"""Draw analyzer figures (data) as PNG bytes, and make thumbnails, for the HTML report.

Uses matplotlib's object API (no pyplot global state), so it is safe in worker processes.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure as MplFigure
from PIL import Image

from forensics.analyzers.base import Figure, Heatmap, LinePlot, Picture

THUMB_SIDE = 768


def thumbnail_jpeg(rgb: np.ndarray, max_side: int = THUMB_SIDE, quality: int = 85) -> bytes:
    """A JPEG of the picture scaled so its long side is at most ``max_side`` pixels."""
    img = Image.fromarray(rgb)
    img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _png(fig: MplFigure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return buf.getvalue()


def _draw_heatmap(fig: Heatmap, base: np.ndarray | None) -> bytes:
    data = np.asarray(fig.data, dtype=np.float32)
    mpl = MplFigure(figsize=(6, 6 * data.shape[0] / max(data.shape[1], 1)))
    ax = mpl.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    if fig.overlay and base is not None:
        h, w = base.shape[:2]
        ax.imshow(base, extent=(0, w, h, 0))
        im = ax.imshow(data, cmap="inferno", alpha=0.55, vmin=fig.vmin, vmax=fig.vmax, extent=(0, w, h, 0))
    else:
        im = ax.imshow(data, cmap="inferno", vmin=fig.vmin, vmax=fig.vmax)
    mpl.colorbar(im, ax=ax, fraction=0.04, pad=0.01)
    return _png(mpl)


def _draw_line(fig: LinePlot) -> bytes:
    mpl = MplFigure(figsize=(6.4, 3.2))
    ax = mpl.add_subplot()
    for label, values in fig.series.items():
        ax.plot(fig.x[: len(values)], values, label=label, linewidth=1.2)
    if fig.log_y:
        ax.set_yscale("log")
    ax.set_xlabel(fig.xlabel)
    ax.set_ylabel(fig.ylabel)
    ax.grid(alpha=0.3)
    if len(fig.series) > 1:
        ax.legend(fontsize="small")
    return _png(mpl)


def figure_png(fig: Figure, base: np.ndarray | None = None) -> bytes:
    """PNG bytes of one analyzer figure; ``base`` (H x W x 3 uint8) is the image heatmaps overlay."""
    if isinstance(fig, Heatmap):
        return _draw_heatmap(fig, base)
    if isinstance(fig, LinePlot):
        return _draw_line(fig)
    if isinstance(fig, Picture):
        buf = io.BytesIO()
        Image.fromarray(np.asarray(fig.data, dtype=np.uint8)).save(buf, "PNG")
        return buf.getvalue()
    raise TypeError(f"no renderer for figure type {type(fig).__name__}")
