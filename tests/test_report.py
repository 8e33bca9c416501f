"""The README's main job: a headless, self-contained HTML report on the shipped models."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys

import pytest
import torch
import transformers

import interp_widgets as iw
from interp_widgets.catalog import LEVELS
from interp_widgets.model.loading import SHIPPED, SHIPPED_DIR
from interp_widgets.report import write_report


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_loads_through_the_same_path_as_plain_transformers(name):
    m = iw.load(name)
    folder = SHIPPED_DIR / name
    auto = transformers.AutoModelForMaskedLM if name == "tiny-bert" else transformers.AutoModelForCausalLM
    plain = auto.from_pretrained(folder).eval()
    text = "Shall I compare thee to a summer's day?"
    with torch.no_grad():
        expected = plain(**transformers.AutoTokenizer.from_pretrained(folder)(text, return_tensors="pt")).logits
    torch.testing.assert_close(m(text), expected, atol=1e-5, rtol=0)


# the views each level must embed (class names), in page order within the level
VIEWS = {
    1: ["PositionalExplorer", "RelevanceView"],
    2: ["PatchingView", "RelevanceView", "BrainAlignmentView", "CircuitGraphView"],
    3: ["AttentionView", "HeadStatsView", "NormView", "FlowView", "MassiveView"],
    4: ["LogitLensView", "NeuronFactorView", "NeighborView"],
    5: ["GenerationView", "RelevanceView", "ModelMapView", "OpinionView", "CompassView", "BatteryView"],
}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    out, figures = folder / "report.html", folder / "figures"
    done = subprocess.run([sys.executable, "-m", "interp_widgets", "report", "--out", str(out), "--figures",
                           str(figures)], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    return out.read_text(encoding="utf-8"), figures


def _sections(page: str) -> dict[int, str]:
    found = re.findall(r'<section class="level" id="level-(\d)" data-level="\d">(.*?)</section>', page, re.S)
    return {int(level): body for level, body in found}


def test_report_has_one_section_per_level_with_its_views_and_figures(report):
    page, _ = report
    sections = _sections(page)
    assert sorted(sections) == sorted(LEVELS)
    for level, body in sections.items():
        assert f"<h2>{level}. {LEVELS[level].capitalize()}</h2>" in body
        views = re.findall(r'data-iw-root="\d+" data-view="(\w+)"', body)
        assert views == VIEWS[level], (level, views)
        items = body.count('class="iw-item"')
        assert items >= len(views) and body.count('<img class="iw-figure"') == items  # every item has a figure
    for name in iw.shipped_models():  # the overview of the shipped models
        assert f"<td>{name}</td>" in page


def test_report_payload_holds_every_view_in_page_order(report):
    page, _ = report
    roots = [int(i) for i in re.findall(r'data-iw-root="(\d+)"', page)]
    assert roots == list(range(sum(map(len, VIEWS.values()))))
    text = re.search(r'<script type="application/json" id="iw-payload">(.*?)</script>', page, re.S).group(1)
    assert "<" not in text  # nothing inside the payload can close its element
    payload = json.loads(text)
    assert len(payload["widgets"]) == len(roots)
    assert set(w["module"] for w in payload["widgets"]) == set(payload["modules"])


def test_report_is_offline(report):
    page, _ = report
    assert not re.search(r"""(src|href|action)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert not re.search(r"url\(\s*[\"']?\s*(https?:)?//|@import", page, re.I)
    payload = json.loads(re.search(r'id="iw-payload">(.*?)</script>', page, re.S).group(1))
    for source in [payload["host"], *payload["modules"].values()]:
        js = base64.b64decode(source).decode("utf-8")
        # no module, script, stylesheet or fetch from the network (SVG namespace strings are not loads)
        assert not re.search(r"""(import\s*\(?|from|fetch\(|\.src\s*=)\s*["'`]https?:""", js)


def test_report_writes_every_figure_as_pdf_and_png(report):
    page, figures = report
    stems = re.findall(r'<div class="iw-item" data-item="([\w-]+)">', page)
    assert len(stems) == len(set(stems)) >= 20
    for stem in stems:
        assert (figures / f"{stem}.pdf").read_bytes()[:5] == b"%PDF-"
        assert (figures / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.stem for p in figures.glob("*.pdf")) == sorted(stems)


def test_report_refuses_a_masked_model_and_says_what_to_use(tmp_path):
    with pytest.raises(ValueError, match="not a causal language model.*--model tiny-llama"):
        write_report(tmp_path / "r.html", model="tiny-bert")
    assert not (tmp_path / "r.html").exists()
