"""TokenStrip and the widget base: traitlet validation, binary arrays, repr, HTML export."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pytest
import torch
import traitlets
from traitlets import TraitError

from interp_widgets.widgets import (
    ArrayTrait,
    BundleMissingError,
    InterpWidget,
    TokenStrip,
    array_to_payload,
    payload_to_array,
    to_html,
)
from interp_widgets.widgets import _base

HOSTILE = ["<img src=x onerror=alert(1)>", "</script><script>alert(1)</script>", "<!--", "&amp;"]


# --- binary array payloads ---------------------------------------------------------------


def test_float32_round_trip_is_exact():
    x = np.array([[1.5, -2.25, 3.0], [np.nan, np.inf, 1e-30]], dtype=np.float32)
    payload = array_to_payload(x)
    assert payload["dtype"] == "float32"
    assert payload["shape"] == [2, 3]
    assert isinstance(payload["data"], bytes) and len(payload["data"]) == 24
    assert np.frombuffer(payload["data"], "<f4")[0] == 1.5
    np.testing.assert_array_equal(payload_to_array(payload), x)


def test_float16_round_trip_within_half_precision():
    rng = np.random.default_rng(0)
    x = rng.normal(size=50) * 100
    payload = array_to_payload(x, "float16")
    assert len(payload["data"]) == 100
    np.testing.assert_allclose(payload_to_array(payload), x, rtol=1e-3)
    assert np.isnan(payload_to_array(array_to_payload([np.nan], "float16"))[0])


def test_float16_refuses_values_out_of_range():
    with pytest.raises(ValueError, match="float16 range"):
        array_to_payload([70000.0], "float16")


def test_uint8_quantisation_with_scale_and_offset():
    x = np.linspace(-3.0, 5.0, 101)
    payload = array_to_payload(x, "uint8")
    assert payload["offset"] == -3.0
    assert payload["scale"] == pytest.approx(8.0 / 255)
    assert len(payload["data"]) == 101
    back = payload_to_array(payload)
    assert np.max(np.abs(back - x)) <= payload["scale"] / 2 + 1e-6
    assert back[0] == pytest.approx(-3.0) and back[-1] == pytest.approx(5.0, abs=1e-5)


def test_uint8_constant_and_empty_arrays():
    np.testing.assert_allclose(payload_to_array(array_to_payload([2.0, 2.0], "uint8")), [2.0, 2.0])
    assert payload_to_array(array_to_payload(np.zeros((0, 3)), "uint8")).shape == (0, 3)
    with pytest.raises(ValueError, match="finite"):
        array_to_payload([1.0, np.nan], "uint8")


def test_payload_decoding_rejects_bad_payloads():
    good = array_to_payload([1.0, 2.0])
    with pytest.raises(ValueError, match="needs 3 values, got 2"):
        payload_to_array({**good, "shape": [3]})
    with pytest.raises(ValueError, match="dtype"):
        payload_to_array({**good, "dtype": "int64"})
    with pytest.raises(ValueError, match="'dtype', 'shape' and 'data'"):
        payload_to_array({"shape": [2]})
    with pytest.raises(ValueError, match="wire dtype"):
        array_to_payload([1.0], "float64")


# --- the array traitlet --------------------------------------------------------------------


class _Holder(InterpWidget):
    _bundle = "token_strip"
    vec = ArrayTrait(ndim=1)
    grid = ArrayTrait(shape=(None, 3), wire_dtype="float16")
    small = ArrayTrait(ndim=1, wire_dtype="uint8", allow_none=True)


def test_array_trait_accepts_lists_numpy_and_torch():
    h = _Holder(vec=[1, 2, 3])
    assert h.vec.dtype == np.float32
    h.vec = np.arange(4, dtype=np.float64)
    t = torch.ones(5, requires_grad=True) * 2
    h.vec = t
    np.testing.assert_array_equal(h.vec, np.full(5, 2.0))
    h.vec = torch.tensor([1.0, 2.0], dtype=torch.bfloat16)
    np.testing.assert_array_equal(h.vec, [1.0, 2.0])


def test_array_trait_stores_a_read_only_copy():
    source = np.array([1.0, 2.0])
    h = _Holder(vec=source)
    source[0] = 99
    assert h.vec[0] == 1.0
    with pytest.raises(ValueError):
        h.vec[0] = 5


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("vec", [[1.0, 2.0]], "must be a 1-D array, got shape \\(1, 2\\)"),
        ("vec", ["a", "b"], "must be a real numeric array"),
        ("vec", [1 + 2j], "must be a real numeric array"),
        ("grid", np.zeros((2, 4)), "must have shape \\('any', 3\\), got \\(2, 4\\)"),
        ("small", [1.0, np.nan], "uint8 and must be finite"),
    ],
)
def test_array_trait_rejects_bad_values_clearly(name, value, message):
    h = _Holder()
    with pytest.raises(TraitError, match=message):
        setattr(h, name, value)


def test_array_trait_serialises_with_its_wire_dtype():
    h = _Holder(vec=[1.0, 2.0], grid=np.ones((2, 3)), small=[0.0, 1.0])
    state = h.get_state(["vec", "grid", "small"])
    assert state["vec"]["dtype"] == "float32" and state["vec"]["shape"] == [2]
    assert state["grid"]["dtype"] == "float16" and state["grid"]["shape"] == [2, 3]
    assert state["small"]["dtype"] == "uint8" and "scale" in state["small"]
    h.small = None
    assert h.get_state("small")["small"] is None
    h.set_state({"vec": {"dtype": "float32", "shape": [1], "data": memoryview(np.float32([7]).tobytes())}})
    np.testing.assert_array_equal(h.vec, [7.0])


# --- TokenStrip ----------------------------------------------------------------------------


def test_token_strip_state_and_defaults():
    w = TokenStrip(["The", " cat", " sat"], [0.1, 0.5, 0.9])
    assert w.scale == "sequential" and w.selected == -1 and w.label == "value"
    assert w.view_state_keys() == ["label", "scale", "selected", "tokens", "values"]
    state = w.get_state(w.view_state_keys())
    assert state["tokens"] == ["The", " cat", " sat"]
    np.testing.assert_allclose(payload_to_array(state["values"]), [0.1, 0.5, 0.9], rtol=1e-6)


def test_token_strip_needs_one_value_per_token():
    with pytest.raises(TraitError, match="got 2 tokens and 3 values"):
        TokenStrip(["a", "b"], [1.0, 2.0, 3.0])
    w = TokenStrip(["a", "b"], [1.0, 2.0])
    with pytest.raises(TraitError, match="strip.update"):
        w.tokens = ["a", "b", "c"]
    assert w.tokens == ["a", "b"]


def test_token_strip_update_changes_both_and_resets_selection():
    w = TokenStrip(["a", "b", "c"], [1.0, 2.0, 3.0], selected=2)
    w.update(["x"], [5.0])
    assert w.tokens == ["x"] and w.values.tolist() == [5.0] and w.selected == -1
    with pytest.raises(TraitError):
        w.update(["x", "y"], [1.0])
    assert w.tokens == ["x"]


def test_token_strip_rejects_bad_scale_and_values():
    with pytest.raises(TraitError):
        TokenStrip(["a"], [1.0], scale="rainbow")
    with pytest.raises(TraitError, match="1-D"):
        TokenStrip(["a"], [[1.0]])


@pytest.mark.parametrize("bad", [3, 7, -2, True])
def test_selected_out_of_range_is_a_clear_trait_error(bad):
    w = TokenStrip(["a", "b", "c"], [1.0, 2.0, 3.0])
    with pytest.raises(TraitError, match=r"must be in \[-1, 3\) \(a token index"):
        w.selected = bad
    assert w.selected == -1


def test_selected_from_the_browser_is_validated_and_corrected(monkeypatch):
    w = TokenStrip(["a", "b", "c"], [1.0, 2.0, 3.0])
    sent = []
    monkeypatch.setattr(w, "send_state", lambda key=None: sent.append(key))
    w.set_state({"selected": 1})
    assert w.selected == 1
    with pytest.raises(TraitError, match=r"\[-1, 3\)"):
        w.set_state({"selected": 5})
    assert w.selected == 1
    assert sent == [["selected"]]
    with pytest.raises(TraitError):
        w.set_state({"selected": "2"})


def test_repr_is_deterministic_text():
    w = TokenStrip(["The", " cat", "\n"], [0.25, -1.0, 3.0], scale="diverging", selected=1)
    expected = (
        "TokenStrip(n_tokens=3, scale='diverging', values=[-1, 3], selected=1, tokens=['The', ' cat', '\\n'])"
    )
    assert repr(w) == expected
    assert repr(TokenStrip(["a", "b", "c"], [1.0, 2.0, 3.0])) == repr(TokenStrip(["a", "b", "c"], [1.0, 2.0, 3.0]))
    long = TokenStrip([str(i) for i in range(20)], np.zeros(20))
    assert repr(long).endswith("'6', '7', ...])")
    assert "values=[]" in repr(TokenStrip([], []))
    data, _ = w._repr_mimebundle_()
    assert data["text/plain"] == expected


def test_missing_bundle_says_how_to_build(monkeypatch, tmp_path):
    monkeypatch.setattr(_base, "STATIC_DIR", tmp_path)
    with pytest.raises(BundleMissingError, match="npm ci && npm run build"):
        TokenStrip(["a"], [1.0])


def test_the_bundle_is_self_contained():
    source = _base.read_bundle("token_strip")
    assert "export" in source and "render" in source
    assert not re.search(r"""\bimport\s*["'{*]|from\s*["']|https?://""", source)


# --- static HTML export (browser rendering is in tests/browser) ------------------------------


def _payload(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="iw-payload">(.*?)</script>', page, re.S)
    assert m, "payload element missing"
    return json.loads(m.group(1))


def test_html_keeps_hostile_token_text_inert():
    w = TokenStrip(HOSTILE, [1.0, 2.0, 3.0, 4.0])
    page = to_html(w, title="<b>t</b>")
    assert page.count("</script>") == 2
    assert "<img" not in page and "<!--" not in page and "<b>" not in page
    assert "<title>&lt;b&gt;t&lt;/b&gt;</title>" in page
    assert _payload(page)["widgets"][0]["state"]["tokens"] == HOSTILE


def test_html_payload_round_trips_state_and_buffers():
    a = TokenStrip(["x", "y"], [0.5, -1.5], scale="diverging")
    b = TokenStrip(["z"], [2.0])
    payload = _payload(to_html([a, b], links=[(a, "selected", b, "selected")]))
    assert list(payload["modules"]) == ["token_strip"]
    assert base64.b64decode(payload["modules"]["token_strip"]).decode() == a._esm
    assert "mount" in base64.b64decode(payload["host"]).decode()
    first = payload["widgets"][0]
    assert first["state"]["scale"] == "diverging"
    assert "data" not in first["state"]["values"]
    (buffer,) = first["buffers"]
    assert buffer["path"] == ["values", "data"]
    np.testing.assert_array_equal(np.frombuffer(base64.b64decode(buffer["data"]), "<f4"), [0.5, -1.5])
    assert payload["links"] == [[[0, "selected"], [1, "selected"]]]
    assert to_html([a, b]) == to_html([a, b])


def test_html_refuses_foreign_widgets_and_links():
    a = TokenStrip(["x"], [1.0])
    with pytest.raises(TypeError, match="interp_widgets views"):
        to_html([object()])
    with pytest.raises(ValueError, match="not among the widgets"):
        to_html([a], links=[(a, "selected", TokenStrip(["y"], [1.0]), "selected")])


class _WithFloat(InterpWidget):
    _bundle = "token_strip"
    x = traitlets.Float(float("nan")).tag(sync=True)


def test_html_refuses_nan_outside_array_traits():
    with pytest.raises(ValueError, match="outside an array trait"):
        to_html(_WithFloat())
