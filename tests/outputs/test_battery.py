"""Survey batteries: variants, consistency metrics, repeated runs, scaling (Hartmann et al.; Rozado)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from interp_widgets.outputs import battery as bt

from .conftest import assert_record_errors, check_figure, write
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
    out = bt.run_battery(models, short, sizes={"gpt2": 1e8, "llama": 1e6}, variants=("original",))
    assert out.n_params.tolist() == [1e8, 1e6]
    assert "score" in out.summary()
    fig = out.figure()
    curve = fig.axes[2]  # the scaling curve: score against size, sorted by size, log x past one decade
    assert curve.get_xscale() == "log" and curve.get_xlabel() == "parameters"
    xs, ys = curve.lines[0].get_data()
    assert list(xs) == [1e6, 1e8] and list(ys) == [float(out.score[1]), float(out.score[0])]
    check_figure(fig)


def test_example_battery_and_bad_inputs(tmp_path, items):
    ex = bt.example_likert_battery()
    assert len(ex) == 6 and all(ex.negations) and "Not a published questionnaire" in ex.description
    with pytest.raises(ValueError, match="variants must start with 'original'"):
        bt.run_battery(content_scorer(lambda s: "Agree"), items, variants=("negation",))

    assert_record_errors(bt.load_likert_battery, tmp_path, [
        ("b.csv", "statement,direction\nA.,1\nB.,2\n", r"b\.csv, line 3, field 'direction': must be 1 or -1"),
        ("b.csv", "id,statement\nx,A.\nx,B.\n", r"b\.csv, line 3, field 'id': duplicate id 'x'"),
        ("b.json", '{"scale": ["no", "yes"], "values": [1, 0], "items": [{"statement": "A."}]}',
         r"field 'values': must be 2 increasing numbers")])
    b = bt.load_likert_battery(write(tmp_path, "ok.json",
                                     '{"scale": ["no", "yes"], "items": [\n{"statement": "A.", "negation": "Not A."}]}'))
    assert b.values == (-1.0, 1.0) and b.negations == ("Not A.",) and b.paraphrases == (None,)


def test_read_likert_answer():
    labels = ["Strongly disagree", "Disagree", "Agree", "Strongly agree"]
    assert bt.read_likert_answer("s", " C. because", labels) == 2
    assert bt.read_likert_answer("s", "(B) no", labels) == 1
    assert bt.read_likert_answer("s", "I strongly agree with it", labels) == 3  # the longest label wins
    assert bt.read_likert_answer("s", "Agreed? Disagree.", labels) == 1
    assert bt.read_likert_answer("s", "Certainly", labels) == -1  # a word starting with C is no letter
    assert bt.read_likert_answer("s", "E.", labels) == -1  # not an option


def test_generated_answers_equal_the_most_probable_option(causal_tokenizer, items):
    """A model whose next token is always the letter C answers C by generation too, so generation
    mode gives the same answers as the option probabilities (reversed: C means "Disagree")."""
    model = constant_gpt2(causal_tokenizer, letter_logits(causal_tokenizer, [0.0, 0.5, 3.0, 1.0]))
    probs = bt.run_battery(model, items)
    gen = bt.run_battery(model, items, mode="generate", max_new_tokens=1)
    assert np.array_equal(gen.answers.numpy(), probs.answers.numpy())
    assert gen.responses[0][0][0] == ["C"] and gen.responses[0][1][2] == []  # item c has no negation
    assert float(gen.unreadable[0]) == 0.0 and float(gen.score[0]) == pytest.approx(float(probs.score[0]))
    assert gen.probs[0, 0, 0].tolist() == [0.0, 0.0, 1.0, 0.0]  # the share of runs per level

    def never(statement, response, labels):
        return -1

    blank = bt.run_battery(model, items, mode="generate", max_new_tokens=1, classifier=never)
    assert float(blank.unreadable[0]) == 1.0 and np.isnan(float(blank.score[0]))
    assert np.isnan(float(blank.negation_consistency[0])) and "unreadable answers: constant 100%" in blank.summary()
    sampled = bt.run_battery(model, items, mode="generate", runs=6, seed=2, max_new_tokens=1)
    again = bt.run_battery(model, items, mode="generate", runs=6, seed=2, max_new_tokens=1)
    assert np.array_equal(sampled.answers.numpy(), again.answers.numpy())
    assert set(np.unique(sampled.answers[0, 0].numpy())) <= {0, 1, 2, 3} and float(sampled.run_agreement[0]) < 1
    with pytest.raises(ValueError, match="option index from 0 to 3 or -1"):
        bt.run_battery(model, items, mode="generate", max_new_tokens=1, classifier=lambda s, r, labels: 4)
    with pytest.raises(ValueError, match="needs causal iw Models"):
        bt.run_battery(content_scorer(lambda s: "Agree"), items, mode="generate")
    with pytest.raises(ValueError, match="mode must be one of"):
        bt.run_battery(model, items, mode="vote")


TRANSLATED = """{"scale": ["no", "yes"],
 "languages": {"de": {"instruction": "Stimmen Sie zu?", "scale": ["nein", "ja"]}},
 "items": [
  {"id": "a", "statement": "Tax is good.", "translations": {"de": "Steuern sind gut.", "fr": "L'impot est bon."}},
  {"id": "b", "statement": "Rules are bad.", "translations": {"de": "Regeln sind schlecht."}}]}
"""


def test_translations_are_asked_in_their_own_words(tmp_path):
    battery = bt.load_likert_battery(write(tmp_path, "t.json", TRANSLATED))
    assert battery.language_codes == ["de", "fr"] and battery.text("language:fr", 1) is None
    assert battery.wording("language:de") == (["nein", "ja"], "Stimmen Sie zu?")
    assert battery.wording("language:fr") == (["no", "yes"], battery.instruction)  # no words given: English
    seen = []

    def says_yes(prompts, letters):  # always the option labelled "yes"/"ja"; records what it was shown
        seen.extend(prompts)
        out = np.full((len(prompts), len(letters)), -np.inf)
        for r, p in enumerate(prompts):
            shown = dict(re.findall(r"^([A-Z])\. (.*)$", p, flags=re.M))
            out[r, letters.index(next(k for k, v in shown.items() if v in ("yes", "ja")))] = 0.0
        return out

    out = bt.run_battery(says_yes, battery, variants=("original", "language:de", "language:fr"))
    assert "Statement: Steuern sind gut.\nStimmen Sie zu?\nA. nein\nB. ja\nAnswer:" in seen
    assert out.answers[0, :, :, 0].tolist() == [[1, 1], [1, 1], [1, -1]]
    assert float(out.language_agreement[0]) == 1.0 and out.texts[2] == ["L'impot est bon.", ""]

    def english_only(prompts, letters):  # "yes" in English, the first option otherwise
        return np.stack([[0.0, -np.inf] if "B. ja" in p or "L'impot" in p else [-np.inf, 0.0] for p in prompts])

    out = bt.run_battery(english_only, battery, variants=("original", "language:de", "language:fr"))
    assert float(out.language_agreement[0]) == 0.0 and "languages" in out.summary()
    check_figure(out.figure())
    csv = bt.load_likert_battery(write(tmp_path, "t.csv", "id,statement,translation_ja\na,Tax is good.,税は良い。\n"))
    assert csv.translations == ({"ja": "税は良い。"},) and csv.language_codes == ["ja"]
    with pytest.raises(ValueError, match=r"come from \['language:ja', 'negation'"):
        bt.run_battery(says_yes, csv, variants=("original", "language:de"))
    assert_record_errors(bt.load_likert_battery, tmp_path, [
        ("l.json", '{"scale": ["no", "yes"], "languages": {"de": {"scale": ["nein"]}}, "items": [{"statement": "A."}]}',
         r"field 'languages': 'de': scale must be 2 labels"),
        ("l.json", '{"items": [\n{"statement": "A.", "translations": ["x"]}]}',
         r"line 2, field 'translations': must map language codes")])
