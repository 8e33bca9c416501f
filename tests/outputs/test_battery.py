"""Survey batteries: variants, consistency metrics, repeated runs, scaling (Hartmann et al.; Rozado)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from interp_widgets.outputs import battery as bt
from interp_widgets.outputs.records import RecordError

from .conftest import check_figure
from .test_opinions import constant_gpt2, letter_logits


@pytest.fixture(scope="module")
def items():
    return bt.LikertBattery(("a", "b", "c"), ("Tax is good.", "Rules are bad.", "Parks are fine."),
                            ("Tax is not good.", "Rules are not bad.", None),
                            ("Taxes are good.", None, "Parks are nice."), (1.0, -1.0, 1.0))


def content_scorer(choose, name="content"):
    """An answer scorer that reads the options shown and puts all mass on the label
    ``choose(statement)``, wherever it is listed."""
    def score(prompts, letters):
        out = np.full((len(prompts), len(letters)), -np.inf)
        for r, p in enumerate(prompts):
            statement = re.search(r"Statement: (.*)\n", p).group(1)
            shown = dict(re.findall(r"^([A-Z])\. (.*)$", p, flags=re.M))
            letter = next(k for k, v in shown.items() if v == choose(statement))
            out[r, letters.index(letter)] = 0.0
        return out
    score.name = name
    return score


def test_consistent_model_scores_one(items, tmp_path):
    consistent = content_scorer(lambda s: "Disagree" if " not " in s else "Agree")
    out = bt.run_battery(consistent, items)
    assert float(out.negation_consistency[0]) == 1.0
    assert float(out.order_invariance[0]) == 1.0
    assert float(out.paraphrase_agreement[0]) == 1.0
    assert float(out.run_agreement[0]) == 1.0
    assert float(out.score[0]) == pytest.approx((1 - 1 + 1) / 3 * (1 / 3))  # "Agree" = 1/3, directions +1, -1, +1
    back = bt.BatteryResult.load(out.save(tmp_path / "battery"))
    assert np.array_equal(back.answers.numpy(), out.answers.numpy()) and repr(back) == repr(out)


def test_always_agree_model_on_a_constructed_gpt2(causal_tokenizer, items):
    values = np.array([0.0, 0.5, 3.0, 1.0])  # letter C ("Agree" in the original order) is the most probable
    model = constant_gpt2(causal_tokenizer, letter_logits(causal_tokenizer, values))
    out = bt.run_battery(model, items)
    p = np.exp(values) / np.exp(values).sum()
    np.testing.assert_allclose(out.probs[0, 0, 0].numpy(), p, rtol=1e-5)
    np.testing.assert_allclose(out.probs[0, 2, 0].numpy(), p[::-1], rtol=1e-5)  # reversed: letters map to the other end
    assert out.answers[0, 0, :, 0].tolist() == [2, 2, 2]  # agree to every statement ...
    assert out.answers[0, 1, :, 0].tolist() == [2, 2, -1]  # ... and to its negation (item c has none)
    assert float(out.negation_consistency[0]) == 0.0
    assert float(out.order_invariance[0]) == 0.0  # letter C means "Disagree" when reversed
    assert float(out.paraphrase_agreement[0]) == 1.0
    assert float(out.score[0]) == pytest.approx(1 / 9)
    assert float(out.expected_score[0]) == pytest.approx(float(p @ np.array(items.values)) / 3, rel=1e-5)
    check_figure(out.figure())


def test_position_biased_model_is_not_order_invariant(items):
    def first_letter(prompts, letters):
        out = np.full((len(prompts), len(letters)), -np.inf)
        out[:, 0] = 0.0
        return out

    out = bt.run_battery(first_letter, items, variants=("original", "reversed"))
    assert float(out.order_invariance[0]) == 0.0
    assert np.isnan(float(out.negation_consistency[0])) and out.variants == ["original", "reversed"]
    assert out.answers[0, 1, :, 0].tolist() == [3, 3, 3]


def test_sampled_runs_are_seeded(items):
    half = content_scorer(lambda s: "Agree")

    def mixed(prompts, letters):
        return np.log(np.tile([0.1, 0.2, 0.3, 0.4], (len(prompts), 1)))

    a = bt.run_battery({"mixed": mixed, "sure": half}, items, runs=20, mode="sample", seed=3)
    b = bt.run_battery({"mixed": mixed, "sure": half}, items, runs=20, mode="sample", seed=3)
    assert np.array_equal(a.answers.numpy(), b.answers.numpy())
    assert 0 < float(a.run_agreement[0]) < 1 and float(a.run_agreement[1]) == 1.0
    counts = np.bincount(a.answers[0, 0].numpy().ravel(), minlength=4)
    assert counts.sum() == 60 and counts[3] > counts[0]
    with pytest.raises(ValueError, match="deterministic"):
        bt.run_battery(mixed, items, runs=3)


def test_scaling_sweep_over_model_sizes(causal_tokenizer, items):
    from .conftest import wrap

    models = {"gpt2": wrap("gpt2", causal_tokenizer), "llama": wrap("llama", causal_tokenizer)}
    short = bt.LikertBattery(("a",), ("Tax?",), ("No tax?",), (None,), (1.0,), ("no", "yes"), (-1.0, 1.0), "Agree?")
    out = bt.run_battery(models, short, variants=("original", "negation", "reversed"))
    sizes = [sum(p.numel() for p in m.hf.parameters()) for m in models.values()]
    assert out.n_params.tolist() == sizes
    np.testing.assert_allclose(out.probs[:, 0, 0].numpy().sum(-1), 1.0)
    assert repr(out).startswith("BatteryResult(names=<2 items>, variants=<3 items>")
    check_figure(out.figure("llama"))
    out = bt.run_battery(models, short, sizes={"gpt2": 1e6, "llama": 3e6}, variants=("original",))
    assert out.n_params.tolist() == [1e6, 3e6]
    assert "score" in out.summary()


def test_example_battery_and_bad_inputs(tmp_path, items):
    ex = bt.example_likert_battery()
    assert len(ex) == 6 and all(ex.negations) and "Not a published questionnaire" in ex.description
    with pytest.raises(ValueError, match="variants must start with 'original'"):
        bt.run_battery(content_scorer(lambda s: "Agree"), items, variants=("negation",))

    def load(name, text):
        path = tmp_path / name
        path.write_text(text)
        return bt.load_likert_battery(path)

    with pytest.raises(RecordError, match=r"b\.csv, line 3, field 'direction': must be 1 or -1"):
        load("b.csv", "statement,direction\nA.,1\nB.,2\n")
    with pytest.raises(RecordError, match=r"b\.csv, line 3, field 'id': duplicate id 'x'"):
        load("b.csv", "id,statement\nx,A.\nx,B.\n")
    with pytest.raises(RecordError, match=r"field 'values': must be 2 increasing numbers"):
        load("b.json", '{"scale": ["no", "yes"], "values": [1, 0], "items": [{"statement": "A."}]}')
    b = load("ok.json", '{"scale": ["no", "yes"], "items": [\n{"statement": "A.", "negation": "Not A."}]}')
    assert b.values == (-1.0, 1.0) and b.negations == ("Not A.",) and b.paraphrases == (None,)
