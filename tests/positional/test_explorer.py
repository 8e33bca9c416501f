"""The positional-encoding explorer: panels equal closed forms, the widget recomputes on every
parameter change, refuses bad parameters with a message and keeps the last good panels."""

import math

import matplotlib
import numpy as np
import pytest
import torch

import interp_widgets.positional as P
from interp_widgets.positional.explorer import MATRIX_MAX
from interp_widgets.widgets import PositionalExplorer, save_html

matplotlib.use("Agg")


def test_rotary_panel_closed_forms():
    p = P.explore("rope", P.ExplorerParams(dim=16, base=100.0, length=300))
    assert p.matrix.shape == (MATRIX_MAX, MATRIX_MAX)  # the matrix is capped, the curves are not
    assert p.x.shape == (300,) and p.curves.shape == (2, 300)
    theta = 100.0 ** (-torch.arange(8, dtype=torch.float64) / 8)
    k = torch.arange(300, dtype=torch.float64)
    # <R_0 1, R_k 1> = 2 sum_i cos(k theta_i): normalised by its value 16 at k = 0
    torch.testing.assert_close(p.curves[0], (2 * torch.cos(k[:, None] * theta).sum(-1)) / 16)
    # cosine similarity of positions m, n is the same closed form at m - n (shift invariance)
    i, j = 40, 7
    assert math.isclose(float(p.matrix[i, j]), float(p.curves[0][i - j]), abs_tol=1e-12)


def test_scaled_rotary_panels_use_the_scale_factor():
    plain = P.explore("rope", P.ExplorerParams(dim=16, factor=4.0, length=64))
    linear = P.explore("rope-linear", P.ExplorerParams(dim=16, factor=4.0, length=64))
    # position interpolation: distance k under factor s behaves as k / s without scaling
    torch.testing.assert_close(linear.curves[0][::4], plain.curves[0][:16])
    yarn = P.explore("yarn", P.ExplorerParams(dim=16, factor=4.0, length=64))
    assert yarn.params["factor"] == 4.0 and not torch.allclose(yarn.curves[0], plain.curves[0])


def test_sinusoidal_panel_equals_the_analysis():
    params = P.ExplorerParams(dim=32, base=1000.0, length=40)
    p = P.explore("sinusoidal", params)
    torch.testing.assert_close(p.matrix, P.similarity(P.Sinusoidal(32, 1000.0), 40).matrix)
    assert p.curves.shape == (1, 40)  # no decay bound for additive encodings


def test_alibi_panel_is_minus_slope_times_distance():
    p = P.explore("alibi", P.ExplorerParams(heads=8, head=3, length=20))
    slopes = torch.tensor([2.0 ** -(h + 1) for h in range(8)], dtype=torch.float64)
    torch.testing.assert_close(p.curves, -slopes[:, None] * torch.arange(20))
    assert p.matrix[5, 2] == -slopes[3] * 3 and torch.isnan(p.matrix[2, 5])  # causal mask


def test_pose_panel_marks_the_sampled_ids():
    p = P.explore("pose", P.ExplorerParams(length=64, factor=4.0))
    assert p.params["length"] == 64 and p.matrix.shape[1] == 64
    assert (p.matrix.sum(1) == 16).all()  # every sample uses L_c = 64 / 4 ids
    assert p.curves[0, 63] > 0  # the longest distance is trained


@pytest.mark.parametrize("scheme,params,match", [
    ("nope", {}, "unknown scheme"),
    ("rope", {"dim": 7}, "even"),
    ("rope", {"base": 1.0}, "base"),
    ("yarn", {"factor": 0.5}, ">= 1"),
    ("alibi", {"heads": 4, "head": 4}, r"head must be in \[0, 4\)"),
    ("alibi", {"heads": 0}, "heads"),
    ("rope", {"length": 1}, "at least 2"),
])
def test_bad_parameters(scheme, params, match):
    with pytest.raises(ValueError, match=match):
        P.explore(scheme, P.ExplorerParams(**params))


def test_widget_recomputes_and_keeps_the_last_good_panels(tmp_path):
    view = P.explorer("rope", compare="alibi", dim=16, length=32)
    assert isinstance(view, PositionalExplorer)
    assert view.info_a["scheme"] == "rope" and view.info_b["scheme"] == "alibi"
    np.testing.assert_allclose(view.curves_a, P.explore("rope", P.ExplorerParams(dim=16, length=32)).curves, rtol=1e-6)
    view.base = 500.0
    assert view.revision == 1 and view.error == ""
    expected = P.explore("rope", P.ExplorerParams(dim=16, base=500.0, length=32))
    np.testing.assert_allclose(view.curves_a, expected.curves, rtol=1e-6)
    before = view.curves_a.copy()
    view.dim = 15
    assert "dim = 15 was not applied" in view.error and "even" in view.error
    assert view.revision == 1 and np.array_equal(view.curves_a, before)
    view.dim = 16
    view.compare = ""
    assert view.error == "" and view.matrix_b is None and view.info_b == {}
    fig = view.figure()
    assert len(fig.axes) >= 2
    page = save_html(view, tmp_path / "explorer.html").read_text(encoding="utf-8")
    assert "positional" in page
    with pytest.raises(TypeError, match="unknown explorer parameters"):
        P.explorer("rope", size=3)
