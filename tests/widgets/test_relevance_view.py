"""RelevanceView: payloads from real attribution results (binary buffers, shapes, NaN beyond a
generation step's prefix), validation of browser values, the comparison API, figures, and the
token link with the attention views."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from traitlets import TraitError

import interp_widgets as iw
from interp_widgets import attribution as A
from interp_widgets.analysis.attention import patterns
from interp_widgets.widgets import RelevanceView, TokenStrip, link_tokens, payload_to_array, save_html

from tests.conftest import tiny_hf_model

matplotlib.use("Agg")
TEXT = "The quick brown fox jumps over"


@pytest.fixture(scope="module")
def llama(causal_tokenizer):
    return iw.wrap(tiny_hf_model("llama"), causal_tokenizer, name="tiny-llama")


@pytest.fixture(scope="module")
def results(llama):
    gxi = A.gradient_x_input(llama, TEXT, 7)
    ig = A.integrated_gradients(llama, TEXT, 7, steps=4)
    lrp = A.attnlrp(llama, TEXT, 7)
    tr = A.token_relevance(llama, TEXT, 7)
    faith = A.faithfulness(llama, TEXT, {"gxi": gxi, "ig": ig, "lrp": lrp}, 7, replacement="unk")
    return gxi, ig, lrp, tr, faith


def _state_array(view, key):
    payload = view.get_state([key])[key]
    assert isinstance(payload["data"], (bytes, memoryview)) and payload["dtype"] == "float32"
    return payload_to_array(payload)


def test_payload_of_compared_results(llama, results):
    gxi, ig, lrp, tr, faith = results
    view = RelevanceView.from_results([gxi, ig, lrp, tr], faithfulness=faith)
    T = len(gxi.tokens)
    assert view.methods == ["gradient_x_input", "integrated_gradients", "attnlrp", "token_relevance"]
    assert view.tokens == gxi.tokens and view.n_prompt == T and view.targets == [gxi.target]
    scores = _state_array(view, "scores")
    assert scores.shape == (1, 4, T)
    np.testing.assert_array_equal(scores[0, 0], gxi.scores.numpy())
    np.testing.assert_array_equal(scores[0, 2], lrp.input_scores.numpy())
    np.testing.assert_array_equal(scores[0, 3], tr.input_relevance.float().numpy())
    layers = _state_array(view, "layer_scores")
    assert layers.shape == (1, len(lrp.layers), T) and view.layer_names == lrp.layers
    np.testing.assert_array_equal(layers[0], lrp.scores.numpy())
    np.testing.assert_array_equal(_state_array(view, "redistribution"), tr.joint.float().numpy())
    assert view.faith_methods == ["gxi", "ig", "lrp"] and view.faith_measure == "prob"
    np.testing.assert_array_equal(_state_array(view, "faith_morf"), faith.morf.numpy())
    assert _state_array(view, "faith_fractions").shape == (T + 1,)
    assert repr(view) == repr(RelevanceView.from_results([gxi, ig, lrp, tr], faithfulness=faith))
    assert "methods=['gradient_x_input'" in repr(view)


def test_every_result_shows_it(llama, results):
    gxi, ig, lrp, tr, _ = results
    for r in (gxi, lrp, tr, lrp.row(1)):
        view = r.show()
        assert isinstance(view, RelevanceView) and len(view.methods) == 1
    assert tr.show().redistribution.shape == (len(gxi.tokens),) * 2
    assert gxi.show().layer_scores.size == 0 and gxi.show().redistribution.size == 0
    assert gxi.show().figure().axes  # the result's own figure


def test_generation_steps(llama):
    gen_lrp = A.generation_attribution(llama, "The quick", max_new_tokens=3, stop_at_eos=False)
    gen_gxi = A.generation_attribution(llama, "The quick", max_new_tokens=3, method="gradient_x_input",
                                       stop_at_eos=False)
    view = RelevanceView.from_results([gen_lrp, gen_gxi], step=2)
    T = len(gen_lrp.tokens)
    scores = _state_array(view, "scores")
    assert scores.shape == (3, 2, T) and view.step == 2 and view.n_prompt == gen_lrp.n_prompt
    np.testing.assert_array_equal(scores[:, 1], gen_gxi.scores.numpy())
    assert np.isnan(scores[0, :, gen_lrp.n_prompt:]).all() and np.isfinite(scores[2, :, :gen_lrp.n_prompt + 2]).all()
    assert _state_array(view, "layer_scores").shape == (3, len(gen_lrp.layers), T)
    assert view.targets == gen_lrp.targets
    with pytest.raises(TraitError, match=r"step must be in \[0, 3\)"):
        view.step = 3
    assert gen_lrp.show().figure().axes
    with pytest.raises(ValueError, match="same generation"):
        RelevanceView.from_results([gen_lrp, A.generation_attribution(llama, "The", max_new_tokens=3)])


def test_validation_of_browser_values(results):
    gxi, ig, *_ = results
    view = RelevanceView.from_results([gxi, ig])
    T = len(gxi.tokens)
    for key, bad in (("token", T), ("token", -2), ("token", True), ("step", 1), ("step", -1)):
        with pytest.raises(TraitError, match=f"RelevanceView.{key} must be in"):
            view.set_state({key: bad})
    with pytest.raises(TraitError, match="normalize must be one of"):
        view.set_state({"normalize": "max"})
    view.set_state({"token": T - 1, "normalize": "row"})
    assert (view.token, view.normalize) == (T - 1, "row")


def test_bad_input(llama, results):
    gxi, ig, lrp, tr, faith = results
    other = A.gradient_x_input(llama, "A different text", 7)
    with pytest.raises(ValueError, match="attributes other tokens"):
        RelevanceView.from_results([gxi, other])
    with pytest.raises(ValueError, match="at least one attribution result"):
        RelevanceView.from_results([faith])
    with pytest.raises(ValueError, match="scores must have shape"):
        RelevanceView(["a", "b"], ["m"], np.zeros((1, 3)))
    with pytest.raises(ValueError, match="redistribution must have shape"):
        RelevanceView(["a", "b"], ["m"], np.zeros((1, 2)), redistribution=np.zeros((3, 3)))
    with pytest.raises(ValueError, match="cannot share a view"):
        RelevanceView.from_results([gxi, A.generation_attribution(llama, "The", max_new_tokens=1)])


def test_compare(llama, tmp_path):
    cmp = A.compare(llama, TEXT, 7, methods={"gradient_x_input": {}, "integrated_gradients": {"steps": 4},
                                            "attnlrp": {}}, replacement="unk")
    assert cmp.methods == ["gradient_x_input", "integrated_gradients", "attnlrp"]
    direct = A.integrated_gradients(llama, TEXT, 7, steps=4)
    np.testing.assert_array_equal(cmp.scores()[1], direct.scores.numpy())
    np.testing.assert_array_equal(cmp.faithfulness.morf[1].numpy(),
                                  A.faithfulness(llama, TEXT, direct, 7, replacement="unk").morf[0].numpy())
    assert repr(cmp) == repr(cmp)
    assert cmp.figure().axes and cmp.figure(normalize="shared").axes
    view = cmp.show(normalize="row")
    assert view.methods == cmp.methods and view.faith_methods == cmp.methods and view.normalize == "row"
    assert view.figure().axes
    path = save_html(view, tmp_path / "cmp.html")
    assert "relevance_view" in path.read_text(encoding="utf-8")
    with pytest.raises(ValueError, match="unknown method"):
        A.compare(llama, TEXT, 7, methods=["shap"])
    no_faith = A.compare(llama, TEXT, 7, methods=["gradient_x_input"], faithfulness_curves=False)
    assert no_faith.faithfulness is None and no_faith.show().faith_fractions.size == 0


def test_link_tokens(llama, results):
    gxi, ig, *_ = results
    rel = RelevanceView.from_results([gxi, ig])
    att = patterns(llama, TEXT).show()
    strip = TokenStrip(gxi.tokens, gxi.scores, scale="diverging")
    link = iw.link_tokens(rel, att, strip)
    rel.token = 3
    assert att.token == 3 and strip.selected == 3
    att.token = 1
    assert rel.token == 1 and strip.selected == 1
    strip.set_state({"selected": 4})  # as if clicked in the browser
    assert rel.token == 4 and att.token == 4
    assert [(a is rel, na, b, nb) for a, na, b, nb in link.html_links] == [(True, "token", att, "token"),
                                                                          (True, "token", strip, "selected")]
    link.unlink()
    rel.token = 0
    assert att.token == 4
    with pytest.raises(ValueError, match="same tokens"):
        link_tokens(rel, patterns(llama, "Other words").show())
    with pytest.raises(TypeError, match="selected-token trait"):
        link_tokens(rel, object())
    with pytest.raises(ValueError, match="at least two views"):
        link_tokens(rel)
