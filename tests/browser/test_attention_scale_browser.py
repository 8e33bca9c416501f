"""AttentionView at scale in headless Chromium: a GPT-2-small-shaped model (12 layers x 12 heads,
random weights, d_head 8) at 1,024 tokens renders and stays interactive, and at 4,096 tokens
(lazy attention) works with the browser's slice cache bounded.

The page is a saved page without embedded slices, so the view fetches every slice it draws as
it would from a kernel; the test answers each request with the widget's own message handler
(``AttentionView._on_message``), the code a live kernel runs.
"""

from __future__ import annotations

import base64
import json
import re
import types

import pytest
import torch

import interp_widgets as iw
from interp_widgets.analysis.attention.patterns import LAZY_TOKENS, patterns
from interp_widgets.widgets import save_html
from interp_widgets.widgets._base import InterpWidget


MAX_CACHE_BYTES = 64 * 1024 * 1024  # js/src/attention/data.ts
LAYERS = HEADS = 12

# Routes the page's slice requests to Python (window.iwKernel) and hands the replies back to the
# view as Jupyter would: a custom message with DataView buffers.
BRIDGE = """() => {
  const model = window.interpWidgets.models[0];
  const toView = (b64) => {
    const s = atob(b64);
    const bytes = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
    return new DataView(bytes.buffer);
  };
  const ask = async (content) => {
    const reply = JSON.parse(await window.iwKernel(JSON.stringify(content)));
    model.emit("msg:custom", reply.content, reply.buffers.map(toView));
  };
  model.send = (content) => { model.sent.push(content); void ask(content); };
  for (const content of model.sent) void ask(content);
}"""


class Kernel:
    """Answers the page's slice requests with the view's message handler; records the keys."""

    def __init__(self, view) -> None:
        self.view, self.keys, self.replies = view, [], []
        view.send = lambda content, buffers=None: self.replies.append((content, buffers or []))

    def answer(self, message: str) -> str:
        content = json.loads(message)
        self.keys.append(content.get("key"))
        self.view._on_message(self.view, content, [])
        reply, buffers = self.replies.pop()
        return json.dumps({"content": reply, "buffers": [base64.b64encode(bytes(b)).decode() for b in buffers]})


@pytest.fixture(scope="module")
def gpt2_small_shape(causal_tokenizer):
    import transformers

    torch.manual_seed(0)
    config = transformers.GPT2Config(n_layer=LAYERS, n_head=HEADS, n_embd=HEADS * 8, n_positions=4096,
                                     vocab_size=512, bos_token_id=5, eos_token_id=5)
    return iw.wrap(transformers.GPT2LMHeadModel(config).eval(), causal_tokenizer, name="gpt2-small-shape")


def _live_page(probe, view, tmp_path) -> Kernel:
    view.view_state_keys = types.MethodType(InterpWidget.view_state_keys, view)  # embed no slices
    path = save_html(view, tmp_path / "scale.html")
    assert "static_slices" not in path.read_text(encoding="utf-8")
    kernel = Kernel(view)
    probe.page.expose_function("iwKernel", kernel.answer)
    probe.page.set_default_timeout(60_000)
    probe.open(path)
    probe.page.evaluate(BRIDGE)
    return kernel


def _drawn(page, note: str) -> None:
    """Waits until the view's note starts with ``note`` (the view has been redrawn)."""
    page.wait_for_function(f"(document.querySelector('.iw-attn-note') || {{}}).textContent?.startsWith({note!r})")


def _select_layer(page, layer: int) -> None:
    page.select_option('select[name="layer"]', str(layer))
    _drawn(page, f"Layer {layer}:")


def test_1024_tokens_render_and_stay_interactive(probe, gpt2_small_shape, tmp_path):
    T = LAZY_TOKENS
    ids = torch.randint(10, 400, (T,), generator=torch.Generator().manual_seed(1)).tolist()
    view = patterns(gpt2_small_shape, ids).show()
    assert (view.n_layers, view.n_heads, len(view.tokens)) == (LAYERS, HEADS, T)
    kernel = _live_page(probe, view, tmp_path)
    page = probe.page
    _drawn(page, "Layer 0:")
    canvas = ".iw-head-canvas"
    assert int(page.get_attribute(canvas, "data-units")) == T
    assert probe.ink(canvas) > 200
    assert page.locator(".iw-attn-head").count() == HEADS
    _select_layer(page, 7)
    assert probe.model_get(0, "layer") == 7 and "edges:7" in kernel.keys
    edges_all = int(page.get_attribute(canvas, "data-edges"))
    page.dblclick('.iw-attn-head[data-head="3"]')
    page.wait_for_function(f"Number(document.querySelector('{canvas}').dataset.edges) < {edges_all}")
    assert probe.model_get(0, "heads") == [3]
    # hover a query token: only its lines stay (the canvas repaints in place)
    before = probe.ink(canvas)
    box = page.locator(canvas).bounding_box()
    page.mouse.move(box["x"] + 60, box["y"] + 4 + 16 * 5 + 8)
    page.wait_for_function(f"document.querySelector('{canvas}').dataset.hover === '5'")
    assert page.locator(".iw-tooltip").inner_text().startswith("#5 ")
    assert probe.ink(canvas) < before
    page.select_option('select[name="head"]', "3")
    page.click('.iw-attn-tab[data-view="heatmap"]')
    page.wait_for_selector(".iw-heatmap-canvas")
    assert probe.ink(".iw-heatmap-canvas") > 200
    assert any(k.startswith("matrix:7:3:") for k in kernel.keys)
    assert probe.errors == [] and probe.blocked == []


def test_4096_tokens_lazy_with_bounded_slice_cache(probe, gpt2_small_shape, tmp_path):
    T = 4096
    ids = torch.randint(10, 400, (T,), generator=torch.Generator().manual_seed(2)).tolist()
    result = patterns(gpt2_small_shape, ids)
    assert result.lazy and result.patterns is None
    view = result.show()
    kernel = _live_page(probe, view, tmp_path)
    page = probe.page
    _drawn(page, "Layer 0:")
    assert int(page.get_attribute(".iw-head-canvas", "data-units")) == T
    assert probe.ink(".iw-head-canvas") > 200
    one = int(page.get_attribute(".iw-attention", "data-slice-bytes"))  # one layer's edges, decoded
    layers = list(range(1, 1 + MAX_CACHE_BYTES // one))  # with layer 0: more than the cache holds
    held = []
    for layer in layers:
        _select_layer(page, layer)
        held.append(int(page.get_attribute(".iw-attention", "data-slice-bytes")))
    assert one * (len(layers) + 1) > MAX_CACHE_BYTES >= max(held)
    _select_layer(page, 0)  # the least recently used slice was evicted: it is fetched again
    assert kernel.keys.count("edges:0") == 2
    assert int(page.get_attribute(".iw-attention", "data-slice-bytes")) <= MAX_CACHE_BYTES
    assert re.match(r"Layer 0: \d+ edges", page.inner_text(".iw-attn-note"))
    assert probe.errors == [] and probe.blocked == []
