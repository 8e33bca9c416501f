"""Every scheme against its closed form and properties (reference/METHODS.md, positional encodings)."""

import numpy as np
import pytest
import torch

import interp_widgets.positional as P


def test_sinusoidal_dot_products_closed_form():
    table = P.Sinusoidal(512).table(300)
    for k, expected in [(0, 256.0), (1, 249.10), (10, 173.79), (100, 111.95)]:
        dots = (table[: 300 - k] * table[k:]).sum(-1)  # PE(p)·PE(p+k) for every p
        assert torch.allclose(dots, torch.full_like(dots, expected), atol=5e-3)
    omega = 10000 ** (-np.arange(0, 512, 2) / 512)
    assert float(table[7] @ table[7 + 37]) == pytest.approx(np.cos(37 * omega).sum(), abs=1e-9)


def test_sinusoidal_and_learned_add_to_embeddings():
    x = torch.randn(2, 5, 8)
    pos = torch.arange(5)
    assert torch.allclose(P.Sinusoidal(8).embed(x, pos) - x, P.sinusoidal_table(pos, 8).float(), atol=1e-6)
    learned = P.Learned.from_table(torch.randn(10, 8))
    assert torch.allclose(learned.embed(x, pos) - x, learned.weight[:5].detach().expand_as(x), atol=1e-6)
    with pytest.raises(ValueError, match="cannot extrapolate"):
        learned.embed(x, torch.arange(8, 13))


@pytest.mark.parametrize("n, expected", [
    (8, [2.0 ** -h for h in range(1, 9)]),
    (16, [2.0 ** (-h / 2) for h in range(1, 17)]),
    (12, [2.0 ** -h for h in range(1, 9)] + [0.7071, 0.3536, 0.1768, 0.0884]),
])
def test_alibi_slopes(n, expected):
    assert P.alibi_slopes(n).tolist() == pytest.approx(expected, abs=1e-4)


def test_alibi_bias_causal_and_symmetric():
    pos = torch.arange(6)
    causal = P.ALiBi(4).bias(pos)
    assert torch.allclose(causal[1, 5, 2], torch.tensor(-3 / 16))  # n=4: m = 1/4, 1/16, ...
    assert (causal.tril() <= 0).all()
    sym = P.ALiBi(4, causal=False).bias(pos)
    assert torch.allclose(sym, sym.transpose(-1, -2)) and torch.allclose(sym[0, 1, 4], torch.tensor(-0.75))


def _rope_dot(rope, q, k, m, n):
    return (rope.rotate(q, torch.tensor([m])) * rope.rotate(k, torch.tensor([n]))).sum(-1)


@pytest.mark.parametrize("layout", ["half", "interleaved"])
def test_rope_norm_preserved_and_shift_invariant(layout):
    torch.manual_seed(0)
    rope = P.RoPE(16, layout=layout)
    q, k = torch.randn(3, 1, 16, dtype=torch.float64), torch.randn(3, 1, 16, dtype=torch.float64)
    x = rope.rotate(q.expand(3, 7, 16), torch.arange(7))
    assert torch.allclose(x.norm(dim=-1), q.norm(dim=-1).expand(3, 7))
    for shift in (1, 13, 400):
        assert torch.allclose(_rope_dot(rope, q, k, 9, 4), _rope_dot(rope, q, k, 9 + shift, 4 + shift))
    assert not torch.allclose(_rope_dot(rope, q, k, 9, 4), _rope_dot(rope, q, k, 9, 5))


def test_rope_decay_values():
    bound = P.RoPE(128).decay_bound(torch.tensor([0, 10, 50, 100, 250]))
    assert bound.tolist() == pytest.approx([32.5, 17.95, 12.63, 10.23, 6.55], abs=6e-3)


def test_half_split_matches_transformers_llama():
    from transformers import LlamaConfig
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding, apply_rotary_pos_emb

    torch.manual_seed(1)
    config = LlamaConfig(hidden_size=64, num_attention_heads=2, head_dim=32, max_position_embeddings=128,
                         rope_parameters={"rope_type": "default", "rope_theta": 500.0})
    q, k = torch.randn(2, 2, 9, 32), torch.randn(2, 2, 9, 32)
    positions = torch.tensor([0, 1, 2, 5, 8, 13, 21, 34, 55])
    cos, sin = LlamaRotaryEmbedding(config)(q, positions[None].expand(2, -1))
    ref_q, ref_k = apply_rotary_pos_emb(q, k, cos, sin)
    ours_q, ours_k = P.RoPE(32, base=500.0, layout="half").transform_qk(q, k, positions)
    assert torch.allclose(ours_q, ref_q, atol=1e-5) and torch.allclose(ours_k, ref_k, atol=1e-5)


def test_interleaved_equals_half_after_permutation():
    torch.manual_seed(2)
    x, pos = torch.randn(4, 10, 24, dtype=torch.float64), torch.arange(10)
    perm = P.interleaved_to_half(24)
    inter = P.RoPE(24, layout="interleaved").rotate(x, pos)
    half = P.RoPE(24, layout="half").rotate(x[..., perm], pos)
    assert torch.allclose(inter[..., perm], half)


def test_partial_rotary_leaves_the_rest():
    x = torch.randn(2, 6, 16)
    out = P.RoPE(16, rotary_dim=8).rotate(x, torch.arange(6))
    assert torch.equal(out[..., 8:], x[..., 8:]) and not torch.allclose(out[..., :8], x[..., :8])


def test_rope_scalings():
    base = P.RoPE(32)
    assert torch.allclose(P.RoPE(32, scaling="linear", factor=4).inv_freq, base.inv_freq / 4)
    ntk = P.RoPE(32, scaling="ntk", factor=4)
    assert ntk.base == pytest.approx(10000 * 4 ** (32 / 30))
    assert ntk.inv_freq[0] == 1.0 and ntk.inv_freq[-1] == pytest.approx(base.inv_freq[-1] / 4)


def test_xpos_zeta_and_decay():
    xpos = P.XPos(128)
    assert float(xpos.zeta[0]) == pytest.approx(0.2857, abs=1e-4)
    assert float(xpos.zeta[63]) == pytest.approx(0.98884, abs=1e-5)
    torch.manual_seed(3)
    q, k = torch.randn(1, 1, 1, 128, dtype=torch.float64), torch.randn(1, 1, 1, 128, dtype=torch.float64)
    qx, kx = xpos.transform_qk(q, k, torch.tensor([700]), torch.tensor([300]))
    qr, kr = P.RoPE(128).transform_qk(q, k, torch.tensor([700]), torch.tensor([300]))
    gain = xpos.expand(xpos.zeta ** (400 / 512))
    assert torch.allclose((qx * kx).sum(-1), (qr * kr * gain).sum(-1))  # q·k gains ζ^((n−m)/B) per pair


def test_xpos_with_zeta_one_is_rope():
    torch.manual_seed(4)
    q, k, pos = torch.randn(2, 3, 11, 16), torch.randn(2, 3, 11, 16), torch.arange(11) * 37
    for layout in ("half", "interleaved"):
        xpos = P.XPos(16, layout=layout)
        xpos.zeta.fill_(1.0)
        for a, b in zip(xpos.transform_qk(q, k, pos), P.RoPE(16, layout=layout).transform_qk(q, k, pos)):
            assert torch.allclose(a, b)


@pytest.mark.parametrize("length, expected", [(4096, (20, 46)), (2048, (16, 41))])
def test_yarn_pair_ranges(length, expected):
    assert P.YaRN(128, factor=8, original_max_position=length).pair_range() == expected


def test_yarn_mscale_values():
    values = [P.YaRN(128, factor=s, original_max_position=4096).attention_scale for s in (2, 4, 8, 16, 32)]
    assert values == pytest.approx([1.0693, 1.1386, 1.2079, 1.2773, 1.3466], abs=1e-4)


@pytest.mark.parametrize("factor, length, beta", [(4.0, 4096, (32, 1)), (16.0, 2048, (16, 2)), (2.0, 512, (32, 1))])
def test_yarn_matches_transformers(factor, length, beta):
    from transformers import LlamaConfig
    from transformers.modeling_rope_utils import _compute_yarn_parameters

    config = LlamaConfig(hidden_size=256, num_attention_heads=2, head_dim=128, max_position_embeddings=length * 4,
                         rope_parameters={"rope_type": "yarn", "rope_theta": 10000.0, "factor": factor,
                                          "original_max_position_embeddings": length,
                                          "beta_fast": beta[0], "beta_slow": beta[1]})
    inv_freq, attention = _compute_yarn_parameters(config)
    ours = P.YaRN(128, factor=factor, original_max_position=length, beta_fast=beta[0], beta_slow=beta[1])
    assert torch.allclose(ours.inv_freq.float(), inv_freq, rtol=1e-5)
    assert ours.attention_scale == pytest.approx(attention)


@pytest.mark.parametrize("ramp", ["hf", "paper"])
def test_yarn_interpolates_low_and_keeps_high_frequencies(ramp):
    yarn = P.YaRN(128, factor=8, original_max_position=4096, ramp=ramp)
    rot = yarn.rotations()
    keep, interp = rot > yarn.beta_fast, rot < yarn.beta_slow
    assert keep.any() and interp.any()
    assert torch.allclose(yarn.inv_freq[keep], yarn.original_inv_freq[keep])
    assert torch.allclose(yarn.inv_freq[interp], yarn.original_inv_freq[interp] / 8)
    if ramp == "paper":
        mid = ~keep & ~interp
        assert torch.allclose(yarn.gamma()[mid], (rot[mid] - 1) / 31)


def test_yarn_logits_scale_by_mscale_squared():
    q, k, pos = torch.randn(1, 1, 5, 32), torch.randn(1, 1, 5, 32), torch.arange(5)
    yarn = P.YaRN(32, factor=4, original_max_position=64)
    qy, ky = yarn.transform_qk(q, k, pos)
    yarn.attention_scale = 1.0
    q1, k1 = yarn.transform_qk(q, k, pos)
    assert torch.allclose(qy @ ky.transpose(-1, -2), (q1 @ k1.transpose(-1, -2)) * P.yarn_mscale(4) ** 2, atol=1e-5)


def test_pose_position_constraints():
    g = torch.Generator().manual_seed(0)
    for n_chunks in (1, 2, 3, 5):
        pose = P.PoSE(32, 200, n_chunks)
        for _ in range(200):
            ids = pose.positions(generator=g)
            assert len(ids) == 32 and ids[0] == 0
            assert (ids[1:] > ids[:-1]).all() and int(ids.max()) <= 199
            assert int((ids[1:] - ids[:-1] > 1).sum()) <= n_chunks - 1
    assert torch.equal(P.PoSE(32, 32).positions(generator=g), torch.arange(32))
    reached = max(int(P.PoSE(32, 200).positions(generator=g).max()) for _ in range(300))
    assert reached > 150  # skips do reach far into the target range


def test_rel_shift_equals_naive_loop():
    torch.manual_seed(5)
    xl = P.TransformerXLRelative(d_model=16, n_heads=2)
    for mem in (0, 3):
        q, k = torch.randn(2, 2, 6, 8), torch.randn(2, 2, 6 + mem, 8)
        t = xl.terms(q, k)
        for i in range(6):
            for j in range(i + mem + 1):
                wr = xl.relative_keys(torch.tensor([mem + i - j]))[:, 0]  # [H, d]
                assert torch.allclose(t["b"][:, :, i, j], (q[:, :, i] * wr).sum(-1), atol=1e-6)
                assert torch.allclose(t["d"][:, :, i, j], (xl.v * wr).sum(-1).expand(2, 2), atol=1e-6)
                assert torch.allclose(t["c"][:, :, i, j], (xl.u * k[:, :, j]).sum(-1), atol=1e-6)
    x = torch.randn(1, 1, 3, 5)
    assert torch.equal(P.rel_shift(x)[0, 0, 2, :5], x[0, 0, 2, :5])  # last query: no shift


def test_transformer_xl_with_u_v_zero_and_no_r_is_plain_attention():
    torch.manual_seed(6)
    xl = P.TransformerXLRelative(d_model=16, n_heads=2)
    with torch.no_grad():
        xl.u.zero_(), xl.v.zero_(), xl.W_R.zero_()
    layer, plain = P.ToyAttention(16, 2, xl), P.ToyAttention(16, 2)
    plain.load_state_dict(layer.state_dict(), strict=False)
    x = torch.randn(2, 7, 16)
    assert torch.allclose(layer(x), plain(x), atol=1e-6)


def test_shaw_without_distance_has_no_positional_signal():
    torch.manual_seed(7)
    x, perm = torch.randn(2, 8, 16), torch.randperm(8)
    for k, equivariant in ((0, True), (3, False)):
        layer = P.ToyAttention(16, 2, P.ShawRelative(8, k), causal=False)
        with torch.no_grad():
            layer.schemes[0].key.normal_(), layer.schemes[0].value.normal_()
        assert torch.allclose(layer(x)[:, perm], layer(x[:, perm]), atol=1e-5) == equivariant


def test_shaw_scores_closed_form():
    shaw = P.ShawRelative(4, 2)
    q, k, pos = torch.randn(1, 1, 5, 4), torch.randn(1, 1, 5, 4), torch.arange(5)
    bias = shaw.score_bias(q, k, pos)
    assert torch.allclose(bias[0, 0, 4, 0], q[0, 0, 4] @ shaw.key[0] / 2)  # j−i = −4 clipped to −2
    assert torch.allclose(bias[0, 0, 1, 2], q[0, 0, 1] @ shaw.key[3] / 2)


@pytest.mark.parametrize("make", [
    lambda: P.Sinusoidal(16), lambda: P.Learned(32, 16), lambda: P.ShawRelative(8, 4),
    lambda: P.TransformerXLRelative(16, 2), lambda: P.ALiBi(2), lambda: P.RoPE(8),
    lambda: P.XPos(8, layout="interleaved"), lambda: P.YaRN(8, 2.0, 16), lambda: [P.PoSE(12, 40), P.RoPE(8)],
])
def test_every_scheme_trains_in_toy_attention(make):
    torch.manual_seed(8)
    schemes = make()
    layer = P.ToyAttention(16, 2, schemes)
    out, attn = layer(torch.randn(3, 12, 16), return_weights=True)
    assert out.shape == (3, 12, 16) and torch.allclose(attn.sum(-1), torch.ones(3, 2, 12))
    assert torch.allclose(attn.triu(1), torch.zeros_like(attn))
    out.square().mean().backward()
    assert all(p.grad is not None for p in layer.parameters())
    first = schemes[0] if isinstance(schemes, list) else schemes
    assert first.acts_on in P.ACTS_ON and first.what


def test_bad_input_messages():
    with pytest.raises(ValueError, match="even"):
        P.RoPE(7)
    with pytest.raises(ValueError, match="even"):
        P.Sinusoidal(9)
    with pytest.raises(ValueError, match="positive integer"):
        P.ALiBi(0)
    with pytest.raises(ValueError, match=">= 1"):
        P.YaRN(8, 0.5, 16)
    with pytest.raises(ValueError, match=">= 1"):
        P.RoPE(8, scaling="linear", factor=0.5)
    with pytest.raises(ValueError, match="needs a scaling"):
        P.RoPE(8, factor=2.0)
    with pytest.raises(ValueError, match=">= 0"):
        P.RoPE(8).rotate(torch.randn(3, 8), torch.tensor([0, -1, 2]))
    with pytest.raises(ValueError, match="target length"):
        P.PoSE(64, 32)
    with pytest.raises(ValueError, match="layout"):
        P.RoPE(8, layout="neox")
    with pytest.raises(ValueError, match="consecutive"):
        P.ToyAttention(16, 2, P.TransformerXLRelative(16, 2))(torch.randn(1, 3, 16), positions=torch.tensor([0, 2, 3]))
    with pytest.raises(TypeError, match="PositionalScheme"):
        P.ToyAttention(16, 2, ["rope"])
