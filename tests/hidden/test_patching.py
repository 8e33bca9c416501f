"""Activation patching: exact recovery at the last residual, no-op patches, agreement with a
hand-written loop of native PyTorch hooks, and clear errors."""

from __future__ import annotations

import pytest
import torch

from interp_widgets.hidden import ActivationPatching, activation_patching, logit_diff

from .conftest import check_figure, native_blocks, wrap

CLEAN = "To be, or not to be, that is the"
CORRUPTED = "To be, or not to be, not is the"  # same token length, differs at one position
PAIR = (" the", 7)


def test_last_residual_recovers_clean_and_corrupted(model):
    metric = logit_diff(model, *PAIR)
    clean = float(metric(model(CLEAN)[0]))
    corrupted = float(metric(model(CORRUPTED)[0]))
    last = model.cfg.n_layers - 1
    den = activation_patching(model, CLEAN, CORRUPTED, metric, by="resid_post", progress=False)
    noi = activation_patching(model, CLEAN, CORRUPTED, metric, by="resid_post", mode="noising", progress=False)
    assert den.clean_score == pytest.approx(clean, abs=1e-6) and den.corrupted_score == pytest.approx(corrupted, abs=1e-6)
    # the metric reads the last position, whose logits depend only on its last residual
    assert den.scores["resid_post"][last, -1] == pytest.approx(clean, abs=1e-5)
    assert noi.scores["resid_post"][last, -1] == pytest.approx(corrupted, abs=1e-5)
    assert torch.allclose(den.scores["resid_post"][last, :-1], torch.tensor(corrupted, dtype=torch.float64), atol=1e-5)


def test_normalised_preset(model):
    res = activation_patching(model, CLEAN, CORRUPTED, PAIR, by="resid_post", progress=False)
    assert res.normalized and res.scores["resid_post"][-1, -1] == pytest.approx(1.0, abs=1e-3)
    assert res.scores["resid_post"][-1, 0] == pytest.approx(0.0, abs=1e-3)
    raw = activation_patching(model, CLEAN, CORRUPTED, PAIR, by="resid_post", normalize=False, progress=False)
    expected = (raw.scores["resid_post"] - raw.corrupted_score) / (raw.clean_score - raw.corrupted_score)
    torch.testing.assert_close(res.scores["resid_post"], expected)


@pytest.mark.parametrize("kind", ["gpt2", "llama", "gpt_neox", "bert"])
def test_clean_into_clean_changes_nothing(kind, causal_tokenizer, encoder_tokenizer):
    model = wrap(kind, causal_tokenizer, encoder_tokenizer)
    by = ["resid_pre", "attn_out", "mlp_out", "head_out", "head_q", "head_k", "head_v", "head_pattern"]
    res = activation_patching(model, CLEAN, CLEAN, logit_diff(model, *PAIR), by=by, progress=False)
    n_kv = model.cfg.n_kv_heads
    assert res.scores["head_k"].shape == (model.cfg.n_layers, n_kv)
    assert res.scores["head_pattern"].shape == (model.cfg.n_layers, model.cfg.n_heads)
    for kind_, scores in res.scores.items():
        assert torch.allclose(scores, torch.tensor(res.clean_score, dtype=torch.float64), atol=1e-5), kind_


def test_positions_before_the_difference_change_nothing(causal_model):
    """In a causal model, activations before the first differing token are the same in both runs."""
    res = activation_patching(causal_model, CLEAN, CORRUPTED, logit_diff(causal_model, *PAIR),
                              by=["resid_pre", "attn_out", "mlp_out"], progress=False)
    first = next(i for i, (a, b) in enumerate(zip(res.clean_tokens, res.corrupted_tokens)) if a != b)
    for scores in res.scores.values():
        assert torch.allclose(scores[:, :first], torch.tensor(res.corrupted_score, dtype=torch.float64), atol=1e-5)


@pytest.mark.parametrize("kind", ["gpt2", "llama", "bert"])
def test_agrees_with_a_hand_written_hook_loop(kind, causal_tokenizer, encoder_tokenizer):
    """Reference: native ``register_forward_hook`` on each block (resid_post) and a pre-hook on the
    output projection's input (head z), one unbatched run per patch."""
    model = wrap(kind, causal_tokenizer, encoder_tokenizer)
    metric = logit_diff(model, *PAIR)
    res = activation_patching(model, CLEAN, CORRUPTED, metric, by=["resid_post", "head_out"], progress=False)
    clean_kw = {k: v for k, v in model.encode(CLEAN).model_kwargs().items()}
    corrupt_kw = {k: v for k, v in model.encode(CORRUPTED).model_kwargs().items()}
    blocks = native_blocks(model.hf)
    o_projs = [model.adapter.block(i).o_proj for i in range(len(blocks))]
    cache = {}

    def save(key):
        def hook(module, args, output):
            cache[key] = (output[0] if isinstance(output, tuple) else output).detach().clone()
        return hook

    def save_in(key):
        def hook(module, args):
            cache[key] = args[0].detach().clone()
        return hook

    handles = [b.register_forward_hook(save(("block", i))) for i, b in enumerate(blocks)]
    handles += [o.register_forward_pre_hook(save_in(("z", i))) for i, o in enumerate(o_projs)]
    with torch.no_grad():
        model.hf(**clean_kw)
    for h in handles:
        h.remove()

    def run_with(module, hook, pre=False):
        handle = module.register_forward_pre_hook(hook) if pre else module.register_forward_hook(hook)
        try:
            with torch.no_grad():
                return float(metric(model.hf(**corrupt_kw).logits[0]))
        finally:
            handle.remove()

    d_head = model.cfg.d_head
    for layer, block in enumerate(blocks):
        for pos in range(len(res.clean_tokens)):
            def patch_pos(module, args, output, layer=layer, pos=pos):
                hidden = output[0] if isinstance(output, tuple) else output
                hidden = hidden.clone()
                hidden[:, pos] = cache[("block", layer)][:, pos]
                return (hidden, *output[1:]) if isinstance(output, tuple) else hidden
            assert res.scores["resid_post"][layer, pos] == pytest.approx(run_with(block, patch_pos), abs=1e-5)
        for head in range(model.cfg.n_heads):
            def patch_z(module, args, layer=layer, head=head):
                z = args[0].clone()
                z[..., head * d_head:(head + 1) * d_head] = cache[("z", layer)][..., head * d_head:(head + 1) * d_head]
                return (z, *args[1:])
            assert res.scores["head_out"][layer, head] == pytest.approx(run_with(o_projs[layer], patch_z, pre=True),
                                                                        abs=1e-5)


def test_errors(causal_tokenizer, encoder_tokenizer):
    model = wrap("gpt_neox", causal_tokenizer, encoder_tokenizer)  # parallel residual
    with pytest.raises(ValueError, match="same token length"):
        activation_patching(model, CLEAN, "To be, or not", PAIR, progress=False)
    with pytest.raises(ValueError, match="no resid_mid"):
        activation_patching(model, CLEAN, CORRUPTED, PAIR, by="resid_mid", progress=False)
    with pytest.raises(ValueError, match="by must name"):
        activation_patching(model, CLEAN, CORRUPTED, PAIR, by="neurons", progress=False)
    with pytest.raises(ValueError, match="mode must be"):
        activation_patching(model, CLEAN, CORRUPTED, PAIR, mode="sideways", progress=False)
    with pytest.raises(ValueError, match="normalising is undefined"):
        activation_patching(model, CLEAN, CLEAN, PAIR, progress=False)
    with pytest.raises(ValueError, match="one number per run"):
        activation_patching(model, CLEAN, CORRUPTED, lambda logits: logits[-1], by="resid_post", progress=False)
    with pytest.raises(TypeError, match="metric must be"):
        activation_patching(model, CLEAN, CORRUPTED, "logit_diff", progress=False)


def test_repr_figure_and_save(tmp_path, causal_tokenizer, encoder_tokenizer):
    model = wrap("gpt2", causal_tokenizer, encoder_tokenizer)
    res = activation_patching(model, CLEAN, CORRUPTED, PAIR, by=["resid_pre", "head_out"], progress=False)
    assert isinstance(res, ActivationPatching)
    assert repr(res) == repr(activation_patching(model, CLEAN, CORRUPTED, PAIR, by=["resid_pre", "head_out"],
                                                 progress=False))
    assert "scores={resid_pre=[2, 11], head_out=[2, 4]}" in repr(res)
    check_figure(res.figure())
    check_figure(res.figure("head_out"))
    back = ActivationPatching.load(res.save(tmp_path / "patching"))
    torch.testing.assert_close(back.scores["head_out"], res.scores["head_out"])

