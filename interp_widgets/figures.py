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
