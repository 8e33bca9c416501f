"""AttentionView: validated traits, slice replies equal the result's values, static export."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch
from traitlets import TraitError

import interp_widgets as iw
from interp_widgets.analysis.attention.patterns import patterns
from interp_widgets.widgets import payload_to_array, to_html


@pytest.fixture(scope="module")
def view(encoder_tokenizer):
    from tests.conftest import tiny_hf_model

    model = iw.wrap(tiny_hf_model("bert"), encoder_tokenizer, name="tiny-bert")
    return patterns(model, "To be, or not to be", pair="that is the question").show()


def test_traits_are_validated(view):
    for name, bad in [("layer", 9), ("head", -1), ("heads", [0, 0]), ("token", 999), ("threshold", 0.0),
                      ("view", "nope"), ("pair_filter", "C>C")]:
        with pytest.raises(TraitError):
            setattr(view, name, bad)


def test_invalid_browser_value_is_reported(view):
    view.set_state({"layer": 42})
    assert "layer" in view.error and view.layer == 0
    view.set_state({"layer": 1})
    assert view.error == "" and view.layer == 1
    view.layer = 0


def test_slice_replies_equal_the_result(view):
    sent = []
    view.send = lambda content, buffers=None: sent.append((content, buffers))
    result = view.result
    view._on_message(view, {"type": "slice", "key": "token:1:2"}, [])
    content, buffers = sent[-1]
    arrays = {n: payload_to_array({**content["arrays"][n], "data": b}) for n, b in zip(content["names"], buffers)}
    np.testing.assert_allclose(arrays["from"], result.patterns[1, :, 2].numpy(), atol=1e-3)
    np.testing.assert_allclose(arrays["to"], result.patterns[1, :, :, 2].numpy(), atol=1e-3)
    T = result.n_tokens
    view._on_message(view, {"type": "slice", "key": f"matrix:0:1:0:{T}:0:{T}"}, [])
    content, buffers = sent[-1]
    values = payload_to_array({**content["arrays"]["values"], "data": buffers[0]})
    np.testing.assert_allclose(values, result.patterns[0, 1].numpy(), atol=1e-3)
    view._on_message(view, {"type": "slice", "key": "qk:1:3"}, [])
    content, buffers = sent[-1]
    q = payload_to_array({**content["arrays"]["q"], "data": buffers[0]})
    np.testing.assert_allclose(q, result.queries[1, :, 3].numpy(), atol=1e-6)
    view._on_message(view, {"type": "slice", "key": "edges:0"}, [])
    content, buffers = sent[-1]
    keys = payload_to_array({**content["arrays"]["key"], "data": buffers[0]})
    assert keys.shape == (view.n_heads, T, min(T, 32))
    view._on_message(view, {"type": "slice", "key": "edges:99"}, [])
    assert "out of range" in sent[-1][0]["error"]
    del view.send


def test_static_page_embeds_slices(view):
    page = to_html(view)
    assert '"static_slices"' in page and "edges:0" in page and "edges:1" in page


def _slices(view, keys):
    return {key: view.slice(key) for key in keys}


@pytest.mark.parametrize("kind", ["gpt2", "llama", "bert"])
def test_lazy_result_recomputes_every_slice_exactly(kind, causal_tokenizer, encoder_tokenizer):
    from tests.conftest import tiny_hf_model

    tok = encoder_tokenizer if kind == "bert" else causal_tokenizer
    model = iw.wrap(tiny_hf_model(kind), tok, name=f"tiny-{kind}")
    text = "To be, or not to be, that is the question"
    stored, lazy = patterns(model, text), patterns(model, text, lazy=True)
    assert lazy.patterns is None and lazy.stored_index == [] and not stored.lazy
    T = stored.n_tokens
    keys = ["edges:1", f"matrix:1:2:0:{T}:0:{T}", "matrix:0:3:2:7:1:5", "token:1:3", "qk:0:1"]
    a, b = _slices(stored.show(), keys), _slices(lazy.show(), keys)
    for key in keys:
        for name in a[key]:
            np.testing.assert_allclose(b[key][name], a[key][name], atol=1e-6, err_msg=f"{key} {name}")
    np.testing.assert_allclose(lazy.entropy().numpy(), stored.entropy().numpy(), atol=1e-6)
    np.testing.assert_allclose(lazy.word_patterns(1).numpy(), stored.word_patterns(1).numpy(), atol=1e-6)
    # overviews recorded during the lazy forward pass = pooled from the stored weights (float16)
    np.testing.assert_allclose(lazy.show().thumbnails, stored.show().thumbnails, atol=1e-3)
    assert lazy.thumbnails is not None and stored.thumbnails is None


def test_lazy_layers_that_do_not_recompute_are_stored(monkeypatch, causal_tokenizer):
    patterns_module = importlib.import_module("interp_widgets.analysis.attention.patterns")
    from tests.conftest import tiny_hf_model

    model = iw.wrap(tiny_hf_model("gpt2"), causal_tokenizer, name="tiny-gpt2")
    stored = patterns(model, "one two three four")
    monkeypatch.setattr(patterns_module, "MATCH_TOLERANCE", -1.0)  # every layer fails the check
    lazy = patterns(model, "one two three four", lazy=True)
    assert lazy.stored_index == [0, 1] and lazy.stored_layers.dtype == torch.float16
    for layer in range(2):
        np.testing.assert_allclose(lazy.pattern(layer).numpy(), stored.patterns[layer].numpy(), atol=1e-3)


def test_4096_tokens_keep_memory_bounded(causal_tokenizer):
    """A long input holds no [layer, head, T, T] tensor; its prefix matches a stored short run
    (causal attention of a prefix does not depend on later tokens)."""
    import transformers

    torch.manual_seed(0)
    config = transformers.GPT2Config(n_layer=2, n_head=2, n_embd=16, n_positions=4096, vocab_size=512,
                                     bos_token_id=5, eos_token_id=5)
    model = iw.wrap(transformers.GPT2LMHeadModel(config).eval(), causal_tokenizer, name="long-gpt2")
    T = 4096
    ids = torch.randint(10, 400, (T,)).tolist()
    result = patterns(model, ids)
    assert result.lazy and result.n_tokens == T and result.stored_index == []
    held = sum(t.numel() * t.element_size() for t in (result.queries, result.keys, result.lse))
    assert held < 2 * 2 * T * T * 4 / 100  # under 1% of the full float32 weights
    prefix = patterns(model, ids[:512])
    assert not prefix.lazy
    for layer in range(2):
        np.testing.assert_allclose(result.pattern(layer, None, slice(0, 512), slice(0, 512)).numpy(),
                                   prefix.patterns[layer].numpy(), atol=1e-5)
    view = result.show()
    assert view.thumbnails.shape == (2, 2, 48, 48)
    edges = view.slice("edges:1")
    assert edges["key"].shape == (2, T, 32)
    np.testing.assert_array_less(edges["coverage"], 1 + 1e-5)
    window = view.slice(f"matrix:0:1:0:{T}:0:{T}")["values"]
    assert window.shape == (512, 512) and np.triu(window, 1).max() == 0  # causal mask, pooled view
    token = view.slice(f"token:1:{T - 1}")
    np.testing.assert_allclose(token["from"].sum(-1), 1.0, atol=1e-4)
    assert token["to"].shape == (2, T)
    page = to_html(view)  # a static page of a long input embeds the current layer only
    assert "edges:0" in page and "edges:1" not in page
