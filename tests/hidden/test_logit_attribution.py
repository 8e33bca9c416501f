"""Direct logit attribution: completeness against the model's logits, and each last-layer
component's share equals the logit change from removing it with the final-norm scale frozen."""

from __future__ import annotations

import pytest
import torch

from interp_widgets.hidden import LogitAttribution, direct_logit_attribution

from .conftest import check_figure

TEXT = "To be, or not to be, that is the"


@pytest.mark.parametrize("target", [" the", (" the", 7)])
@pytest.mark.parametrize("centered", [False, True])
def test_components_sum_to_the_logit(causal_model, target, centered):
    dla = direct_logit_attribution(causal_model, TEXT, target, centered=centered)
    logits = causal_model.run(TEXT, names=[]).logits[0, -1].double()
    ids = dla.target_ids
    expected = logits[ids[0]] - (logits[ids[1]] if len(ids) == 2 else (logits.mean() if centered else 0.0))
    labels, values = dla.components()
    assert abs(float(values.sum()) + dla.constant - float(expected)) < 1e-4
    assert abs(dla.total - float(expected)) < 1e-4 and abs(dla.logit - float(expected)) < 1e-6
    n_layers, n_heads = causal_model.cfg.n_layers, causal_model.cfg.n_heads
    assert dla.heads.shape == (n_layers, n_heads) and len(labels) == len(values)
    assert (dla.pos_embed is not None) == (causal_model.cfg.positional == "learned")


def test_last_layer_components_match_ablation_with_frozen_scale(causal_model):
    """Zeroing one last-layer head (with the last MLP's output held) or the last MLP, with ln_final's
    scale held at its recorded value, changes the logit by exactly that component's contribution."""
    model = causal_model
    last, target = model.cfg.n_layers - 1, " the"
    dla = direct_logit_attribution(model, TEXT, target, position=4)
    token = dla.target_ids[0]
    frozen = ["ln_final.hook_scale", f"blocks.{last}.hook_mlp_out"]  # no indirect path through the last MLP
    clean = model.run(TEXT, names=frozen)
    base = float(clean.logits[0, 4, token])

    def zero_head(h):
        def fn(result):
            result = result.clone()
            result[:, :, h] = 0
            return result
        return fn

    for head in range(model.cfg.n_heads):
        with model.freeze(frozen, source=clean), model.patch({f"blocks.{last}.attn.hook_result": zero_head(head)}):
            ablated = float(model(TEXT)[0, 4, token])
        assert abs((base - ablated) - float(dla.heads[last, head])) < 1e-4
    with model.freeze("ln_final.hook_scale", source=clean), \
            model.patch({f"blocks.{last}.hook_mlp_out": torch.zeros(model.cfg.d_model)}):
        ablated = float(model(TEXT)[0, 4, token])
    assert abs((base - ablated) - float(dla.mlp[last])) < 1e-4


def test_post_norm_encoders_raise(causal_tokenizer, encoder_tokenizer):
    from .conftest import wrap

    model = wrap("bert", causal_tokenizer, encoder_tokenizer)
    with pytest.raises(ValueError, match="post-norm"):
        direct_logit_attribution(model, TEXT, " the")


def test_bad_targets_repr_and_figure(causal_tokenizer, encoder_tokenizer):
    from .conftest import wrap

    model = wrap("gpt2", causal_tokenizer, encoder_tokenizer)
    with pytest.raises(ValueError, match="pair"):
        direct_logit_attribution(model, TEXT, (" the", 7, 8))
    with pytest.raises(ValueError, match="not a single token"):
        direct_logit_attribution(model, TEXT, " questionable")
    with pytest.raises(IndexError, match="out of range"):
        direct_logit_attribution(model, TEXT, " the", position=99)
    dla = direct_logit_attribution(model, TEXT, (" the", 7))
    assert isinstance(dla, LogitAttribution)
    assert repr(dla) == repr(direct_logit_attribution(model, TEXT, (" the", 7)))
    assert abs(dla.top(3)[0][1]) == float(dla.components()[1].abs().max())
    check_figure(dla.figure())
