"""Views of the output-analysis results (model map, political compass, opinions): binary payloads equal to
the results, the per-pair text differences checked against a direct sort, validated selection
state and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from interp_widgets.outputs import compass as cp
from interp_widgets.outputs import double_centre, model_map
from interp_widgets.outputs import opinions as op
from interp_widgets.widgets import CompassView, ModelMapView, OpinionView, to_html
from tests.outputs.test_compass import stance_scorer
from tests.outputs.test_opinions import _question_of, scorer_from
from tests.widgets.test_hidden_views import _refused_in_error, _wire

NAMES = ["a-small", "a-large", "b-small", "b-large", "c"]
FAMILIES = ["a", "a", "b", "b", "c"]


@pytest.fixture(scope="module")
def mapped():
    L = np.random.default_rng(0).normal(-50.0, 5.0, size=(5, 12))
    return L, model_map(L, method="pca", names=NAMES, families=FAMILIES, scores=[1.0, 2.0, 1.5, np.nan, 0.5])


def test_model_map_view_payloads_are_the_result(mapped):
    L, result = mapped
    texts = [f"text <{n}>" for n in range(12)]
    view = result.show(texts=texts, top=3)
    assert isinstance(view, ModelMapView) and view.names == NAMES and view.families == FAMILIES
    assert view.texts == texts
    for name, want in (("coords", result.coords), ("kl", result.kl)):
        payload, got = _wire(view, name)
        assert payload["shape"] == list(want.shape)
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-6, atol=1e-9)
    _, index = _wire(view, "top_index")
    _, diff = _wire(view, "top_diff")
    assert index.shape == diff.shape == (5, 5, 3)
    Q = double_centre(np.maximum(L, np.percentile(L, 2)))
    for a in range(5):
        for b in range(5):
            d = Q[a] - Q[b]
            want = np.argsort(-np.abs(d), kind="stable")[:3]
            if a != b:
                np.testing.assert_array_equal(index[a, b], want)
            np.testing.assert_allclose(diff[a, b], d[index[a, b].astype(int)], atol=1e-4)
    np.testing.assert_allclose(diff[1, 3], -diff[3, 1], atol=1e-5)
    assert view.metadata[0][0] == "family: a" and view.metadata[3][-1].startswith("score: —")
    assert any("nearest" in line for line in view.metadata[2])
    assert repr(view) == "ModelMapView(models=5, texts=12, method='pca', selected=[])"
    assert "text <0>" not in to_html(view)


def test_model_map_view_selection(mapped):
    _, result = mapped
    view = result.show()
    assert view.selected == [] and view.differences() == [] and view.texts == []
    view.selected = ["c", "a-small"]
    got = view.differences()
    assert len(got) == 5 and all(0 <= t < 12 for t, _ in got)
    a, b = NAMES.index("c"), NAMES.index("a-small")
    np.testing.assert_allclose([d for _, d in got], [result.q[a, t] - result.q[b, t] for t, _ in got], atol=1e-4)
    _refused_in_error(view, "selected", ["c", "nobody"], ["b-small", "c"])
    _refused_in_error(view, "selected", ["c", "c"], [])
    _refused_in_error(view, "selected", ["c"], ["a-large", "a-small"])


def test_model_map_view_bad_input(mapped):
    _, result = mapped
    with pytest.raises(ValueError, match="12 texts"):
        result.show(texts=["only one"])
    with pytest.raises(ValueError, match="top must be"):
        result.show(top=0)
    with pytest.raises(TypeError, match="ModelMap result"):
        ModelMapView(object())


@pytest.fixture(scope="module")
def compass():
    scorers = [stance_scorer(lambda p, a=a: a, name=f"ckpt{k}") for k, a in enumerate((0.9, 0.55, 0.2))]
    return cp.political_compass(scorers, compare="sequence")


def test_compass_view_payloads_and_selection(compass):
    view = compass.show()
    assert isinstance(view, CompassView) and view.names == ["ckpt0", "ckpt1", "ckpt2"]
    assert view.arrows == [[0, 1], [1, 2]] and view.origin == [0.0, 0.0]
    assert view.statement_ids == compass.statement_ids and view.answer_names == list(cp.ANSWERS)
    for name in ("coords", "p_agree", "answers", "bounds"):
        want = getattr(compass, name).numpy()
        payload, got = _wire(view, name)
        assert payload["shape"] == list(want.shape)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(view.bounds, [[-10, 10], [-10, 10]])
    assert repr(view) == "CompassView(models=3, statements=12, arrows=2, selected='')"
    view.selected = "ckpt1"
    _refused_in_error(view, "selected", "nobody", "ckpt2")
    with pytest.raises(TypeError, match="PoliticalCompass result"):
        CompassView(object())


@pytest.fixture(scope="module")
def opinions():
    questions = op.example_questions()
    human = op.example_human_distributions(questions)
    d = human.dist.numpy()

    def copy_group0(prompt):
        q = _question_of(questions, prompt)
        return d[0, questions.ids.index(q.id), :len(q.options)]

    models = {"copy-0": scorer_from(copy_group0), "first": scorer_from(lambda p: [1.0])}
    return op.opinion_distributions(models, questions), human


def test_opinion_view_payloads_and_state(opinions):
    result, human = opinions
    view = result.show(human)
    assert isinstance(view, OpinionView) and view.names == ["copy-0", "first"]
    assert view.question_ids == result.question_ids and len(view.groups) == len(human.groups)
    R = op.representativeness(result, human).R.numpy()
    for name, want in (("dist", result.dist), ("refusal", result.refusal), ("human", human.dist), ("R", R)):
        want = np.asarray(want)
        payload, got = _wire(view, name)
        assert payload["shape"] == list(want.shape)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6, equal_nan=True)
    assert view.R[0, 0] == pytest.approx(1.0)
    view.question = 2
    _refused_in_error(view, "question", len(result.question_ids), 1)
    _refused_in_error(view, "group", -1, len(human.groups) - 1)
    alone = result.show()
    assert alone.human.shape == (0, *result.dist.shape[1:]) and alone.R.shape == (2, 0) and alone.groups == []
    with pytest.raises(TypeError, match="HumanDistributions"):
        result.show(human.dist)
