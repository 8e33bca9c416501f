"""AttentionView: validated traits, slice replies equal the result's values, static export."""

from __future__ import annotations

import numpy as np
import pytest
from traitlets import TraitError

import interp_widgets as iw
from interp_widgets.analysis.attention.patterns import patterns
from interp_widgets.widgets import payload_to_array, to_html
from interp_widgets.widgets.attention import AttentionView


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
