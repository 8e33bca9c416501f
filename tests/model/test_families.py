"""Correctness of the model access layer on tiny random models of every family."""

from __future__ import annotations

import copy

import pytest
import torch

import interp_widgets as iw
from interp_widgets.model.hooks import Deferred
from conftest import FAMILIES, tiny_hf_model

TEXT = "Shall I compare thee to a summer's day?"
TEXTS = ["The quick brown fox", "To be, or not to be, that is the question"]
ATOL = 1e-5


def _eager_reference(model: iw.Model, text=TEXT):
    """The native model's own outputs with eager attention (on a copy)."""
    ref = copy.deepcopy(model.hf)
    ref.set_attn_implementation("eager")
    kwargs = model.encode(text).model_kwargs()
    with torch.no_grad():
        return ref(**kwargs, output_hidden_states=True, output_attentions=True)


def _hooks_installed(model: iw.Model) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.hf.modules())


def test_cache_matches_native_outputs(tiny):
    out = _eager_reference(tiny)
    tr = tiny.run(TEXT)
    cfg = tiny.cfg
    torch.testing.assert_close(tr.logits, out.logits, atol=ATOL, rtol=0)
    for layer in range(cfg.n_layers):
        torch.testing.assert_close(tr[f"blocks.{layer}.attn.hook_pattern"], out.attentions[layer],
                                   atol=ATOL, rtol=0)
        torch.testing.assert_close(tr[f"blocks.{layer}.hook_resid_pre"], out.hidden_states[layer],
                                   atol=ATOL, rtol=0)
    # Hugging Face reports the last hidden state after the final norm, where there is one
    last = f"blocks.{cfg.n_layers - 1}.hook_resid_post" if cfg.post_norm else "ln_final.hook_normalized"
    torch.testing.assert_close(tr[last], out.hidden_states[-1], atol=ATOL, rtol=0)


def test_patterns_whatever_attention_implementation(kind, causal_tokenizer, encoder_tokenizer):
    tokenizer = encoder_tokenizer if kind in ("bert", "roberta") else causal_tokenizer
    patterns = {}
    for impl in ("sdpa", "eager"):
        m = iw.wrap(tiny_hf_model(kind, attn_implementation=impl), tokenizer)
        patterns[impl] = m.run(TEXT, names="blocks.*.attn.hook_pattern")
        assert m.hf.config._attn_implementation == impl
    for name in patterns["sdpa"].keys():
        torch.testing.assert_close(patterns["sdpa"][name], patterns["eager"][name])
        rows = patterns["sdpa"][name].sum(-1)
        torch.testing.assert_close(rows, torch.ones_like(rows))


def test_head_results_sum_to_attention_output(tiny):
    tr = tiny.run(TEXT)
    for layer in range(tiny.cfg.n_layers):
        b_o = tiny.b_O(layer)
        total = tr[f"blocks.{layer}.attn.hook_result"].sum(-2) + (0 if b_o is None else b_o)
        torch.testing.assert_close(total, tr[f"blocks.{layer}.hook_attn_out"], atol=ATOL, rtol=0)


def test_z_through_W_O_is_result(tiny):
    tr = tiny.run(TEXT)
    z = tr["blocks.1.attn.hook_z"]
    result = torch.einsum("bphd,hdm->bphm", z, tiny.W_O(1))
    torch.testing.assert_close(result, tr["blocks.1.attn.hook_result"], atol=ATOL, rtol=0)


def test_result_deferred_until_read(tiny):
    name = "blocks.1.attn.hook_result"
    lazy = tiny.run(TEXT)
    assert isinstance(lazy.cache[name], Deferred)
    with tiny.patch({name: lambda r: None}):  # a patch function: computed in the forward pass
        eager = tiny.run(TEXT)
    assert isinstance(eager.cache[name], torch.Tensor)
    torch.testing.assert_close(lazy[name], eager[name], atol=0, rtol=0)
    assert isinstance(lazy.cache[name], torch.Tensor)  # computed once, then kept
    with_grad = tiny.run(TEXT, names=name, grad=True)
    assert with_grad.cache[name].requires_grad


def test_deferred_result_refuses_edited_weights(tiny):
    trace = tiny.run(TEXT)
    weight = tiny.adapter.block(1).o_proj.weight
    saved = weight.detach().clone()
    with torch.no_grad():
        weight.mul_(2)
    try:
        with pytest.raises(RuntimeError, match="changed in place"):
            trace["blocks.1.attn.hook_result"]
    finally:
        with torch.no_grad():
            weight.copy_(saved)


def test_weights_reproduce_q_k_v(tiny):
    tr = tiny.run(TEXT)
    cfg = tiny.cfg
    x = tr["blocks.0.hook_resid_pre"] if cfg.post_norm else tr["blocks.0.ln1.hook_normalized"]
    group = cfg.n_heads // cfg.n_kv_heads
    for hook, w, b in (("q", tiny.W_Q(0), tiny.b_Q(0)), ("k", tiny.W_K(0), tiny.b_K(0)),
                       ("v", tiny.W_V(0), tiny.b_V(0))):
        expected = torch.einsum("bpm,hmd->bphd", x, w) + b
        got = tr[f"blocks.0.attn.hook_{hook}"]
        if hook != "q":
            expected = expected[:, :, ::group]  # native keys/values keep the KV heads
        torch.testing.assert_close(got, expected, atol=ATOL, rtol=0)


def test_residual_decomposition_sums_to_final_residual(tiny):
    tr = tiny.run(TEXT)
    if tiny.cfg.post_norm:
        with pytest.raises(ValueError, match="does not decompose"):
            tr.decompose_resid()
        return
    parts, labels = tr.decompose_resid()
    assert parts.shape[0] == len(labels)
    final = tr[f"blocks.{tiny.cfg.n_layers - 1}.hook_resid_post"]
    torch.testing.assert_close(parts.sum(0), final, atol=ATOL, rtol=0)


def test_resid_mid_is_resid_pre_plus_attention(tiny):
    tr = tiny.run(TEXT)
    cfg = tiny.cfg
    name = "blocks.0.hook_resid_mid"
    if cfg.parallel_residual:
        assert name not in tiny.hook_names
    elif cfg.post_norm:
        torch.testing.assert_close(tr[name], tr["blocks.0.ln1.hook_normalized"])
    else:
        torch.testing.assert_close(tr[name], tr["blocks.0.hook_resid_pre"] + tr["blocks.0.hook_attn_out"],
                                   atol=ATOL, rtol=0)
    if name in tiny.hook_names:  # recorded alone: the residual it is built from is captured for it
        torch.testing.assert_close(tiny.run(TEXT, names=[name])[name], tr[name], atol=ATOL, rtol=0)


def test_norm_scale_reproduces_native_norm(tiny):
    tr = tiny.run(TEXT)
    if tiny.cfg.post_norm:
        prefix = "embed.ln"
        x = tr["hook_embed"] + tr["hook_pos_embed"] + tr["hook_token_type_embed"]
    else:
        prefix, x = "blocks.0.ln1", tr["blocks.0.hook_resid_pre"]
    norm = tiny.norm(prefix)
    if tiny.cfg.normalization == "layernorm":
        x = x - x.mean(-1, keepdim=True)
    bias = getattr(norm, "bias", None)
    normalized = x / tr[f"{prefix}.hook_scale"] * norm.weight + (0 if bias is None else bias)
    torch.testing.assert_close(normalized, tr[f"{prefix}.hook_normalized"], atol=ATOL, rtol=0)


def test_final_norm_and_unembed_reproduce_logits(tiny):
    tr = tiny.run(TEXT)
    final = tr[f"blocks.{tiny.cfg.n_layers - 1}.hook_resid_post"]
    with torch.no_grad():
        torch.testing.assert_close(tiny.unembed(final), tr.logits, atol=ATOL, rtol=0)
        if tiny.W_U is not None and not tiny.cfg.post_norm:
            manual = tiny.final_norm(final) @ tiny.W_U + (0 if tiny.b_U is None else tiny.b_U)
            torch.testing.assert_close(manual, tr.logits, atol=ATOL, rtol=0)


def test_clean_into_clean_patching_changes_nothing(tiny):
    clean = tiny.run(TEXT)
    with tiny.patch({name: clean[name] for name in clean.keys()}):
        patched = tiny.run(TEXT)
    torch.testing.assert_close(patched.logits, clean.logits, atol=ATOL, rtol=0)
    for name in clean.keys():
        torch.testing.assert_close(patched[name], clean[name], atol=ATOL, rtol=0)


def test_model_is_bit_identical_after_runs_and_patches(tiny):
    kwargs = tiny.encode(TEXT).model_kwargs()
    impl = tiny.hf.config._attn_implementation
    with torch.no_grad():
        before = tiny.hf(**kwargs).logits
    tiny.run(TEXT)
    tiny.run(TEXT, grad=True)
    with tiny.patch({"blocks.*.attn.hook_pattern": lambda p: p * 0.5}):
        with torch.no_grad():
            assert not torch.equal(tiny.hf(**kwargs).logits, before)
    with pytest.raises(RuntimeError, match="boom"), tiny.patch({"blocks.0.hook_resid_pre": lambda x: x * 2}):
        raise RuntimeError("boom")
    with torch.no_grad():
        after = tiny.hf(**kwargs).logits
    assert torch.equal(before, after)
    assert tiny.hf.config._attn_implementation == impl
    assert _hooks_installed(tiny) == 0


@pytest.mark.parametrize("side", ["left", "right"])
def test_padded_batch_matches_single_runs(tiny, side):
    batch = tiny.run(TEXTS, padding_side=side)
    for i, text in enumerate(TEXTS):
        single = tiny.run(text)
        real = batch.positions(i)
        torch.testing.assert_close(batch.logits[i, real], single.logits[0], atol=ATOL, rtol=0)
        torch.testing.assert_close(batch["blocks.1.hook_resid_post"][i, real],
                                   single["blocks.1.hook_resid_post"][0], atol=ATOL, rtol=0)
        pattern = batch["blocks.0.attn.hook_pattern"][i][:, real][:, :, real]
        torch.testing.assert_close(pattern, single["blocks.0.attn.hook_pattern"][0], atol=ATOL, rtol=0)
        assert batch.str_tokens(i) == single.str_tokens(0)


def test_patch_takes_effect_and_is_recorded(tiny):
    clean = tiny.run(TEXT)
    zero_head = {"blocks.0.attn.hook_z": lambda z: torch.cat([torch.zeros_like(z[:, :, :1]), z[:, :, 1:]], 2)}
    with tiny.patch(zero_head):
        patched = tiny.run(TEXT)
    assert patched["blocks.0.attn.hook_z"][:, :, 0].abs().max() == 0
    assert not torch.allclose(patched.logits, clean.logits)
    # patching the per-head result by the same ablation gives the same downstream effect
    with tiny.patch({"blocks.0.attn.hook_result": lambda r: torch.cat([torch.zeros_like(r[:, :, :1]),
                                                                         r[:, :, 1:]], 2)}):
        via_result = tiny.run(TEXT)
    torch.testing.assert_close(via_result.logits, patched.logits, atol=ATOL, rtol=0)


@pytest.mark.parametrize("kind", [k for k in FAMILIES if k != "gpt_neox"])  # parallel: no resid_mid
def test_resid_mid_patch_propagates(tiny):
    clean = tiny.run(TEXT)
    target = torch.randn_like(clean["blocks.0.hook_resid_mid"])
    with tiny.patch({"blocks.0.hook_resid_mid": target}):
        patched = tiny.run(TEXT)
    torch.testing.assert_close(patched["blocks.0.hook_resid_mid"], target, atol=ATOL, rtol=0)
    assert not torch.allclose(patched.logits, clean.logits)


def test_freeze_to_source_trace(tiny):
    ids = tiny.to_tokens(TEXT)
    source = tiny.run(ids)
    other = ids.flip(-1)
    names = "blocks.*.attn.hook_pattern"
    free = tiny.run(other, names=names)
    with tiny.freeze(names, source=source):
        frozen = tiny.run(other, names=names)
    for name in tiny.resolve_names(names):
        torch.testing.assert_close(frozen[name], source[name])
    assert not torch.allclose(frozen.logits, free.logits)


def test_freeze_without_source_stops_gradients(tiny):
    with tiny.freeze("blocks.*.ln*.hook_scale"):
        tr = tiny.run(TEXT, names=["hook_embed", "blocks.0.ln1.hook_scale"], grad=True)
    grads = tr.backward(lambda t: t.logits[0, -1].max())
    assert "hook_embed" in grads
    assert "blocks.0.ln1.hook_scale" not in grads or grads["blocks.0.ln1.hook_scale"].abs().sum() == 0


def test_gradients_match_autograd_through_inputs_embeds(tiny):
    tr = tiny.run(TEXT, names=["hook_embed"], grad=True)
    grads = tr.backward(lambda t: t.logits[0, -1, 5])
    kwargs = tiny.encode(TEXT).model_kwargs()
    ids = kwargs.pop("input_ids")
    embeds = tiny.W_E[ids].detach().requires_grad_(True)
    out = tiny.hf(inputs_embeds=embeds, **kwargs)  # positions are added inside the model
    (expected,) = torch.autograd.grad(out.logits[0, -1, 5], embeds)
    torch.testing.assert_close(grads["hook_embed"], expected, atol=ATOL, rtol=1e-4)


def test_two_models_do_not_affect_each_other(kind, causal_tokenizer, encoder_tokenizer):
    tokenizer = encoder_tokenizer if kind in ("bert", "roberta") else causal_tokenizer
    a = iw.wrap(tiny_hf_model(kind, seed=1), tokenizer)
    b = iw.wrap(tiny_hf_model(kind, seed=2), tokenizer)
    before = b(TEXT)
    with a.patch({"blocks.*.attn.hook_pattern": lambda p: torch.zeros_like(p)}):
        during = b.run(TEXT, names="blocks.*.attn.hook_pattern").logits
    torch.testing.assert_close(during, before, atol=ATOL, rtol=0)
    assert _hooks_installed(a) == 0 and _hooks_installed(b) == 0


@pytest.mark.parametrize("kind", ["bert", "roberta"])
def test_sentence_pair_sets_token_types(kind, encoder_tokenizer):
    m = iw.wrap(tiny_hf_model(kind), encoder_tokenizer)
    tr = m.run("The quick brown fox", pair="jumps over the lazy dog")
    types = tr.token_type_ids[0].tolist()
    assert types[0] == 0 and types[-1] == 1 and sorted(types) == types


def test_weight_shapes(tiny):
    c = tiny.cfg
    assert tiny.W_Q(0).shape == (c.n_heads, c.d_model, c.d_head)
    assert tiny.W_K(0).shape == (c.n_heads, c.d_model, c.d_head)
    assert tiny.W_V(0).shape == (c.n_heads, c.d_model, c.d_head)
    assert tiny.W_O(0).shape == (c.n_heads, c.d_head, c.d_model)
    assert tiny.W_E.shape == (c.d_vocab, c.d_model)
    assert tiny.W_U.shape == (c.d_model, c.d_vocab)
    if c.positional == "rotary":
        assert tiny.rotary["rotary_dim"] <= c.d_head and tiny.W_pos is None
    else:
        assert tiny.W_pos.shape[1] == c.d_model and tiny.rotary is None
