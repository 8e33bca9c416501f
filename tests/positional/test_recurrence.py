"""Transformer-XL segment recurrence: empty memory and no relative terms is plain attention, a
segment with the previous segment as memory equals attending over both at once, the memory is
cut to mem_len, and no gradient flows into it."""

import pytest
import torch

import interp_widgets.positional as P


def _layer(mem_len=64, seed=0):
    torch.manual_seed(seed)
    return P.RecurrentXLAttention(32, 4, mem_len, init_std=0.3).double()


def test_empty_memory_without_relative_terms_is_plain_attention():
    layer = _layer()
    with torch.no_grad():
        layer.relative.u.zero_()
        layer.relative.v.zero_()
        layer.relative.W_R.zero_()
    plain = P.ToyAttention(32, 4).double()
    plain.load_state_dict({"qkv.weight": layer.qkv.weight, "out.weight": layer.out.weight})
    x = torch.randn(2, 9, 32, dtype=torch.float64)
    out, memory, weights = layer(x)
    ref, ref_weights = plain(x, return_weights=True)
    torch.testing.assert_close(out, ref)
    torch.testing.assert_close(weights, ref_weights)
    torch.testing.assert_close(memory, x)


def test_segments_with_memory_equal_one_pass_over_both():
    layer = _layer()
    x = torch.randn(2, 12, 32, dtype=torch.float64)
    full, _, _ = layer(x)
    out1, memory, _ = layer(x[:, :7])
    out2, memory2, weights = layer(x[:, 7:], memory)
    torch.testing.assert_close(torch.cat([out1, out2], 1), full)
    assert weights.shape == (2, 4, 5, 12)
    torch.testing.assert_close(memory2, x)  # 12 states, mem_len 64


def test_memory_is_cut_to_mem_len_and_stops_gradients():
    layer = _layer(mem_len=3)
    x1 = torch.randn(1, 8, 32, dtype=torch.float64, requires_grad=True)
    x2 = torch.randn(1, 5, 32, dtype=torch.float64)
    _, memory, _ = layer(x1)
    torch.testing.assert_close(memory, x1[:, -3:].detach())
    out2, _, _ = layer(x2, memory)
    window, _, _ = layer(torch.cat([x1[:, -3:].detach(), x2], 1))
    torch.testing.assert_close(out2, window[:, 3:])
    out2.sum().backward()
    assert x1.grad is None  # the memory is detached
    whole, _, _ = layer(torch.cat([x1, x2], 1))
    whole[:, 8:].sum().backward()
    assert x1.grad.abs().sum() > 0  # without recurrence the earlier segment gets gradient


def test_bad_input():
    layer = _layer()
    with pytest.raises(ValueError, match="memory must be"):
        layer(torch.randn(2, 4, 32, dtype=torch.float64), torch.randn(3, 4, 32, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"\[batch, pos, d_model\]"):
        layer(torch.randn(4, 32, dtype=torch.float64))
    with pytest.raises(ValueError, match="mem_len"):
        P.RecurrentXLAttention(32, 4, 0)
