"""Political compass probes (Feng et al. 2023)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import interp_widgets as iw
from interp_widgets.outputs import compass as cp
from interp_widgets.outputs.prompting import single_token_ids

from .conftest import assert_record_errors, check_figure, write


def stance_scorer(p_agree, name="scorer"):
    """An answer scorer putting probability ``p_agree(prompt)`` on the agree phrase(s)."""
    def score(prompts, options):
        n_agree = len(cp.DECODER_OPTIONS["agree"])
        rows = []
        for p in prompts:
            a = p_agree(p)
            n_dis = len(options) - n_agree
            row = np.r_[np.full(n_agree, a / n_agree), np.full(n_dis, (1 - a) / n_dis)]
            with np.errstate(divide="ignore"):
                rows.append(np.log(row))
        return np.array(rows)
    score.name = name
    return score


@pytest.fixture(scope="module")
def battery():
    return cp.example_battery()


def test_example_battery_is_labelled(battery):
    assert "NOT the official" in battery.description
    assert len(battery) == 12 and battery.econ.shape == (12, 4)
    np.testing.assert_allclose(battery.bounds, [[-10, 10], [-10, 10]])


def test_neutral_point(battery, tmp_path):
    out = cp.political_compass(stance_scorer(lambda p: 0.5), battery, mapping="expected")
    np.testing.assert_allclose(out.coords.numpy(), [[0.0, 0.0]], atol=1e-12)
    np.testing.assert_allclose(out.p_agree.numpy(), 0.5)
    back = cp.PoliticalCompass.load(out.save(tmp_path / "compass"))
    assert torch.equal(back.coords, out.coords) and repr(back) == repr(out)


def test_all_unknown_answers_give_the_origin(tmp_path):
    path = tmp_path / "pc.json"
    path.write_text('{"origin": [0.38, 2.41], "scale": [8.0, 19.5], "statements": [\n'
                    '{"statement": "s1", "econ": [7, 5, 0, -2], "soc": [0, 0, 0, 0]},\n'
                    '{"statement": "s2", "econ": [0, 0, 0, 0], "soc": [-3, -1, 2, 4]}]}')
    b = cp.load_battery(path)
    unknown = cp.answer_levels(np.full(2, np.nan))
    np.testing.assert_allclose(cp.coordinates(unknown, b), [0.38, 2.41])
    # strongly agree to both: econ 0.38 - 2/8, soc 2.41 + 4/19.5
    np.testing.assert_allclose(cp.coordinates(cp.answer_levels(np.ones(2)), b), [0.38 - 0.25, 2.41 + 4 / 19.5])


def test_threshold_mapping_is_symmetric():
    p = np.array([0.0, 0.2, 0.36, 0.4, 0.49, 0.51, 0.6, 0.66, 0.8, 1.0])
    levels = cp.answer_levels(p, tau=0.3).argmax(-1)
    mirrored = cp.answer_levels(1 - p, tau=0.3).argmax(-1)
    np.testing.assert_array_equal(levels, 3 - mirrored)
    np.testing.assert_array_equal(levels, [0, 0, 1, 1, 1, 2, 2, 3, 3, 3])
    assert cp.answer_levels(np.array([0.5])).argmax() == 2  # ties count as agree, as in the paper's code


@pytest.mark.parametrize("mapping", ["threshold", "expected"])
def test_negating_weights_mirrors_the_point(battery, mapping):
    rng = np.random.default_rng(0)
    p = rng.uniform(size=(5, len(battery)))
    levels = cp.answer_levels(p, mapping)
    a, b = cp.coordinates(levels, battery), cp.coordinates(levels, battery.negated())
    np.testing.assert_allclose(a, -b, atol=1e-12)
    assert np.all(np.abs(a) <= 10 + 1e-12)


def test_bounds_are_reached_and_respected(battery):
    for p in (np.ones(len(battery)), np.zeros(len(battery))):
        xy = cp.coordinates(cp.answer_levels(p), battery)
        assert np.all(xy >= battery.bounds[:, 0] - 1e-12) and np.all(xy <= battery.bounds[:, 1] + 1e-12)
    best = (battery.econ.argmax(1) == 3)  # agree where agreeing maximises econ
    xy = cp.coordinates(cp.answer_levels(np.where(best, 1.0, 0.0)), battery)
    assert xy[0] == pytest.approx(10.0)


def test_options_probe_on_tiny_models_and_arrows(causal_tokenizer, battery):
    from .conftest import wrap

    short = cp.Battery(("a", "b"), ("Tax is good.", "Rules are bad."), battery.econ[:2], battery.soc[6:8])
    models = {"base": wrap("gpt2", causal_tokenizer, seed=0), "tuned": wrap("gpt2", causal_tokenizer, seed=1)}
    out = cp.political_compass(models, short, compare=[("base", "tuned")])
    assert out.coords.shape == (2, 2) and out.arrows == [[0, 1]]
    assert np.all((out.p_agree.numpy() > 0) & (out.p_agree.numpy() < 1))
    np.testing.assert_allclose(out.answers.numpy().sum(-1), 1.0)
    assert np.all(np.abs(out.coords.numpy()) <= 10)
    assert repr(out).startswith("PoliticalCompass(names=<2 items>, statement_ids=<2 items>, coords=[2, 2]")
    check_figure(out.figure())
    with pytest.raises(ValueError, match="compare pairs must name two of the models"):
        cp.political_compass(models, short, compare=[("base", "nope")])


def test_options_probe_matches_continuation_probabilities(causal_tokenizer):
    """p_agree equals softmax over the summed token log-probabilities of the two phrases."""
    from .conftest import wrap

    model = wrap("llama", causal_tokenizer)
    b = cp.Battery(("a",), ("Tax is good.",), np.ones((1, 4)), np.ones((1, 4)))
    out = cp.political_compass(model, b)
    prompt = cp.DECODER_PROMPT.format(statement="Tax is good.")
    scores = []
    for phrase in (" I agree", " I disagree"):
        head = causal_tokenizer(prompt)["input_ids"]
        ids = head + causal_tokenizer(phrase, add_special_tokens=False)["input_ids"]
        logp = model(torch.tensor(ids))[0].log_softmax(-1)
        scores.append(sum(float(logp[t - 1, ids[t]]) for t in range(len(head), len(ids))))
    assert float(out.p_agree[0, 0]) == pytest.approx(1 / (1 + np.exp(scores[1] - scores[0])), rel=1e-5)


def test_mask_probe(encoder_tokenizer):
    from conftest import tiny_hf_model

    model = iw.wrap(tiny_hf_model("bert"), encoder_tokenizer, name="tiny-bert")
    b = cp.Battery(("a", "b"), ("Tax is good.", "Rules are bad."), np.ones((2, 4)), -np.ones((2, 4)))
    words = []
    for w in ["the", "to", "be", "not", "or", "in", "is", "that", "and", "more", "day", "dog", "mind", "nine"]:
        try:
            single_token_ids(encoder_tokenizer, w)
            words.append(w)
        except ValueError:
            pass
    assert len(words) >= 4
    out = cp.political_compass(model, b, probe="mask", agree_words=words[: len(words) // 2],
                               disagree_words=words[len(words) // 2:], top_k=400)
    p = out.p_agree.numpy()
    assert np.all((p > 0) & (p < 1))
    with pytest.warns(UserWarning, match="not single tokens"), \
            pytest.raises(ValueError, match="no agree or no disagree"):
        cp.political_compass(model, b, probe="mask", agree_words=["xqzxqz"], disagree_words=words[:3])
    with pytest.raises(ValueError, match="causal LM; probe='mask'"):
        cp.political_compass(iw.wrap(tiny_hf_model("gpt2"), encoder_tokenizer), b, probe="mask")


def test_generate_probe_uses_the_classifier(causal_tokenizer):
    from .conftest import wrap

    model = wrap("gpt2", causal_tokenizer)
    b = cp.Battery(("a", "b"), ("Tax is good.", "Rules are bad."), np.array([[-1, -0.5, 0.5, 1]] * 2), np.zeros((2, 4)))
    seen = []

    def always_agree(statement, response):
        seen.append((statement, response))
        return 0.9, 0.1

    out = cp.political_compass(model, b, probe="generate", classifier=always_agree, max_new_tokens=4)
    assert [s for s, _ in seen] == list(b.statements) and all(isinstance(r, str) for _, r in seen)
    assert out.responses == [[r for _, r in seen]]
    np.testing.assert_allclose(out.coords.numpy(), [[10.0, 0.0]])  # strongly agree (0.9 ≥ 0.1 + τ) to both
    with pytest.raises(ValueError, match="needs classifier"):
        cp.political_compass(model, b, probe="generate")


def test_keyword_stance():
    assert cp.keyword_stance("s", "I agree with this.") == (1.0, 0.0)
    assert cp.keyword_stance("s", "I do not agree, I reject it.") == (0.0, 1.0)
    assert cp.keyword_stance("s", "The weather is nice.") == (0.5, 0.5)


def test_bad_battery_files(tmp_path):
    assert_record_errors(cp.load_battery, tmp_path, [
        ("b.csv", "statement,econ,soc\nA.,1,0\nB.,left,0\n", r"b\.csv, line 3, field 'econ': 'left' is not a number"),
        ("b2.csv", "statement,econ,soc\nA.,1,1|2\n", r"line 2, field 'soc': give one weight or four"),
        ("b.jsonl", '{"statement": "A.", "econ": 1, "soc": 0}\n{"econ": 1, "soc": 0}\n',
         r"b\.jsonl, line 2, field 'statement': missing or empty"),
        ("b.json", '{"statements": [\n {"statement": "A.", "econ": 1, "soc": 0},\n {"statement": "B.", "econ": 1}\n]}',
         r"line 3, field 'soc': missing"),
        ("b3.json", '{"scale": [0, 1], "statements": [{"statement": "A.", "econ": 1, "soc": 0}]}',
         r"field 'scale': scale divisors must be positive")])
    b = cp.load_battery(write(tmp_path, "ok.csv", "# my battery\nid,statement,econ,soc\nx,A.,1,-2|-1|1|2\n"))
    np.testing.assert_allclose(b.econ, [[-1, -0.5, 0.5, 1]])
    np.testing.assert_allclose(b.soc, [[-2, -1, 1, 2]])
    assert b.description == "my battery" and b.ids == ("x",)
