"""Chefer et al. relevance: METHODS.md identities on every family, a one-layer reference built
from an independent gradient of the attention probabilities, targets, bad input."""

from __future__ import annotations

import matplotlib
import pytest
import torch
import transformers

import interp_widgets as iw
from interp_widgets import attribution as A
from interp_widgets.attribution import CheferRelevance, Target, TokenAttribution

from tests.conftest import HEADS, _config

matplotlib.use("Agg")
TEXT = "The quick brown fox jumps"
MASKED = "The quick [MASK] fox jumps"
VARIANTS = ["cvpr", "generic"]


def _text(model):
    return TEXT if model.cfg.causal else MASKED


@pytest.mark.parametrize("variant", VARIANTS)
def test_identities(tiny, variant):
    text = _text(tiny)
    res = A.chefer(tiny, text, 7, variant=variant)
    n_tok = len(res.tokens)
    maps, r = res.maps.double(), res.relevance.double()
    assert maps.shape == (tiny.cfg.n_layers, n_tok, n_tok)
    assert float(maps.min()) >= 0 and float(r.min()) >= 0
    assert float(torch.diagonal(r).min()) >= 1.0 - 1e-6
    product = torch.eye(n_tok, dtype=torch.float64)  # R = (I + Ā_{L-1}) ... (I + Ā_0)
    for a in maps:
        product = (torch.eye(n_tok, dtype=torch.float64) + a) @ product
    torch.testing.assert_close(r, product, rtol=1e-5, atol=1e-7)
    assert float(maps.abs().max()) > 0  # the tiny models do route some relevance through attention
    ids = tiny.to_tokens(text)[0]
    want_pos = len(ids) - 1 if tiny.cfg.causal else int((ids == tiny.tokenizer.mask_token_id).nonzero()[0, 0])
    assert res.position == want_pos
    torch.testing.assert_close(res.scores, (res.relevance - torch.eye(n_tok))[want_pos])
    if tiny.cfg.causal:
        assert torch.equal(r.triu(1), torch.zeros_like(r)) and torch.equal(maps.triu(1), torch.zeros_like(maps))


@pytest.mark.parametrize("variant", VARIANTS)
def test_zero_gradient_gives_identity(tiny, variant):
    res = A.chefer(tiny, _text(tiny), Target.function(lambda row: row.sum() * 0.0), variant=variant)
    n_tok = len(res.tokens)
    assert torch.equal(res.maps, torch.zeros_like(res.maps))
    assert torch.equal(res.relevance, torch.eye(n_tok))


def _one_layer(kind, causal_tokenizer, encoder_tokenizer):
    torch.manual_seed(1)
    config = _config(kind)
    for key in ("n_layer", "num_hidden_layers"):
        if hasattr(config, key):
            setattr(config, key, 1)
    hf = getattr(transformers, HEADS[kind])(config).eval()
    return iw.wrap(hf, encoder_tokenizer if kind in ("bert", "roberta") else causal_tokenizer)


@pytest.mark.parametrize("kind", ["gpt2", "gpt_neox", "llama", "bert"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_one_layer_closed_form(kind, variant, causal_tokenizer, encoder_tokenizer):
    """One block: R = I + E_h[(∇A ⊙ W)⁺], with ∇A taken here by replacing the pattern with a
    leaf tensor (a separate forward pass) and W = A (generic) or the AttnLRP relevance of A."""
    model = _one_layer(kind, causal_tokenizer, encoder_tokenizer)
    assert model.cfg.n_layers == 1
    text = _text(model)
    name = "blocks.0.attn.hook_pattern"
    pattern = model.run(text, names=name)[name].detach()
    leaf = pattern.clone().requires_grad_(True)
    with model.patch({name: lambda v: leaf}):
        logits = model(text, grad=True)
    pos = model.to_tokens(text).shape[1] - 1 if model.cfg.causal else \
        int((model.to_tokens(text)[0] == model.tokenizer.mask_token_id).nonzero()[0, 0])
    (grad,) = torch.autograd.grad(logits[0, pos, 7], leaf)
    weight = pattern if variant == "generic" else \
        A.relevance(model, text, 7, names=name)[name][None]
    expected = torch.eye(pattern.shape[-1], dtype=torch.float64) + \
        (grad.double() * weight.double())[0].clamp(min=0).mean(0)
    res = A.chefer(model, text, 7, variant=variant)
    torch.testing.assert_close(res.relevance.double(), expected, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_layer_map_from_independent_gradients(tiny, variant):
    """Every block of a deeper model: map b is E_h[(∂y/∂A_b ⊙ W_b)⁺], with the total gradient
    ∂y/∂A_b taken here through a leaf tensor patched in for that block's pattern alone (one
    separate forward/backward pass per block, later blocks live)."""
    text = _text(tiny)
    names = [f"blocks.{l}.attn.hook_pattern" for l in range(tiny.cfg.n_layers)]
    tr = tiny.run(text, names=names)
    res = A.chefer(tiny, text, 7, variant=variant)
    lrp = A.relevance(tiny, text, 7, names=names) if variant == "cvpr" else None
    for layer, name in enumerate(names):
        leaf = tr[name].detach().clone().requires_grad_(True)
        with tiny.patch({name: lambda v: leaf}):
            logits = tiny(text, grad=True)
        (grad,) = torch.autograd.grad(logits[0, res.position, 7], leaf)
        weight = leaf.detach() if variant == "generic" else lrp[name][None]
        expected = (grad.double() * weight.double())[0].clamp(min=0).mean(0)
        torch.testing.assert_close(res.maps[layer].double(), expected, rtol=1e-5, atol=1e-8)


def test_target_kinds_and_defaults(causal_tokenizer, encoder_tokenizer):
    from tests.conftest import tiny_hf_model

    model = iw.wrap(tiny_hf_model("gpt2"), causal_tokenizer)
    for target in (Target.prob(7), Target.logit_diff(7, 9), Target.logit_diff(7, "mean"),
                   Target.function(lambda row: row[-1].logsumexp(-1))):
        for variant in VARIANTS:
            res = A.chefer(model, TEXT, target, variant=variant)
            assert float(res.relevance.min()) >= 0 and res.position == len(res.tokens) - 1
    a = A.chefer(model, TEXT, Target.logit(7, pos=2), variant="generic")
    assert a.position == 2 and torch.equal(a.relevance[:, 3:].triu(), torch.zeros_like(a.relevance[:, 3:]).triu())
    c = A.chefer(model, TEXT, 7, contrast=9)
    assert c.target == A.chefer(model, TEXT, Target.logit_diff(7, 9)).target
    assert A.chefer(model, TEXT, 7, position=1).position == 1
    for kind, cls, row in [("bert", "BertForSequenceClassification", 0),
                           ("gpt2", "GPT2ForSequenceClassification", len(model.to_str_tokens(TEXT)) - 1)]:
        torch.manual_seed(0)
        config = _config(kind)
        config.num_labels = 3
        config.pad_token_id = 0
        clf = iw.wrap(getattr(transformers, cls)(config).eval(),
                      encoder_tokenizer if kind == "bert" else causal_tokenizer)
        for variant in VARIANTS:
            res = A.chefer(clf, TEXT, Target.class_score(2), variant=variant)
            assert res.target == "class 2" and res.position == row
            assert float(res.relevance.min()) >= 0


def test_bad_input_and_result(tmp_path, causal_tokenizer):
    from tests.conftest import tiny_hf_model

    model = iw.wrap(tiny_hf_model("gpt2"), causal_tokenizer)
    with pytest.raises(ValueError, match="variant must be one of"):
        A.chefer(model, TEXT, 7, variant="rollout")
    with pytest.raises(ValueError, match="out of range"):
        A.chefer(model, TEXT, 7, position=40)
    with pytest.raises(ValueError, match="out of range"):
        A.chefer(model, TEXT, Target.logit(7, pos=40))
    res = A.chefer(model, TEXT, 7)
    assert isinstance(res, CheferRelevance)
    att = res.attribution()
    assert isinstance(att, TokenAttribution) and att.method == "chefer_cvpr"
    assert repr(res) == repr(A.chefer(model, TEXT, 7))
    assert len(res.figure().axes) == 3
    back = CheferRelevance.load(res.save(tmp_path / "ch"))
    torch.testing.assert_close(back.relevance, res.relevance)
    before = model(TEXT)
    A.chefer(model, TEXT, 7, variant="generic")
    assert torch.equal(model(TEXT), before)
    assert all(p.grad is None for p in model.hf.parameters())
