"""Integrated gradients, gradient x input and layer IG: completeness, quadrature convergence,
and agreement with captum (an independent implementation driven through inputs_embeds)."""

from __future__ import annotations

import pytest
import torch

from interp_widgets import attribution as A
from interp_widgets.attribution import Target

captum_attr = pytest.importorskip("captum.attr", reason="captum is the peer reference for IG")

TEXT = "The quick brown fox jumps"
MASKED = "The quick [MASK] fox jumps"


def _text(model):
    return TEXT if model.cfg.causal else MASKED


def _reference_forward(model, text, target: Target):
    """F(inputs_embeds [n, pos, d]) -> [n] straight through the Hugging Face forward."""
    enc = model.encode(text)
    kwargs = {k: v for k, v in enc.model_kwargs().items() if k != "input_ids"}
    ids = enc.input_ids
    logits0 = model(text)
    from interp_widgets.attribution.targets import resolve_target
    bound = resolve_target(model, target, ids[0], logits0)

    def forward(embeds):
        n = embeds.shape[0]
        kw = {k: v.expand(n, -1) for k, v in kwargs.items()}
        out = model.hf(inputs_embeds=embeds, **kw)
        return bound(out.logits)
    embeds = model.adapter.embedding()(ids).detach()
    return forward, embeds


@pytest.mark.parametrize("method", ["gausslegendre", "riemann_right", "riemann_middle"])
def test_ig_matches_captum(tiny, method):
    target = Target.logit(7)
    res = A.integrated_gradients(tiny, _text(tiny), target, baseline="pad", steps=20, method=method,
                                 internal_batch_size=7)
    forward, x = _reference_forward(tiny, _text(tiny), target)
    base = A._forward.resolve_baseline(A._forward.Runner(tiny, _text(tiny)), "pad")[None]
    ig = captum_attr.IntegratedGradients(forward)
    ref, delta = ig.attribute(x, baselines=base, n_steps=20, method=method,
                              return_convergence_delta=True)
    scale = ref.abs().max()
    assert (res.attributions - ref[0]).abs().max() <= 1e-4 * scale
    assert res.delta == pytest.approx(float(delta), abs=1e-4 * max(1.0, abs(res.target_value)))


def test_layer_ig_matches_captum(tiny):
    target = Target.logit(11)
    layers = [f"blocks.{i}.hook_resid_post" for i in range(tiny.cfg.n_layers)]
    res = A.layer_integrated_gradients(tiny, _text(tiny), target, baseline="pad", steps=16,
                                       layers=layers)
    forward, x = _reference_forward(tiny, _text(tiny), target)
    base = A._forward.resolve_baseline(A._forward.Runner(tiny, _text(tiny)), "pad")[None]
    for i, name in enumerate(layers):
        lig = captum_attr.LayerIntegratedGradients(forward, tiny.adapter.block(i).block)
        ref = lig.attribute(x, baselines=base, n_steps=16, method="gausslegendre").sum(-1)[0]
        assert (res.scores[i] - ref).abs().max() <= 1e-4 * ref.abs().max(), name


def test_ig_completeness_every_family(tiny):
    res = A.integrated_gradients(tiny, _text(tiny), baseline="pad", steps=32)
    gap = res.target_value - res.info["baseline_value"]
    assert abs(res.delta) <= 1e-3 * max(abs(gap), 1.0)
    assert float(res.attributions.double().sum()) == pytest.approx(gap, abs=1e-3 * max(abs(gap), 1.0))
    assert res.scores.shape == (len(res.tokens),)


def test_layer_ig_complete_per_layer(tiny):
    res = A.layer_integrated_gradients(tiny, _text(tiny), baseline="pad", steps=24)
    gap = res.target_value - res.info["baseline_value"]
    assert res.scores.shape == (tiny.cfg.n_layers + 1, len(res.tokens))
    assert res.deltas.abs().max() <= 1e-3 * max(abs(gap), 1.0)
    # the embedding row is plain IG on the input embeddings
    ig = A.integrated_gradients(tiny, _text(tiny), baseline="pad", steps=24)
    torch.testing.assert_close(res.scores[0], ig.scores, rtol=1e-4, atol=1e-5)


def test_riemann_error_shrinks_and_gauss_legendre_converges_faster(causal_tokenizer):
    import interp_widgets as iw
    from tests.conftest import tiny_hf_model
    model = iw.wrap(tiny_hf_model("gpt2"), causal_tokenizer)
    errs = {}
    for method in ("riemann_middle", "riemann_trapezoid", "gausslegendre"):
        errs[method] = [abs(A.integrated_gradients(model, TEXT, 3, baseline="zeros", steps=s,
                                                   method=method).delta) for s in (4, 16, 64)]
    for method in ("riemann_middle", "riemann_trapezoid"):
        e = errs[method]
        assert e[0] > e[1] > e[2], (method, e)
    gl, mid = errs["gausslegendre"], errs["riemann_middle"]
    assert gl[0] < mid[0] and gl[1] < mid[1] / 10, errs


def test_quadrature_rules_integrate_polynomials():
    for method in A.gradients.METHODS:
        a, w = A.quadrature(method, 40)
        assert w.sum() == pytest.approx(1.0)
        assert (w * a).sum() == pytest.approx(0.5, abs=0.02)
    a, w = A.quadrature("gausslegendre", 3)
    assert (w * a**5).sum() == pytest.approx(1 / 6)  # exact up to degree 2n - 1
    with pytest.raises(ValueError, match="unknown method"):
        A.quadrature("simpson", 10)


def test_internal_batch_size_and_tensor_baseline_do_not_change_result(tiny):
    a = A.integrated_gradients(tiny, _text(tiny), 5, baseline="zeros", steps=8, internal_batch_size=1)
    runner = A._forward.Runner(tiny, _text(tiny))
    b = A.integrated_gradients(tiny, _text(tiny), 5, baseline=torch.zeros_like(runner.embeddings),
                               steps=8, internal_batch_size=8)
    torch.testing.assert_close(a.attributions, b.attributions, rtol=1e-4, atol=1e-6)


def test_gradient_x_input_matches_hand_gradient(tiny):
    target = Target.logit_diff(5, 9)
    res = A.gradient_x_input(tiny, _text(tiny), target)
    forward, x = _reference_forward(tiny, _text(tiny), target)
    x = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(forward(x).sum(), x)
    ref = (x * g).detach()[0]
    assert (res.attributions - ref).abs().max() <= 1e-5 * ref.abs().max()
    torch.testing.assert_close(res.scores, ref.sum(-1), rtol=1e-4, atol=1e-6)
