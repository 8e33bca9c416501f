"""Analyses of the schemes: values against closed forms, figures and save/load round trips."""

import matplotlib
import numpy as np
import pytest
import torch

import interp_widgets as iw
import interp_widgets.positional as P

matplotlib.use("Agg")


def _roundtrip(result, tmp_path):
    import matplotlib.pyplot as plt

    fig = result.figure()
    assert fig.axes
    plt.close(fig)
    back = type(result).load(result.save(tmp_path / "r"))
    for k, v in result.to_dict().items():
        w = back.to_dict()[k]
        assert np.array_equal(v, w, equal_nan=True) if isinstance(v, np.ndarray) else v == w


def test_similarity_sinusoidal_is_toeplitz_and_rotary_closed_form(tmp_path):
    sim = P.similarity(P.Sinusoidal(64), 40).matrix
    assert torch.allclose(sim.diagonal(), torch.ones(40, dtype=torch.float64))
    assert torch.allclose(sim.diagonal(5)[:-1], sim.diagonal(5)[1:])  # depends on the offset only
    rope = P.RoPE(32)
    rot = P.similarity(rope, 20).matrix
    theta = rope.inv_freq
    assert torch.allclose(rot[3, 10], torch.cos(7 * theta).mean())
    table = torch.randn(30, 8)
    assert torch.allclose(P.similarity(table, 30).matrix, torch.nn.functional.cosine_similarity(
        table[:, None].double(), table[None].double(), dim=-1))
    _roundtrip(P.similarity(P.Sinusoidal(64), 40), tmp_path)


def test_distance_profile_closed_forms(tmp_path):
    prof = P.distance_profile({"sin": P.Sinusoidal(512), "rope": P.RoPE(128), "xpos": P.XPos(128)}, 100)
    assert prof.dot[0, [0, 1, 10, 100]].tolist() == pytest.approx([256, 249.10, 173.79, 111.95], abs=5e-3)
    theta = P.RoPE(128).inv_freq
    assert float(prof.dot[1, 37]) == pytest.approx(float(2 * torch.cos(37 * theta).sum()))
    assert prof.decay[1, [0, 10, 50, 100]].tolist() == pytest.approx([32.5, 17.95, 12.63, 10.23], abs=6e-3)
    assert torch.isnan(prof.decay[0]).all()
    assert (prof.decay[2, 1:] <= prof.decay[1, 1:] + 1e-12).all()  # xPos gains ζ^(k/B) <= 1 shrink the bound
    _roundtrip(prof, tmp_path)
    with pytest.raises(TypeError, match="alibi_bias"):
        P.distance_profile(P.ALiBi(4))


def test_alibi_bias_result(tmp_path):
    r = P.alibi_bias(12, 16)
    assert torch.allclose(r.slopes, P.alibi_slopes(12))
    assert float(r.bias[8, 10, 3]) == pytest.approx(-7 * 2 ** -0.5)
    assert torch.isnan(r.bias[:, 2, 3]).all()
    assert not torch.isnan(P.alibi_bias(4, 8, causal=False).bias).any()
    _roundtrip(r, tmp_path)


def test_yarn_ramp_result(tmp_path):
    r = P.yarn_ramp(P.YaRN(128, factor=16, original_max_position=4096))
    assert r.pair_range == [20, 46] and r.mscale == pytest.approx(1.2773, abs=1e-4)
    assert torch.allclose(r.theta_scaled, (1 - r.gamma) * r.theta / 16 + r.gamma * r.theta)
    assert r.mscales[0] == 1.0
    _roundtrip(r, tmp_path)
    with pytest.raises(TypeError):
        P.yarn_ramp(P.RoPE(8))


def test_pose_coverage_result(tmp_path):
    r = P.pose_coverage(P.PoSE(16, 128), n_samples=300)
    brute = set()
    for ids in r.samples.tolist():
        brute |= {a - b for a in ids for b in ids if a >= b}
    assert r.coverage == pytest.approx(len(brute) / 128)
    assert int(r.distance_counts.sum()) == 300 * 16 * 17 // 2
    standard = P.pose_coverage(P.PoSE(16, 16), n_samples=5)
    assert standard.coverage == 1.0 and r.coverage > 16 / 128
    _roundtrip(r, tmp_path)


def test_xl_terms_sum_to_the_layer_scores(tmp_path):
    torch.manual_seed(0)
    layer = P.ToyAttention(16, 2, P.TransformerXLRelative(16, 2, init_std=0.3))
    x = torch.randn(2, 9, 16)
    r = P.xl_terms(layer, x, batch=1)
    with torch.no_grad():
        logits = layer.scores(x)[0][1]
    keep = torch.ones(9, 9, dtype=torch.bool).tril()
    assert torch.allclose(r.total[:, keep], logits[:, keep], atol=1e-5)
    assert torch.allclose(r.a + r.b + r.c + r.d, r.total, equal_nan=True)
    _roundtrip(r, tmp_path)
    with pytest.raises(TypeError, match="TransformerXLRelative"):
        P.xl_terms(P.ToyAttention(16, 2, P.RoPE(8)), x)


def test_exposed_and_catalogued():
    assert iw.positional.RoPE is P.RoPE
    rows = {r["work"]: r["status"] for r in iw.catalog(level=1)}
    positional = [w for w in rows if any(k in w for k in ("RoPE", "ALiBi", "PoSE", "xPos", "YaRN", "Positional",
                                                          "Shaw", "Transformer-XL", "sinusoidal", "Learned"))]
    assert len(positional) >= 10 and all(rows[w] == "implemented" for w in positional)
