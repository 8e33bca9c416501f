import pytest
import torch

from interp_widgets.circuits import Transcoder, TranscoderConfig


def _tc(**kw):
    torch.manual_seed(0)
    cfg = dict(n_layers=3, d_model=8, n_features=16, activation="relu") | kw
    tc = Transcoder(TranscoderConfig(**cfg))
    with torch.no_grad():
        tc.b_dec.normal_()
    return tc


@pytest.mark.parametrize("cross_layer", [True, False])
def test_decode_matches_the_sum_over_source_layers(cross_layer):
    tc = _tc(cross_layer=cross_layer)
    acts = [torch.rand(2, 5, 16) for _ in range(3)]
    out = tc.decode(acts)
    for m in range(3):
        sources = range(m + 1) if cross_layer else [m]
        expected = tc.b_dec[m] + sum(acts[l] @ tc.decoder(l, m) for l in sources)
        torch.testing.assert_close(out[m], expected)


def test_per_layer_transcoder_writes_only_to_its_own_layer():
    tc = _tc(cross_layer=False)
    with pytest.raises(ValueError, match="do not write"):
        tc.decoder(0, 1)
    with pytest.raises(ValueError, match="do not write"):
        _tc().decoder(2, 1)


def test_topk_keeps_the_k_largest_positive_pre_activations():
    tc = _tc(activation="topk", k=3)
    pre = tc.pre_activation(1, torch.randn(6, 8) * 10)
    kept = tc.activate(1, pre)
    for row, out in zip(pre, kept):
        third = sorted(row.tolist(), reverse=True)[2]
        expected = torch.where((row >= third) & (row > 0), row, torch.zeros_like(row))
        torch.testing.assert_close(out, expected)


def test_jumprelu_forward_and_straight_through_threshold_gradient():
    tc = _tc(activation="jumprelu", bandwidth=0.5)
    theta = tc.log_threshold[0].exp().detach()
    pre = torch.stack([theta + 0.1, theta - 0.1, theta + 1.0])   # [3, feature]
    pre.requires_grad_(True)
    out = tc.activate(0, pre)
    torch.testing.assert_close(out.detach(), pre.detach() * torch.tensor([1.0, 0.0, 1.0])[:, None])
    out.sum().backward()
    # d out / d pre: 1 where active; d out / d theta: -theta / eps inside the window, summed over rows
    torch.testing.assert_close(pre.grad, torch.tensor([1.0, 0.0, 1.0])[:, None].expand(3, 16))
    expected = -(theta / 0.5) * 2 * theta          # two rows inside the window; chain rule through exp
    torch.testing.assert_close(tc.log_threshold.grad[0], expected)


def test_bad_configs_are_refused():
    with pytest.raises(ValueError, match="activation"):
        TranscoderConfig(1, 4, 4, activation="gelu")
    with pytest.raises(ValueError, match="k <= n_features"):
        TranscoderConfig(1, 4, 4, activation="topk", k=0)
    with pytest.raises(ValueError, match="expected 3 residual"):
        _tc()([torch.zeros(8)])
