"""Shared matplotlib conventions for every result's ``.figure()``."""

from __future__ import annotations

import base64
import contextlib
import io

import matplotlib

SEQUENTIAL = "Blues"
DIVERGING = "RdBu_r"
PAPER_RC = {
    "figure.dpi": 110, "savefig.dpi": 300, "font.size": 8, "axes.titlesize": 9, "axes.labelsize": 8,
    "xtick.labelsize": 7, "ytick.labelsize": 7, "legend.fontsize": 7, "axes.spines.top": False,
    "axes.spines.right": False, "svg.fonttype": "none", "pdf.fonttype": 42,
}


@contextlib.contextmanager
def paper_style():
    """Font sizes and spines fit for a paper column; text stays text in SVG/PDF."""
    with matplotlib.rc_context(PAPER_RC):
        yield


def figure_png_bundle(fig, text: str) -> dict[str, str]:
    """A notebook display bundle: the figure as PNG plus a plain-text fallback."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    return {"image/png": base64.b64encode(buf.getvalue()).decode(), "text/plain": text}


# text widths of common paper templates, in inches: one column and the full page width
COLUMN_WIDTH = {"single": 3.3, "double": 6.9, "acl": 3.03, "acl-double": 6.3, "ieee": 3.5, "ieee-double": 7.16,
                "neurips": 5.5}


def restyle(fig, width: float | str | None = None, *, font_size: float | None = None,
            cmaps: dict[str, str] | None = None):
    """Fit a finished figure to a paper and return it.

    ``width``: inches or a key of :data:`COLUMN_WIDTH`; the height is scaled with it. ``font_size``:
    the base size in points; every text is scaled by ``font_size / PAPER_RC["font.size"]`` so that
    titles stay larger than tick labels. ``cmaps``: colour maps to swap by name in every image, mesh,
    scatter and colour bar, e.g. ``{"Blues": "cividis", "RdBu_r": "PuOr_r"}`` (text colours chosen
    for the original map, such as labels printed on heat-map cells, are kept).
    """
    import matplotlib.text

    if width is not None:
        if isinstance(width, str) and width not in COLUMN_WIDTH:
            raise ValueError(f"unknown column {width!r}; give inches or one of {sorted(COLUMN_WIDTH)}")
        inches = COLUMN_WIDTH[width] if isinstance(width, str) else float(width)
        w, h = fig.get_size_inches()
        fig.set_size_inches(inches, h * inches / w)
    if font_size is not None:
        scale = font_size / PAPER_RC["font.size"]
        for text in fig.findobj(lambda a: isinstance(a, matplotlib.text.Text)):
            text.set_fontsize(text.get_fontsize() * scale)
    for artist in fig.findobj(lambda a: hasattr(a, "get_cmap") and hasattr(a, "set_cmap")) if cmaps else ():
        name = artist.get_cmap().name
        if name in cmaps:
            artist.set_cmap(cmaps[name])
    return fig
