"""Views of the output-analysis results (model map, political compass, opinions with steering,
representativeness, survey batteries): binary payloads equal to the results, the per-pair text differences checked against a direct sort, validated selection
state and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from interp_widgets.outputs import battery as bt
from interp_widgets.outputs import compass as cp
from interp_widgets.outputs import double_centre, model_map
from interp_widgets.outputs import opinions as op
from interp_widgets.widgets import (BatteryView, CompassView, ModelMapView, OpinionView, RepresentativenessView,
                                    to_html)
from tests.outputs.test_battery import content_scorer
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
    view.model = 1
    _refused_in_error(view, "model", 2, 0)
    assert repr(view) == "OpinionView(models=2, questions=6, groups=4, steering=[], question=1, group=3, model=0)"


@pytest.fixture(scope="module")
def steered_opinions():
    questions = op.example_questions()
    human = op.example_human_distributions(questions)

    def bio_only(prompt):  # leans to the last option when a BIO context is present, else the first
        n = len(_question_of(questions, prompt).options)
        return np.eye(n)[-1] if "Description:" in prompt else np.eye(n)[0]

    pairs = list(zip(human.attributes, human.groups))[::-1]  # steered in another order than the human groups
    result = op.opinion_distributions({"bio": scorer_from(bio_only), "flat": scorer_from(lambda p: [0.5, 0.5])},
                                      questions, steer=["qa", "bio"], groups=pairs)
    return result, human, pairs


def test_opinion_view_steering_comparison(steered_opinions):
    result, human, pairs = steered_opinions
    view = result.show(human, model=1)
    rep = op.representativeness(result, human)
    assert view.steer_kinds == ["qa", "bio"] and view.model == 1
    payload, steered = _wire(view, "steered")
    assert payload["shape"] == [2, len(human.groups), 2, len(result.question_ids), 5]
    for g, key in enumerate(zip(human.attributes, human.groups)):  # re-ordered to the humans' groups
        np.testing.assert_allclose(steered[:, g], result.steered_dist[:, pairs.index(key)].numpy(), equal_nan=True)
    _, steered_R = _wire(view, "steered_R")
    np.testing.assert_allclose(steered_R, rep.steered_R.numpy(), rtol=1e-6)
    np.testing.assert_allclose(steered_R.max(0), rep.steerability.numpy(), rtol=1e-6)
    # the bio context moves model "bio" to the last option of every question, the qa context does not
    last = np.array([np.eye(len(o))[-1].tolist() + [np.nan] * (5 - len(o)) for o in result.options])
    np.testing.assert_allclose(steered[1, :, 0], np.broadcast_to(last, steered[1, :, 0].shape), equal_nan=True)
    np.testing.assert_allclose(steered[0, :, 0], np.broadcast_to(result.dist[0].numpy(), steered[0, :, 0].shape),
                               equal_nan=True)
    assert "steering=['qa', 'bio']" in repr(view)
    _refused_in_error(view, "model", -1, 0)
    with pytest.raises(ValueError, match="not steered towards"):
        op.opinion_distributions(scorer_from(lambda p: [1.0]), op.example_questions(), steer=["qa"],
                                 groups=[("age", "nobody")]).show(human)


def test_representativeness_view(steered_opinions):
    result, human, _ = steered_opinions
    rep = op.representativeness(result, human)
    view = rep.show(group=2)
    assert isinstance(view, RepresentativenessView) and view.question_ids == [] and view.group == 2
    assert view.names == ["bio", "flat"] and view.groups == op._group_labels(human.attributes, human.groups)
    for name, want in (("R", rep.R), ("steered_R", rep.steered_R)):
        payload, got = _wire(view, name)
        assert payload["shape"] == list(want.shape)
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-6)
    assert view.dist.shape == (2, 0, 0) and view.human.shape == (4, 0, 0)
    assert repr(view) == "RepresentativenessView(models=2, groups=4, steering=['qa', 'bio'], group=2, model=0)"
    _refused_in_error(view, "group", 4, 3)
    plain = op.representativeness(op.opinion_distributions(scorer_from(lambda p: [1.0]), op.example_questions()), human)
    assert plain.show().steer_kinds == [] and plain.show().steered_R.shape == (0, 0, 0)
    with pytest.raises(TypeError, match="Representativeness result"):
        RepresentativenessView(result)


@pytest.fixture(scope="module")
def battery():
    def mixed(prompts, letters):
        return np.log(np.tile([0.1, 0.2, 0.3, 0.4], (len(prompts), 1)))

    scorers = {"mixed": mixed, "agree": content_scorer(lambda s: "Agree")}
    return bt.run_battery(scorers, runs=5, mode="sample", sizes={"mixed": 1e6, "agree": 1e8})


def test_battery_view_payloads_and_state(battery):
    view = battery.show("agree")
    assert isinstance(view, BatteryView) and view.model == 1 and view.curve == "score"
    assert view.names == ["mixed", "agree"] and view.variants == list(bt.VARIANTS)
    items = bt.example_likert_battery()
    assert view.texts == [[items.text(v, i) or "" for i in range(len(items))] for v in bt.VARIANTS]
    assert view.texts[2] == view.texts[0] and view.scale == list(items.scale)
    for name in ("answers", "probs", "score", "expected_score", "n_params"):
        want = getattr(battery, name).numpy()
        payload, got = _wire(view, name)
        assert payload["shape"] == list(want.shape)
        np.testing.assert_allclose(got, want, rtol=1e-6, equal_nan=True)
    _, consistency = _wire(view, "consistency")
    assert view.metric_names == ["negation", "reversed", "paraphrase", "modal agreement"]  # no language asked
    np.testing.assert_allclose(consistency[:, 3], battery.run_agreement.numpy(), rtol=1e-6)
    np.testing.assert_allclose(consistency[:, 0], battery.negation_consistency.numpy(), rtol=1e-6)
    assert repr(view) == "BatteryView(models=2, items=6, variants=4, runs=5, model='agree', curve='score')"
    view.curve = "negation"
    _refused_in_error(view, "curve", "accuracy", "modal agreement")
    _refused_in_error(view, "model", 2, 0)
    with pytest.raises(ValueError, match="one of \\['mixed', 'agree'\\]"):
        battery.show("nobody")
    with pytest.raises(TypeError, match="BatteryResult"):
        BatteryView(object())
