"""Model map: double centring, its invariances, KL estimates, embeddings, ridge flags."""

from __future__ import annotations

import numpy as np
import pytest

from interp_widgets.outputs import ModelMap, double_centre, kl_estimates, model_map

from .conftest import check_figure


def _L(k=6, n=40, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(-300, 20, size=(1, n)) + rng.normal(0, 3, size=(k, n)) + rng.normal(0, 10, size=(k, 1))


def test_double_centring_written_out():
    L = _L()
    k, n = L.shape
    ck, cn = np.eye(k) - np.ones((k, k)) / k, np.eye(n) - np.ones((n, n)) / n
    Q = double_centre(L)
    np.testing.assert_allclose(Q, ck @ L @ cn, atol=1e-9)
    np.testing.assert_allclose(Q.sum(0), 0, atol=1e-9)  # Σ_i q_i = 0
    np.testing.assert_allclose(Q.sum(1), 0, atol=1e-9)
    d2 = ((Q[:, None] - Q[None]) ** 2).sum(-1)
    np.testing.assert_allclose(kl_estimates(Q), d2 / (2 * n), atol=1e-9)


@pytest.mark.parametrize("method", ["pca", "mds", "tsne"])
def test_centring_invariances(method):
    L = _L()
    rng = np.random.default_rng(1)
    base = model_map(L, clip=None, method=method)
    per_text = model_map(L + rng.normal(0, 50, size=(1, L.shape[1])), clip=None, method=method)
    per_model = model_map(L + rng.normal(0, 50, size=(L.shape[0], 1)), clip=None, method=method)
    for other in (per_text, per_model):
        np.testing.assert_allclose(other.q.numpy(), base.q.numpy(), atol=1e-8)
        np.testing.assert_allclose(other.kl.numpy(), base.kl.numpy(), atol=1e-8)
        np.testing.assert_allclose(other.coords.numpy(), base.coords.numpy(), atol=1e-4)


def test_identical_models_at_distance_zero():
    L = _L()
    L[3] = L[1]
    L[4] = L[1] - 25.0  # same model up to a constant per text set
    m = model_map(L, clip=None, method="pca")
    assert m.kl_between(1, 3) == 0 and m.kl_between(1, 4) == pytest.approx(0, abs=1e-9)
    assert np.allclose(m.kl.numpy(), m.kl.numpy().T) and np.all(np.diag(m.kl.numpy()) == 0)
    assert m.nearest(1, k=2)[0][1] == pytest.approx(0, abs=1e-9)


def test_clipping_at_the_percentile():
    L = _L()
    L[0, :3] = -5000.0  # a few pathological texts
    m = model_map(L, clip=2.0, method="pca")
    assert m.clip_value == pytest.approx(np.percentile(L, 2.0))
    np.testing.assert_allclose(m.q.numpy(), double_centre(np.maximum(L, m.clip_value)), atol=1e-9)


def test_pca_coordinates_are_the_principal_components():
    Q = double_centre(_L())
    u, s, vt = np.linalg.svd(Q, full_matrices=False)
    coords = model_map(_L(), clip=None, method="pca").coords.numpy()
    np.testing.assert_allclose(np.abs(coords), np.abs(u[:, :2] * s[:2]), atol=1e-8)


def test_ridge_flags_a_model_scoring_above_its_prediction():
    rng = np.random.default_rng(2)
    L = _L(k=40, n=6)
    Q = double_centre(L)
    w = rng.normal(size=6)
    scores = Q @ w / 10 + 50
    scores[5] += 20.0  # "leaked": far better than its likelihoods predict
    m = model_map(L, clip=None, method="pca", scores=scores, alpha=1e-3)
    assert m.flagged.tolist() == [i == 5 for i in range(40)]
    assert m.residual[5] > 10
    named = model_map(L, clip=None, method="pca", names=[f"m{i}" for i in range(40)],
                      scores={f"m{i}": s for i, s in enumerate(scores) if i != 0}, alpha=1e-3)
    assert np.isnan(float(named.scores[0])) and np.isfinite(float(named.predicted[0]))
    check_figure(named.figure())


def test_figure_save_load(tmp_path):
    m = model_map(_L(), method="tsne", names=list("abcdef"), families=["x", "x", "y", "y", "z", "z"])
    check_figure(m.figure())
    back = ModelMap.load(m.save(tmp_path / "map"))
    np.testing.assert_allclose(back.kl.numpy(), m.kl.numpy())
    assert back.names == m.names and repr(back) == repr(m)


def test_bad_input():
    with pytest.raises(ValueError, match="matrix"):
        model_map(np.zeros(5))
    with pytest.raises(ValueError, match="NaN or infinite"):
        model_map(np.array([[0.0, -np.inf], [0.0, 0.0]]), method="pca")
    with pytest.raises(ValueError, match="method"):
        model_map(_L(), method="umap")
    with pytest.raises(ValueError, match="at least 4 models"):
        model_map(_L(k=3), method="tsne")
    with pytest.raises(ValueError, match="unknown models"):
        model_map(_L(), method="pca", names=list("abcdef"), scores={"zz": 1.0})
    with pytest.raises(ValueError, match="at least 3 scored"):
        model_map(_L(), method="pca", scores=[1, 2, np.nan, np.nan, np.nan, np.nan])
