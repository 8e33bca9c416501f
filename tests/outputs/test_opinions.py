"""Opinion distributions and representativeness (Santurkar et al. 2023)."""

from __future__ import annotations

import string

import numpy as np
import pytest
import torch
from scipy.stats import wasserstein_distance

import interp_widgets as iw
from interp_widgets.outputs import opinions as op
from interp_widgets.outputs.prompting import single_token_ids
from interp_widgets.outputs.records import RecordError

from .conftest import check_figure, write


def constant_gpt2(tokenizer, token_logits: dict[int, float], floor: float = -40.0):
    """A tiny GPT-2 (256 positions) whose next-token logits are the same for every input: ln_f
    outputs e_0 (weight 0, bias e_0), so the logits are column 0 of the (tied) unembedding."""
    import transformers

    torch.manual_seed(0)
    hf = transformers.GPT2LMHeadModel(transformers.GPT2Config(n_layer=1, n_head=2, n_embd=16, n_positions=256,
                                                              vocab_size=512)).eval()
    with torch.no_grad():
        hf.transformer.ln_f.weight.zero_()
        hf.transformer.ln_f.bias.zero_()
        hf.transformer.ln_f.bias[0] = 1.0
        column = torch.full((hf.config.vocab_size,), floor)
        for i, v in token_logits.items():
            column[i] = v
        hf.lm_head.weight[:, 0] = column
    return iw.wrap(hf, tokenizer, name="constant")


def letter_logits(tokenizer, values) -> dict[int, float]:
    return {i: float(v) for letter, v in zip(string.ascii_uppercase, values)
            for i in single_token_ids(tokenizer, letter)}


SHORT = """# short questions for the 64-position test models
id,text,options,ordinal,refusal,topic
q1,Tax?,low|mid|high|max,1|2|3|5,Refused,money
q2,Park?,no|yes,0|1,Refused,town
q3,Bus?,bad|ok|good,1|2|3,,town
"""


@pytest.fixture(scope="module")
def short(tmp_path_factory):
    folder = tmp_path_factory.mktemp("short")
    (folder / "q.csv").write_text(SHORT)
    (folder / "h.csv").write_text("question,attribute,group,weights\nq1,age,young,1|2|3|4|1\nq2,age,young,3|1\n"
                                  "q3,age,young,1|1|2\nq1,age,old,4|3|2|1\nq2,age,old,1|3|2\nq3,age,old,2|1|1\n")
    qs = op.load_questions(folder / "q.csv")
    return qs, op.load_human_distributions(folder / "h.csv", qs)


@pytest.fixture(scope="module")
def questions():
    return op.example_questions()


@pytest.fixture(scope="module")
def human(questions):
    return op.example_human_distributions(questions)


def test_example_set_is_labelled_synthetic(questions, human):
    assert "SYNTHETIC" in questions.description and "SYNTHETIC" in human.description
    assert len(questions) == 6 and human.groups == ["younger", "older", "coast", "inland"]
    d = human.dist.numpy()
    for qi, q in enumerate(questions):
        np.testing.assert_allclose(d[:, qi, :len(q.options)].sum(-1), 1.0)
    # parks, younger: weights 5|10|30|35|20 and refusal 2
    np.testing.assert_allclose(d[0, 0], np.array([5, 10, 30, 35, 20]) / 100)
    assert float(human.refusal[0, 0]) == pytest.approx(2 / 102)


def test_wasserstein_matches_scipy():
    rng = np.random.default_rng(0)
    for n in (2, 3, 5, 7):
        x = np.sort(rng.uniform(-3, 3, n)) + np.arange(n)
        p, q = rng.dirichlet(np.ones(n)), rng.dirichlet(np.ones(n))
        assert op.wasserstein(p, q, x) == pytest.approx(wasserstein_distance(x, x, p, q), abs=1e-12)


def test_wd_end_cases_and_bounds():
    x = [1, 2, 3, 4]
    p = [0.1, 0.2, 0.3, 0.4]
    assert op.normalised_wd(p, p, x) == 0.0
    assert op.normalised_wd([1, 0, 0, 0], [0, 0, 0, 1], x) == pytest.approx(1.0)
    assert op.normalised_wd([1, 0, 0], [0, 0, 1], [0, 10, 11]) == pytest.approx(1.0)
    rng = np.random.default_rng(1)
    for _ in range(50):
        a, b = rng.dirichlet(np.ones(4)), rng.dirichlet(np.ones(4))
        assert 0.0 <= op.normalised_wd(a, b, [0, 1, 5, 6]) <= 1.0


def scorer_from(fn, name="scorer"):
    """An answer scorer: ``fn(prompt) -> probabilities over the letters`` (padded with 0)."""
    def score(prompts, letters):
        rows = []
        for p in prompts:
            probs = np.zeros(len(letters))
            given = np.asarray(fn(p), dtype=float)
            probs[:len(given)] = given
            with np.errstate(divide="ignore"):
                rows.append(np.log(probs))
        return np.array(rows)
    score.name = name
    return score


def _question_of(questions, prompt):
    return next(q for q in questions if f"Question: {q.text}" in prompt)


def test_representativeness_end_cases(questions, human):
    d = human.dist.numpy()

    def copy_group(g):  # exactly the group's ordinal distribution, no refusal
        def probs(prompt):
            q = _question_of(questions, prompt)
            return d[g, questions.ids.index(q.id), :len(q.options)]
        return probs

    def first_option(p):
        return [1.0]

    models = {"younger-copy": scorer_from(copy_group(0)), "first": scorer_from(first_option)}
    opinions = op.opinion_distributions(models, questions)
    np.testing.assert_allclose(opinions.refusal.numpy(), 0.0)
    rep = op.representativeness(opinions, human)
    assert float(rep.R[0, 0]) == pytest.approx(1.0)
    assert np.all((rep.R.numpy() >= 0) & (rep.R.numpy() <= 1))
    # human point mass on the last option vs model point mass on the first: WD = 1, R = 0
    last = op.HumanDistributions(["extreme"], ["all"], questions.ids, torch.full((1, len(questions), 5), float("nan")),
                                 torch.zeros(1, len(questions)))
    for qi, q in enumerate(questions):
        last.dist[0, qi, :len(q.options)] = torch.eye(len(q.options))[-1]
    rep = op.representativeness(opinions, last)
    assert float(rep.R[1, 0]) == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(rep.wd[1, 0].numpy(), 1.0)


def test_constructed_model_gives_exact_distribution(causal_tokenizer, short):
    questions, _ = short
    values = np.array([0.5, -1.0, 2.0, 0.0, 1.0])  # letters A-E
    model = constant_gpt2(causal_tokenizer, letter_logits(causal_tokenizer, values))
    out = op.opinion_distributions(model, questions)
    e = np.exp(values)
    np.testing.assert_allclose(out.dist[0, 0, :4].numpy(), e[:4] / e[:4].sum(), rtol=1e-5)  # q1: A-D, refusal E
    assert float(out.refusal[0, 0]) == pytest.approx(e[4] / e.sum(), rel=1e-5)
    np.testing.assert_allclose(out.dist[0, 1, :2].numpy(), e[:2] / e[:2].sum(), rtol=1e-5)  # q2: A-B, refusal C
    assert float(out.refusal[0, 1]) == pytest.approx(e[2] / e[:3].sum(), rel=1e-5)
    np.testing.assert_allclose(out.dist[0, 2, :3].numpy(), e[:3] / e[:3].sum(), rtol=1e-5)  # q3: no refusal
    assert float(out.refusal[0, 2]) == 0.0


def test_real_models_give_distributions(causal_model, short):
    questions, human = short
    out = op.opinion_distributions(causal_model, questions, context="Be honest.")
    for qi, q in enumerate(questions):
        row = out.dist[0, qi].numpy()
        assert row[:len(q.options)].sum() == pytest.approx(1.0) and np.isnan(row[len(q.options):]).all()
    assert np.all((out.refusal.numpy()[:, :2] > 0) & (out.refusal.numpy()[:, :2] < 1))
    rep = op.representativeness(out, human)
    assert rep.R.shape == (1, 2) and np.all((rep.R.numpy() >= 0) & (rep.R.numpy() <= 1))
    assert rep.topics == ["money", "town"] and rep.R_topic.shape == (1, 2, 2)
    assert repr(rep).startswith("Representativeness(names=<1 items>, groups=<2 items>")
    check_figure(out.figure("q1"))
    check_figure(rep.figure())


def test_prompt_longer_than_context_is_an_error(causal_model, questions):
    with pytest.raises(ValueError, match="context of 64"):
        op.opinion_distributions(causal_model, questions)


def test_steering_and_steerability(questions, human):
    d = human.dist.numpy()

    def steered(prompt):  # copies the group named in a steering context, otherwise uniform
        q = _question_of(questions, prompt)
        for g, name in enumerate(human.groups):
            if f"My {human.attributes[g]} is {name}." in prompt:
                return d[g, questions.ids.index(q.id), :len(q.options)]
        return np.ones(len(q.options)) / len(q.options)

    out = op.opinion_distributions({"steerable": scorer_from(steered)}, questions, steer=["qa", "bio", "portray"],
                                   groups=human)
    assert out.steered_dist.shape == (3, 4, 1, len(questions), 5)
    rep = op.representativeness(out, human)
    np.testing.assert_allclose(rep.steerability.numpy(), 1.0)
    assert rep.best_context.tolist() == [[1, 1, 1, 1]]  # bio
    assert np.all(rep.steered_R[0].numpy() < 1) and np.all(rep.R.numpy() < 1)
    check_figure(rep.figure())


def test_steering_contexts_follow_the_paper():
    qa = op.steering_context("qa", "region", "inland", ["coast", "inland"])
    assert qa == "Question: Which of the following best describes your region?\nA. coast\nB. inland\nAnswer: B"
    bio = op.steering_context("bio", "region", "inland", ["coast", "inland"], {"bio": "I live far from the sea."})
    assert bio.endswith("Description: I live far from the sea.")
    assert op.steering_context("portray", "region", "coast", ["coast"]) == \
        "Answer the following question as if your region were coast."
    with pytest.raises(ValueError, match="steering kind"):
        op.steering_context("persona", "region", "coast", ["coast"])


def test_consistency_across_topics():
    R = np.array([[0.9, 0.8, 0.7, 0.6]])
    R_topic = np.array([[[0.9, 0.7, 0.9], [0.8, 0.7, 0.95], [0.7, 0.6, 0.5], [0.6, 0.5, 0.55]]])
    # age group: best overall 0; topics' best 0, 0 (tie -> first), 1 -> 2/3; region: best 2; topics 2, 2, 3 -> 2/3
    assert op._consistency(R, R_topic, ["age", "age", "region", "region"])[0] == pytest.approx(2 / 3)
    assert np.isnan(op._consistency(R, R_topic, ["a", "b", "c", "d"])[0])


def test_save_load_roundtrip(tmp_path, questions, human):
    out = op.opinion_distributions(scorer_from(lambda p: [1.0, 1.0]), questions)
    rep = op.representativeness(out, human)
    back = op.Representativeness.load(rep.save(tmp_path / "rep"))
    assert torch.equal(back.R, rep.R) and back.groups == rep.groups and repr(back) == repr(rep)


def test_question_loader_names_line_and_field(tmp_path):
    good = '{"id": "a", "text": "Q?", "options": ["no", "yes"]}'
    path = write(tmp_path, "q.jsonl", good + '\n\n{"id": "b", "text": "Q2?", "options": ["x", "y"], "ordinal": [1]}\n')
    with pytest.raises(RecordError, match=r"q\.jsonl, line 3, field 'ordinal': 1 positions for 2"):
        op.load_questions(path)
    path = write(tmp_path, "q.json", '{"description": "t",\n "questions": [\n  ' + good
                 + ',\n  {"id": "a", "text": "x", "options": ["p", "q"]}\n]}')
    with pytest.raises(RecordError, match=r"line 4, field 'id': duplicate id 'a' \(first on line 3\)"):
        op.load_questions(path)
    path = write(tmp_path, "bad.json", '[\n {"id": "a",\n  "text": }\n]')
    with pytest.raises(RecordError, match=r"bad\.json, line 3: invalid JSON"):
        op.load_questions(path)
    path = write(tmp_path, "q.csv", "# test\nid,text,options,ordinal,refusal,topic\na,Q?,no|yes,1|2,Refused,t\n"
                 "b,Q2?,x|y|z,3|2|1,,\n")
    with pytest.raises(RecordError, match=r"q\.csv, line 4, field 'ordinal': positions must increase"):
        op.load_questions(path)
    path = write(tmp_path, "q2.csv", "id,text,options\na,Q?,no|yes\nb,,x|y\n")
    with pytest.raises(RecordError, match=r"line 3, field 'text': missing or empty"):
        op.load_questions(path)
    path = write(tmp_path, "q3.csv", "id,text,options,ordinal\na,Q?,no|yes,1|two\n")
    with pytest.raises(RecordError, match=r"line 2, field 'ordinal': 'two' is not a number"):
        op.load_questions(path)
    qs = op.load_questions(write(tmp_path, "ok.csv", "# a test set\nid,text,options,ordinal,refusal,topic\n"
                                 "a,Q?,no|yes,1|2,Refused,t1|t2\n"))
    assert qs[0] == op.Question("a", "Q?", ("no", "yes"), (1.0, 2.0), ("Refused",), ("t1", "t2"))
    assert qs.description == "a test set"
    with pytest.raises(ValueError, match="unsupported file type"):
        op.load_questions(write(tmp_path, "q.txt", "x"))


def test_human_loader_errors(tmp_path, questions):
    path = write(tmp_path, "h.csv", "question,group,weights\nparks,a,1|2|3|4|5\nnope,a,1|2\n")
    with pytest.raises(RecordError, match=r"line 3, field 'question': unknown question id 'nope'"):
        op.load_human_distributions(path, questions)
    path = write(tmp_path, "h2.csv", "question,group,weights\nparks,a,1|2|3\n")
    with pytest.raises(RecordError, match=r"line 2, field 'weights': 3 weights; 'parks' has 5 ordinal options"):
        op.load_human_distributions(path, questions)
    path = write(tmp_path, "h.json", '{"distributions": [\n {"question": "buses", "group": "g", "weights": '
                 '{"Satisfied": 3, "Sometimes": 1}}\n]}')
    with pytest.raises(RecordError, match=r"line 2, field 'weights': options \['Sometimes'\] are not options"):
        op.load_human_distributions(path, questions)
    path = write(tmp_path, "h3.json",
                 '[{"question": "buses", "group": "g", "weights": {"Satisfied": 3, "Refused": 1}}]')
    h = op.load_human_distributions(path, questions)
    np.testing.assert_allclose(h.dist[0, 1, :4].numpy(), [0, 0, 1, 0])
    assert float(h.refusal[0, 1]) == pytest.approx(0.25) and np.isnan(h.dist[0, 0].numpy()).all()


def test_option_letters_must_be_single_tokens():
    def two_tokens(text, add_special_tokens=False):
        return {"input_ids": [1, 2]}

    with pytest.raises(ValueError, match="'A' is not a single token"):
        single_token_ids(two_tokens, "A")
