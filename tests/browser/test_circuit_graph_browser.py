"""CircuitGraphView in headless Chromium: a saved page draws every node and link, a click selects
a node and lists its inputs and outputs sorted by weight, pins / labels / supernodes change the
page's state and reach the exported JSON, kernel-only controls are disabled; in a live JupyterLab
a click reaches Python, the threshold slider re-prunes in the kernel and the intervention
control runs graph.intervene."""

from __future__ import annotations

import json

from interp_widgets.widgets import CircuitGraphView, save_html
from tests.widgets.test_circuit_graph_view import graph_json

HOSTILE = "<img src=x onerror=alert(1)>"


def _rows(page, selector):
    return page.eval_on_selector_all(f"{selector} .iw-cg-conn-row", "rows => rows.map(r => r.dataset.nodeId)")


def test_static_page_draws_selects_and_exports(probe, tmp_path):
    data = graph_json()
    data["metadata"]["prompt_tokens"][2] = HOSTILE
    details = {"1_7_2": {"top_logits": [[HOSTILE, 2.5]], "bottom_logits": [[" dog", -1.0]],
                         "top_contexts": [{"tokens": ["a", HOSTILE], "values": [0.0, 3.0], "max": 3.0}]}}
    view = CircuitGraphView(data, details=details)
    path = save_html(view, tmp_path / "graph.html")
    assert "<img src=x" not in path.read_text(encoding="utf-8")
    probe.open(path)
    page = probe.page
    page.wait_for_selector(".iw-cg-svg")
    assert page.locator(".iw-cg-svg .iw-cg-node").count() == 9
    assert page.get_attribute(".iw-cg-svg", "data-nodes") == "9"
    assert page.locator(".iw-cg-svg .iw-cg-link").count() == 10
    assert page.locator('.iw-cg-node[data-kind="logit"]').count() == 2

    node = page.locator('.iw-cg-node[data-node-id="1_7_2"]')
    node.hover()
    assert "feature 7" in page.locator(".iw-tooltip").inner_text()
    node.click()
    assert probe.model_get(0, "selected") == "1_7_2"
    assert page.get_attribute(".iw-cg-svg", "data-selected") == "1_7_2"
    assert _rows(page, ".iw-cg-inputs") == ["0_5_1", "0_1_2", "0_9_2"]  # |w| 2.0, 0.5, 0.3
    assert _rows(page, ".iw-cg-outputs") == ["3_20_2", "3_21_2"]  # 1.8, -0.9
    assert page.locator(".iw-cg-svg .iw-cg-hi").count() == 5
    assert HOSTILE in page.locator(".iw-cg-details").inner_text()
    assert page.locator(".iw-cg-run").is_disabled()
    assert page.locator('input[name="node_threshold"]').is_disabled()
    assert "static page" in page.locator(".iw-cg-static-note").inner_text()

    page.select_option('select[name="link_type"]', "input")
    assert probe.model_get(0, "link_type") == "input"
    assert page.locator(".iw-cg-outputs").count() == 0 and page.locator(".iw-cg-svg .iw-cg-hi").count() == 3
    page.locator('.iw-cg-inputs .iw-cg-conn-row[data-node-id="0_5_1"]').click()
    assert probe.model_get(0, "selected") == "0_5_1"

    page.fill(".iw-cg-label-input", "says cat")
    page.press(".iw-cg-label-input", "Enter")
    assert probe.model_get(0, "labels") == {"0_5_1": "says cat"}
    page.click(".iw-cg-pin")
    assert probe.model_get(0, "pinned") == ["1_7_2", "0_5_1"]
    assert page.locator(".iw-cg-subgraph-svg .iw-cg-sub-item").count() == 2
    page.locator('.iw-cg-node[data-node-id="0_9_2"]').click(modifiers=["Shift"])
    page.locator('.iw-cg-node[data-node-id="0_1_2"]').click(modifiers=["Shift"])
    page.fill('input[name="supernode_name"]', "side")
    page.click(".iw-cg-group")
    assert probe.model_get(0, "supernodes") == [["side", "0_9_2", "0_1_2"]]
    assert page.locator(".iw-cg-subgraph-svg .iw-cg-sub-item").count() == 3

    with page.expect_download() as info:
        page.click(".iw-cg-export-json")
    exported = json.loads(open(info.value.path(), encoding="utf-8").read())
    assert exported["qParams"]["pinnedIds"] == ["1_7_2", "0_5_1"]
    assert exported["qParams"]["supernodes"] == [["side", "0_9_2", "0_1_2"]]
    assert next(n for n in exported["nodes"] if n["node_id"] == "0_5_1")["clerp"] == "says cat"
    assert len(exported["links"]) == 10
    with page.expect_download() as info:
        page.get_by_role("button", name="SVG").click()
    assert open(info.value.path(), encoding="utf-8").read().count("data-node-id") == 9
    with page.expect_download() as info:
        page.get_by_role("button", name="PNG").click()
    assert open(info.value.path(), "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert page.locator(".iw-circuit-graph img, .iw-circuit-graph script").count() == 0
    assert probe.dialogs == [] and probe.errors == [] and probe.blocked == []


SETUP = """\
import sys; sys.path.insert(0, {root!r})
from tests.widgets.test_circuit_graph_view import JsonGraph, graph_json
from interp_widgets.widgets import CircuitGraphView
full = JsonGraph(graph_json())
view = CircuitGraphView.from_graph(full)
view"""


def test_live_click_selects_in_python_and_slider_re_prunes(probe, jupyter_lab):
    import interp_widgets

    root = str(interp_widgets.__file__).rsplit("/interp_widgets/", 1)[0]
    page = probe.page
    jupyter_lab.open_notebook(page, "graph.ipynb", [
        SETUP.format(root=root),
        'print("STATE", view.selected, len(view.node_ids), full.prune_calls[-1], full.intervene_calls)'])
    jupyter_lab.run_until(page, 0, ".iw-cg-svg")
    assert page.locator(".iw-cg-svg .iw-cg-node").count() == 9
    assert page.locator('input[name="node_threshold"]').is_enabled()
    page.locator('.iw-cg-node[data-node-id="0_5_1"]').click()
    page.wait_for_function("document.querySelector('.iw-cg-svg')?.dataset.selected === '0_5_1'")
    page.eval_on_selector('input[name="node_threshold"]',
                          "el => { el.value = '0.5'; el.dispatchEvent(new Event('change')); }")
    # influence 0.75 (0_9_2) and 0.6 (0_1_2) are above 0.5: the kernel's prune drops them
    page.wait_for_function("document.querySelector('.iw-cg-svg')?.dataset.nodes === '7'")
    assert page.locator(".iw-cg-svg .iw-cg-node").count() == 7
    page.fill('input[name="scale"]', "2")
    page.click(".iw-cg-run")
    page.locator(".iw-cg-intervention-result").wait_for()
    jupyter_lab.run_cell(page, 1)
    out = page.locator(".jp-OutputArea-output", has_text="STATE")
    out.wait_for()
    assert out.inner_text().strip() == "STATE 0_5_1 7 (0.5, 0.98) [{'0_5_1': 2.0}]"
    assert probe.dialogs == [] and probe.errors == []
