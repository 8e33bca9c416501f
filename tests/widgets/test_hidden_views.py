"""Views of the hidden-state results: binary payloads equal to the results, validated state with
the refusal explained in ``error``, the click -> attribution round trip, and static export."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from traitlets import TraitError

import interp_widgets as iw
from interp_widgets.attribution import Target, attnlrp, gradient_x_input
from interp_widgets.hidden import activation_patching, generate, logit_diff, logit_lens
from interp_widgets.widgets import GenerationView, LogitLensView, PatchingView, payload_to_array, to_html
from interp_widgets.widgets.generation_view import step_attribution

TEXT = "To be, or not to be, that is the"
CORRUPTED = "To be, or not to be, not is the"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(scope="module")
def llama(causal_tokenizer):
    from tests.conftest import tiny_hf_model

    return iw.wrap(tiny_hf_model("llama"), causal_tokenizer, name="tiny-llama")


@pytest.fixture(scope="module")
def shipped():
    """The shipped tiny-llama: its tokenizer covers every id it can generate."""
    return iw.load("tiny-llama")


@pytest.fixture(scope="module")
def generation(shipped):
    return generate(shipped, "To be, or not to be,", max_new_tokens=5, k=4, stop_at_eos=False)


def _wire(view, name):
    """(payload, array) as the browser receives the trait: a binary buffer with dtype and shape."""
    trait = view.traits()[name]
    payload = trait._to_json(getattr(view, name), view)
    assert isinstance(payload["data"], bytes) and payload["dtype"] == "float32"
    return payload, payload_to_array(payload)


def _refused_in_error(view, name, bad, good):
    """A bad browser update leaves the trait as it was and says why in ``error``; a good one clears it."""
    before = getattr(view, name)
    with pytest.raises(TraitError):
        setattr(view, name, bad)
    view.set_state({name: bad})
    assert getattr(view, name) == before
    assert f"{type(view).__name__}.{name}" in view.error and repr(bad) in view.error
    view.set_state({name: good})
    assert getattr(view, name) == good and view.error == ""


def test_logit_lens_view_payload_and_position(llama):
    result = logit_lens(llama, TEXT, k=3, watch=[" be", 7])
    view = result.show()
    assert isinstance(view, LogitLensView)
    S, P = len(result.stages), len(result.tokens)
    payload, probs = _wire(view, "topk_probs")
    assert payload["shape"] == [S, P, 3] and len(payload["data"]) == 4 * S * P * 3
    np.testing.assert_allclose(probs, result.topk_probs.numpy(), rtol=1e-6)
    _, index = _wire(view, "topk_index")
    shown = [[[view.vocab[int(i)] for i in cell] for cell in row] for row in index]
    assert shown == result.topk_tokens
    assert len(view.vocab) == len({t for row in result.topk_tokens for cell in row for t in cell})
    np.testing.assert_allclose(_wire(view, "entropy")[1], result.entropy.numpy(), rtol=1e-6)
    np.testing.assert_array_equal(_wire(view, "watch_ranks")[1], result.watch_ranks.numpy())
    np.testing.assert_allclose(_wire(view, "watch_probs")[1], result.watch_probs.numpy(), rtol=1e-6)
    assert view.stages == result.stages and view.watch_tokens == result.watch_tokens
    assert view.depth == [l + {"resid_pre": 0, "resid_mid": 0.5, "resid_post": 1}[p]
                          for l, p in zip(result.layers, result.points)]
    assert view.cell(2, 4) == result.top(2, 4)
    assert view.position == P - 1 and result.show(position=2).position == 2
    _refused_in_error(view, "position", P, 3)
    view.set_state({"position": -1})
    assert view.position == 3 and "[0, " in view.error
    assert repr(view) == repr(result.show(position=3))
    assert WIDGET_MIME in result._repr_mimebundle_()[0]


def test_patching_view_payload_and_kind(llama):
    result = activation_patching(llama, TEXT, CORRUPTED, logit_diff(llama, " the", " a"),
                                 by=["resid_pre", "head_out"], progress=False)
    view = result.show()
    assert isinstance(view, PatchingView)
    L, P, H = llama.cfg.n_layers, len(result.clean_tokens), llama.cfg.n_heads
    payload, scores = _wire(view, "scores")
    assert payload["shape"] == [2, L, max(P, H)]
    assert view.kinds == ["resid_pre", "head_out"] and view.widths == [P, H] and view.axes == ["position", "head"]
    for k, kind in enumerate(view.kinds):
        np.testing.assert_allclose(scores[k, :, : view.widths[k]], result.scores[kind].numpy(), rtol=1e-6)
        assert np.isnan(scores[k, :, view.widths[k]:]).all()
        np.testing.assert_array_equal(view.matrix(kind), scores[k, :, : view.widths[k]])
    assert view.metric == result.metric and view.mode == "denoising" and not result.normalized
    assert (view.clean_score, view.corrupted_score) == (result.clean_score, result.corrupted_score)
    assert view.kind == "resid_pre" and result.show(kind="head_out").kind == "head_out"
    _refused_in_error(view, "kind", "mlp_out", "head_out")
    assert "patched components ['resid_pre', 'head_out']" in (view.set_state({"kind": "nope"}) or view.error)
    with pytest.raises(TypeError, match="ActivationPatching"):
        PatchingView(logit_lens(llama, TEXT))


def test_generation_view_payload(generation):
    view = generation.show()
    assert isinstance(view, GenerationView)
    n, k = len(generation.tokens), 4
    assert view.prompt_tokens == generation.prompt_tokens and view.tokens == generation.tokens
    np.testing.assert_allclose(_wire(view, "probs")[1], generation.probs.numpy(), rtol=1e-6)
    np.testing.assert_allclose(_wire(view, "entropy")[1], generation.entropy.numpy(), rtol=1e-6)
    payload, top = _wire(view, "topk_probs")
    assert payload["shape"] == [n, k]
    np.testing.assert_allclose(top, generation.topk_probs.numpy(), rtol=1e-6)
    _, index = _wire(view, "topk_index")
    assert [[view.vocab[int(i)] for i in row] for row in index] == generation.topk_tokens
    assert view.relevance is None and view.method == ""


def test_generation_click_attributes_the_token_over_its_prefix(shipped, generation):
    view = generation.show(model=shipped)
    assert view.method == "gradient_x_input"
    view.set_state({"selected": 3})  # as a click in the browser sends it
    prefix = torch.cat([generation.prompt_ids, generation.ids[:3]])
    direct = gradient_x_input(shipped, prefix, Target.logit(int(generation.ids[3]), pos=-1))
    assert view.relevance_step == 3 and view.error == ""
    assert view.relevance.shape == (len(generation.prompt_tokens) + 3,)
    np.testing.assert_allclose(view.relevance, direct.scores.numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(_wire(view, "relevance")[1], direct.scores.numpy(), rtol=1e-5, atol=1e-7)
    assert direct.target_value == pytest.approx(float(shipped(prefix)[0, -1, generation.ids[3]]), rel=1e-4)

    _refused_in_error(view, "selected", len(generation.tokens), 0)
    assert view.relevance.shape == (len(generation.prompt_tokens),) and view.relevance_step == 0
    view.set_state({"selected": -2})
    assert view.selected == 0 and "-1 = none" in view.error
    view.selected = -1
    assert view.relevance is None and view.relevance_step == -1

    lrp = generation.show(model=shipped, method="attnlrp")
    lrp.selected = 1
    prefix = torch.cat([generation.prompt_ids, generation.ids[:1]])
    expected = attnlrp(shipped, prefix, Target.logit(int(generation.ids[1]), pos=-1)).input_scores
    np.testing.assert_allclose(lrp.relevance, expected.numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(step_attribution(shipped, generation, 1, "attnlrp").numpy(), lrp.relevance)


def test_generation_view_bad_input(shipped, llama, generation):
    view = generation.show()
    view.selected = 2
    assert "show(model=model)" in view.error and view.relevance is None
    with pytest.raises(ValueError, match="pass the model that generated it"):
        generation.show(model=llama)
    with pytest.raises(ValueError, match="method must be one of"):
        generation.show(model=shipped, method="saliency")
    for step in (len(generation.tokens), -1, True):
        with pytest.raises(ValueError, match=r"step must be an int in \[0, 5\)"):
            step_attribution(shipped, generation, step)


def test_static_html_holds_the_three_views(llama, generation):
    lens = logit_lens(llama, "<b>&</b>", k=2).show()
    page = to_html([lens, generation.show()])
    assert "<b>&" not in page and "logit_lens_view" in page and "generation_view" in page
