"""Massive values (Jin et al. 2025): norms, detection, RoPE bands, disruption, passkey mechanics."""

from __future__ import annotations

import contextlib
import math

import pytest
import torch

from interp_widgets.analysis.attention import disrupt_massive, massive_values, passkey_probe
from interp_widgets.analysis.attention.massive_values import _score, passkey_prompt

from .conftest import check_figure

TEXT = "The quick brown fox jumps over the lazy dog. A stitch in time saves nine."


def _q_name(model, layer):
    return f"blocks.{layer}.attn.hook_{'rot_q' if model.rotary else 'q'}"


def test_norms_match_direct_computation_and_padding_is_excluded(model):
    r = massive_values(model, TEXT)
    cfg = model.cfg
    assert r.M_q.shape == (cfg.n_layers, cfg.n_heads, cfg.d_head)
    assert r.M_k.shape == r.M_v.shape == (cfg.n_layers, cfg.n_kv_heads, cfg.d_head)
    q = model.run(TEXT, names=_q_name(model, 1))[_q_name(model, 1)][0].double()
    torch.testing.assert_close(r.M_q[1], q.norm(dim=0))
    batch = massive_values(model, [TEXT, "To be, or not to be"])
    alone = massive_values(model, "To be, or not to be")
    torch.testing.assert_close(batch.M_q.square(), r.M_q.square() + alone.M_q.square(), atol=1e-6, rtol=1e-5)
    assert batch.n_tokens == r.n_tokens + alone.n_tokens


def test_models_without_rope_are_flagged(model):
    r = massive_values(model, TEXT, layer=0)
    if model.cfg.positional == "rotary":
        assert r.rotary and r.band is not None and r.frequency.shape == (model.cfg.d_head,)
    else:
        assert not r.rotary and r.band is None and r.frequency is None and "RoPE" in r.note


@pytest.mark.parametrize("dim", [0, 1, 3, 5])
def test_planted_massive_dims_map_to_the_rope_band(rope_model, dim):
    model = rope_model
    cfg = model.cfg

    def plant(q):
        q = q.clone()
        q[..., 0, dim] += 100.0
        return q

    with model.patch({_q_name(model, 1): plant}):
        r = massive_values(model, TEXT, layer=1)
    assert (0, dim) in [(h, d) for _, h, d in r.massive_dims("q")]
    assert r.mask("q", top1=True)[0, 0].nonzero().item() == dim
    # independent: rotate_half pairs i and i + r/2 at θ_i = base^(-2i/r); dims ≥ r are unrotated
    rdim, base = cfg.rotary_dim, cfg.rope_theta
    if dim >= rdim:
        assert r.band[dim] == "none" and math.isnan(r.frequency[dim])
    else:
        i = dim % (rdim // 2)
        assert r.frequency[dim].item() == pytest.approx(base ** (-2 * i / rdim))
        assert r.band[dim] == ("low" if i >= rdim // 4 else "high")


def test_disruption_gives_zero_variance_and_norm_of_the_mean(model):
    before = massive_values(model, TEXT)
    name = _q_name(model, 0)
    with disrupt_massive(model, before, top1=True):
        q = model.run(TEXT, names=name)[name][0].double()
        after = massive_values(model, TEXT)
    original = model.run(TEXT, names=name)[name][0].double()
    mask = before.mask("q", top1=True)
    n = q.shape[0]
    for h, d in mask[0].nonzero().tolist():
        assert q[:, h, d].var().item() == pytest.approx(0.0, abs=1e-10)
        mean = original[:, h, d].mean()
        assert after.M_q[0, h, d].item() == pytest.approx(abs(mean.item()) * math.sqrt(n), rel=1e-5, abs=1e-6)
    assert not any(model._registry.active(name) for name in model.hook_names)  # restored


def test_control_picks_the_smallest_dims(model):
    r = massive_values(model, TEXT, layer=[0, 1], lam=1.5)
    ctrl, hit = r.control_mask("k"), r.mask("k")
    assert torch.equal(ctrl.sum(-1), hit.sum(-1))
    for l, h in zip(*torch.nonzero(hit.any(-1), as_tuple=True)):
        chosen = r.M_k[l, h][ctrl[l, h]]
        rest = r.M_k[l, h][~ctrl[l, h]]
        assert chosen.max() <= rest.min()


def test_errors(model):
    with pytest.raises(IndexError, match="valid"):
        massive_values(model, TEXT, layer=model.cfg.n_layers)
    with pytest.raises(ValueError, match="lam"):
        massive_values(model, TEXT, lam=0)
    with pytest.raises(ValueError, match="mask has shape"):
        with disrupt_massive(model, {"q": torch.zeros(1, 1, 1, dtype=torch.bool)}):
            pass
    if model.rotary is None or not model.cfg.causal:
        with pytest.raises(ValueError, match="rotary"):
            passkey_probe(model, n_trials=1)


def test_passkey_probe_mechanics(long_llama):
    r = passkey_probe(long_llama, n_trials=2, filler_repeats=1, digits=3, top1=True)
    assert r.correct.shape == r.logprob.shape == (3, 2)
    assert (r.logprob < 0).all() and (r.n_massive > 0).all()
    assert set(r.accuracy) == {"original", "massive", "control"}
    assert (r.logprob[1] != r.logprob[0]).all()  # the disruption reached the prefill
    # scoring from the prefill cache equals one teacher-forced pass over prompt + answer
    prompt, answer = passkey_prompt("123", 1, 0.5)
    ids = long_llama.to_tokens(prompt)
    target = torch.tensor(long_llama.tokenizer(answer, add_special_tokens=False)["input_ids"])
    full = torch.cat([ids[0], target])
    logp = long_llama(full)[0].double().log_softmax(-1)
    direct = logp[len(ids[0]) - 1:-1].gather(-1, target[:, None]).sum()
    _, cached = _score(long_llama, ids, target, contextlib.nullcontext())
    assert cached == pytest.approx(direct.item(), abs=1e-4)
    check_figure(r.figure())


def test_figure(figure_model):
    check_figure(massive_values(figure_model, TEXT).figure())
