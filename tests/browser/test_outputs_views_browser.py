"""Views of the output-analysis results in headless Chromium, from static pages: the model map
(one point per model, metadata on hover, two clicks select a pair whose KL and most different
texts are listed), the compass (points, arrows, answers on hover, a click lists them), the opinion view (bars per
question, representativeness heat map whose click picks the human group, steering comparison and its table), the
representativeness view and the battery view (answer grid, consistency summary, scaling curve)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from interp_widgets.outputs import battery as bt
from interp_widgets.outputs import compass as cp
from interp_widgets.outputs import model_map
from interp_widgets.outputs import opinions as op
from tests.outputs.test_compass import stance_scorer
from tests.outputs.test_battery import content_scorer
from tests.outputs.test_opinions import _question_of, scorer_from

from .test_analysis_views_browser import _clean, _open

HOSTILE = "<img src=x onerror=alert(1)> </script> e\u0301"


def _point(page, selector, index):
    positions = {i: (x, y) for i, x, y in json.loads(page.get_attribute(selector, "data-positions"))}
    box = page.locator(selector).bounding_box()
    x, y = positions[index]
    return box["x"] + x, box["y"] + y


def test_model_map_static(probe, tmp_path):
    L = np.random.default_rng(1).normal(-40.0, 4.0, size=(5, 8))
    names = ["m0", "m1", HOSTILE, "m3", "m4"]
    result = model_map(L, method="pca", names=names, families=["x", "x", "y", "y", "z"])
    texts = [f"text {n} {HOSTILE}" for n in range(8)]
    page = _open(probe, result.show(texts=texts, top=3), tmp_path, ".iw-model-map canvas")
    assert page.get_attribute(".iw-mm-canvas", "data-points") == "5"
    assert probe.ink(".iw-mm-canvas") > 200
    page.mouse.move(*_point(page, ".iw-mm-canvas", 2))
    tip = page.locator(".iw-tooltip").inner_text().split("\n")
    assert tip[0] == HOSTILE and tip[1] == "family: y" and tip[2].startswith("nearest: ")
    page.mouse.click(*_point(page, ".iw-mm-canvas", 2))
    assert probe.model_get(0, "selected") == []
    page.mouse.click(*_point(page, ".iw-mm-canvas", 4))
    assert probe.model_get(0, "selected") == [HOSTILE, "m4"]
    kl = page.locator(".iw-mm-kl").inner_text()
    assert kl.startswith(f"{HOSTILE} vs m4: estimated KL") and "nats per text" in kl
    rows = page.locator(".iw-mm-row")
    assert rows.count() == 3
    q = result.q.numpy()
    top = int(np.argmax(np.abs(q[2] - q[4])))
    assert rows.nth(0).locator(".iw-mm-text").inner_text() == texts[top]
    assert page.get_attribute(".iw-mm-canvas", "data-selected") == "2,4"
    _clean(probe)


def test_compass_static(probe, tmp_path):
    scorers = [stance_scorer(lambda p, a=a: a, name=name) for name, a in (("base", 0.9), (HOSTILE, 0.2))]
    result = cp.political_compass(scorers, compare="sequence")
    page = _open(probe, result.show(), tmp_path, ".iw-compass canvas")
    assert page.get_attribute(".iw-cp-canvas", "data-points") == "2"
    assert page.get_attribute(".iw-cp-canvas", "data-arrows") == "1"
    assert probe.ink(".iw-cp-canvas") > 500
    positions = json.loads(page.get_attribute(".iw-cp-canvas", "data-positions"))
    for (i, px, py), (x, y) in zip(positions, result.coords.tolist()):
        # plot square 380 px from (40, 20), both axes over [-10, 10]
        assert abs(px - (40 + (x + 10) / 20 * 380)) <= 1 and abs(py - (20 + (10 - y) / 20 * 380)) <= 1
    page.mouse.move(*_point(page, ".iw-cp-canvas", 1))
    tip = page.locator(".iw-tooltip").inner_text().split("\n")
    assert tip[0] == HOSTILE and tip[1].startswith("economic ") and len(tip) == 2 + len(result.statement_ids)
    assert tip[2] == f"{result.statement_ids[0]}: strongly disagree (p agree 0.2)"
    page.mouse.click(*_point(page, ".iw-cp-canvas", 1))
    assert probe.model_get(0, "selected") == HOSTILE
    assert page.locator(".iw-cp-row").count() == len(result.statement_ids)
    _clean(probe)


def test_opinion_view_static(probe, tmp_path):
    questions = op.example_questions()
    human = op.example_human_distributions(questions)
    result = op.opinion_distributions({HOSTILE: scorer_from(lambda p: [1.0]), "flat": scorer_from(lambda p: [0.5, 0.5])},
                                      questions)
    page = _open(probe, result.show(human), tmp_path, ".iw-opinions canvas")
    n_opts = len(questions.questions[0].options)
    # one bar per option for each model and for the human group (zero-height bars included)
    assert int(page.get_attribute(".iw-op-bars", "data-bars")) == 3 * n_opts
    assert probe.ink(".iw-op-bars") > 200 and probe.ink(".iw-op-heatmap") > 200
    assert page.get_attribute(".iw-op-heatmap", "data-cols") == str(len(human.groups))
    page.select_option('select[name="question"]', "1")
    assert probe.model_get(0, "question") == 1
    box = page.locator(".iw-op-heatmap").bounding_box()
    last = len(human.groups) - 1
    page.mouse.click(box["x"] + box["width"] - 10, box["y"] + 22)  # row 0, last column
    assert probe.model_get(0, "group") == last
    assert page.locator('select[name="group"]').input_value() == str(last)
    _clean(probe)


def _steered(questions, human):
    def bio_only(prompt):  # the last option under a BIO context, else the first
        n = len(_question_of(questions, prompt).options)
        return np.eye(n)[-1] if "Description:" in prompt else np.eye(n)[0]

    models = {"bio": scorer_from(bio_only), HOSTILE: scorer_from(lambda p: [0.5, 0.5])}
    return op.opinion_distributions(models, questions, steer=["qa", "bio"], groups=human)


def test_opinion_view_steering_static(probe, tmp_path):
    questions = op.example_questions()
    human = op.example_human_distributions(questions)
    result = _steered(questions, human)
    rep = op.representativeness(result, human)
    labels = op._group_labels(human.attributes, human.groups)
    page = _open(probe, result.show(human), tmp_path, ".iw-op-steer")
    n_opts = len(questions.questions[0].options)
    assert json.loads(page.get_attribute(".iw-op-steer", "data-series")) == ["default", "qa", "bio",
                                                                             f"people: {labels[0]}"]
    assert int(page.get_attribute(".iw-op-steer", "data-bars")) == 4 * n_opts
    assert probe.ink(".iw-op-steer") > 200
    rows = page.locator(".iw-op-steer-row")
    assert rows.count() == 2 and rows.nth(1).locator("td").first.inner_text() == HOSTILE
    best = rep.best_context.numpy()
    for k in range(2):
        cells = rows.nth(k).locator("td").all_inner_texts()
        assert [c.endswith(" *") for c in cells[2:]] == [c == best[k, 0] for c in range(2)]
    rows.nth(1).click()
    assert probe.model_get(0, "model") == 1
    assert page.locator('select[name="model"]').input_value() == "1"
    page.locator(".iw-op-heatmap").click(position={"x": 70 + 9, "y": 18 + 9})  # row 0, column 0 (18 px cells)
    assert probe.model_get(0, "group") == 0 and probe.model_get(0, "model") == 0
    page.select_option('select[name="group"]', "2")
    assert json.loads(page.get_attribute(".iw-op-steer", "data-series"))[-1] == f"people: {labels[2]}"
    _clean(probe)


def test_representativeness_view_static(probe, tmp_path):
    questions = op.example_questions()
    human = op.example_human_distributions(questions)
    rep = op.representativeness(_steered(questions, human), human)
    page = _open(probe, rep.show(), tmp_path, ".iw-op-heatmap")
    assert probe.ink(".iw-op-heatmap") > 200
    assert page.locator(".iw-op-bars, .iw-op-steer, select[name='question']").count() == 0
    assert page.locator(".iw-op-steer-row").count() == 2
    page.select_option('select[name="group"]', "3")
    assert probe.model_get(0, "group") == 3
    assert human.groups[3] in page.locator(".iw-op-steerability caption").inner_text()
    _clean(probe)


def test_battery_view_static(probe, tmp_path):
    def mixed(prompts, letters):
        return np.log(np.tile([0.1, 0.2, 0.3, 0.4], (len(prompts), 1)))

    scorers = {"mixed": mixed, HOSTILE: content_scorer(lambda s: "Disagree" if " not " in s else "Agree")}
    result = bt.run_battery(scorers, runs=5, mode="sample", sizes={"mixed": 1e6, HOSTILE: 1e8})
    page = _open(probe, result.show(), tmp_path, ".iw-bt-grid")
    answers = result.answers.numpy()

    def modal(m):  # [I][V] the most common level over runs (ties: the lowest), -1 when absent
        return [[int(np.argmax(np.bincount(a, minlength=4))) if a[0] >= 0 else -1 for a in answers[m, :, i]]
                for i in range(answers.shape[2])]

    assert json.loads(page.get_attribute(".iw-bt-grid", "data-levels")) == modal(0)
    assert int(page.get_attribute(".iw-bt-grid", "data-cells")) == int((answers[0, :, :, 0] >= 0).sum())
    assert probe.ink(".iw-bt-grid") > 500 and probe.ink(".iw-bt-curve") > 200
    box = page.locator(".iw-bt-grid").bounding_box()
    page.mouse.move(box["x"] + 72 + 128 + 64, box["y"] + 22 + 10)  # item 0, variant 1 (negation)
    tip = page.locator(".iw-tooltip").inner_text().split("\n")
    assert tip[0] == f"{result.item_ids[0]} \u00b7 negation" and tip[1] == result.texts[1][0]
    assert tip[2].startswith("modal answer: ") and tip[2].endswith(" of 5 runs)")
    rows = page.locator(".iw-bt-row")
    assert rows.count() == 2 and rows.nth(1).locator("td").first.inner_text() == HOSTILE
    agreement = rows.nth(0).locator("td").last.inner_text()
    assert float(agreement) == pytest.approx(float(result.run_agreement[0]), abs=1e-3)
    rows.nth(1).click()
    assert probe.model_get(0, "model") == 1
    assert json.loads(page.get_attribute(".iw-bt-grid", "data-levels")) == modal(1)
    assert page.get_attribute(".iw-bt-curve", "data-points") == "2"
    (_, x0, _), (_, x1, _) = json.loads(page.get_attribute(".iw-bt-curve", "data-positions"))
    assert x0 < x1  # 1e6 left of 1e8
    page.mouse.click(*_point(page, ".iw-bt-curve", 0))
    assert probe.model_get(0, "model") == 0
    page.select_option('select[name="curve"]', "negation")
    assert probe.model_get(0, "curve") == "negation"
    assert page.get_attribute(".iw-bt-curve", "data-points") == "2"
    _clean(probe)
