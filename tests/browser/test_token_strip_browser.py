"""TokenStrip rendered by the standalone host in headless Chromium, from a save_html page."""

from __future__ import annotations

import io

import numpy as np
from matplotlib import image as mpimg

from interp_widgets.widgets import TokenStrip, save_html

HOSTILE = [
    "<img src=x onerror=\"window.__pwned='img';alert(1)\">",
    "</script><script>window.__pwned='script';alert(2)</script>",
    "<!--",
    "\u202eevil",
    " \u05e9\u05dc\u05d5\u05dd",
    "e\u0301",
    "\u0301",
    "\u65e5\u672c\u8a9e",
    "\n",
    "",
]
SHOWN = [
    HOSTILE[0],
    HOSTILE[1],
    "<!--",
    "\u202eevil",
    "\u2423\u05e9\u05dc\u05d5\u05dd",
    "e\u0301",
    "\u25cc\u0301",
    "\u65e5\u672c\u8a9e",
    "\u21b5",
    "\u2205",
]


def _strip_png_pixels(probe) -> np.ndarray:
    png = probe.page.locator(".iw-strip").screenshot()
    return mpimg.imread(io.BytesIO(png), format="png")[..., :3]


def test_renders_one_coloured_element_per_token(probe, tmp_path):
    tokens = ["The", " quick", " brown", " fox", " jumps"]
    strip = TokenStrip(tokens, [0.0, 0.25, 0.5, 0.75, 1.0], label="p")
    probe.open(save_html(strip, tmp_path / "strip.html"))
    spans = probe.page.locator(".iw-token")
    assert spans.count() == 5
    assert spans.all_text_contents() == ["The", "\u2423quick", "\u2423brown", "\u2423fox", "\u2423jumps"]
    colours = probe.page.eval_on_selector_all(".iw-token", "els => els.map(e => getComputedStyle(e).backgroundColor)")
    assert len(set(colours)) == 5 and "rgba(0, 0, 0, 0)" not in colours
    pixels = _strip_png_pixels(probe)
    assert pixels.std() > 0.05, "the strip rendered blank"
    dark_blue = np.all(np.abs(pixels - np.array([13, 53, 103]) / 255) < 0.05, axis=-1)
    assert dark_blue.sum() > 50, "the highest value's colour is not on screen"
    assert probe.errors == [] and probe.console_errors == [] and probe.blocked == []


def test_click_sets_selected_in_the_host(probe, tmp_path):
    strip = TokenStrip(["a", "b", "c"], [1.0, 2.0, 3.0])
    probe.open(save_html(strip, tmp_path / "click.html"))
    probe.page.locator(".iw-token").nth(2).click()
    assert probe.model_get(0, "selected") == 2
    assert probe.page.evaluate("window.interpWidgets.models[0].saveCount") == 1
    assert probe.page.locator(".iw-token.iw-selected").all_text_contents() == ["c"]
    probe.page.locator(".iw-token").nth(2).click()
    assert probe.model_get(0, "selected") == -1
    assert probe.page.locator(".iw-token.iw-selected").count() == 0


def test_hover_shows_token_and_value(probe, tmp_path):
    strip = TokenStrip(["x", " y"], [0.125, -2.5], scale="diverging", label="relevance")
    probe.open(save_html(strip, tmp_path / "hover.html"))
    probe.page.locator(".iw-token").nth(1).hover()
    tooltip = probe.page.locator(".iw-tooltip")
    assert tooltip.is_visible()
    assert tooltip.inner_text().splitlines() == ['#1 " y"', "relevance: -2.5"]


def test_hostile_token_text_renders_as_text(probe, tmp_path):
    strip = TokenStrip(HOSTILE, np.linspace(-1, 1, len(HOSTILE)), scale="diverging")
    probe.open(save_html(strip, tmp_path / "hostile.html"))
    probe.page.locator(".iw-token").first.hover()
    probe.page.wait_for_timeout(300)
    assert probe.page.locator(".iw-token").all_text_contents() == SHOWN
    assert probe.page.evaluate("document.querySelectorAll('img, iframe, object, embed').length") == 0
    assert probe.page.evaluate("document.scripts.length") == 2
    assert probe.page.evaluate("window.__pwned === undefined")
    assert probe.dialogs == []
    assert probe.errors == [] and probe.blocked == []
    assert probe.page.locator(".iw-tooltip").inner_text().startswith("#0 ")


def test_linked_strips_follow_each_other(probe, tmp_path):
    a = TokenStrip(["one", "two", "three"], [1.0, 2.0, 3.0])
    b = TokenStrip(["uno", "dos", "tres"], [3.0, 2.0, 1.0])
    path = save_html([a, b], tmp_path / "linked.html", links=[(a, "selected", b, "selected")])
    probe.open(path)
    probe.page.locator("[data-iw-root='0'] .iw-token").nth(1).click()
    assert probe.model_get(1, "selected") == 1
    assert probe.page.locator("[data-iw-root='1'] .iw-token.iw-selected").all_text_contents() == ["dos"]
