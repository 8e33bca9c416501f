"""Shared figure conventions: the paper style and restyling a finished figure for a paper."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from interp_widgets.figures import COLUMN_WIDTH, PAPER_RC, paper_style, restyle  # noqa: E402


def _figure():
    with paper_style():
        fig, (a, b) = plt.subplots(1, 2, figsize=(6.0, 2.0))
        im = a.imshow(np.arange(12.0).reshape(3, 4), cmap="Blues")
        fig.colorbar(im, ax=a)
        b.scatter([0, 1], [1, 0], c=[0.0, 1.0], cmap="RdBu_r")
        b.plot([0, 1], [0, 1], color="C0")
        a.set_title("title")
    return fig, a, b


def test_paper_style_reads_the_shared_settings_when_entered():
    saved, outside = PAPER_RC["font.size"], matplotlib.rcParams["font.size"]
    try:
        PAPER_RC["font.size"] = 11  # what a user does to change every later figure
        with paper_style():
            assert matplotlib.rcParams["font.size"] == 11
    finally:
        PAPER_RC["font.size"] = saved
    assert matplotlib.rcParams["font.size"] == outside  # the style is scoped: nothing leaks out


def test_restyle_fits_a_column_keeping_the_aspect_ratio():
    fig, _, _ = _figure()
    assert restyle(fig, "single") is fig
    np.testing.assert_allclose(fig.get_size_inches(), [COLUMN_WIDTH["single"], 2.0 * COLUMN_WIDTH["single"] / 6.0])
    restyle(fig, 5.0)
    np.testing.assert_allclose(fig.get_size_inches(), [5.0, 2.0 * 5.0 / 6.0])
    with pytest.raises(ValueError, match="unknown column 'one'.*single"):
        restyle(fig, "one")
    plt.close(fig)


def test_restyle_scales_every_text_and_keeps_the_hierarchy():
    fig, a, _ = _figure()
    before = a.title.get_fontsize(), a.xaxis.get_ticklabels()[0].get_fontsize()
    restyle(fig, font_size=PAPER_RC["font.size"] * 1.5)
    after = a.title.get_fontsize(), a.xaxis.get_ticklabels()[0].get_fontsize()
    np.testing.assert_allclose(after, [1.5 * v for v in before])
    assert after[0] > after[1]
    plt.close(fig)


def test_restyle_swaps_colour_maps_by_name_including_the_colour_bar():
    fig, a, b = _figure()
    restyle(fig, cmaps={"Blues": "cividis"})
    assert a.images[0].get_cmap().name == "cividis"
    fig.canvas.draw()
    assert a.images[0].colorbar.solids.get_cmap().name == "cividis"  # the colour bar follows
    assert b.collections[0].get_cmap().name == "RdBu_r"  # maps not named stay
    before = a.images[0].to_rgba(np.array([[0.0, 11.0]]))
    restyle(fig, cmaps={"cividis": "Blues"})
    assert not np.allclose(before, a.images[0].to_rgba(np.array([[0.0, 11.0]])))
    plt.close(fig)
