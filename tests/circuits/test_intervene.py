"""Interventions on features and error nodes; generation under an intervention."""

import pytest
import torch

import interp_widgets as iw
from interp_widgets.circuits.graph import Graph, attribution_graph, clean_run
from interp_widgets.circuits.intervene import generate, intervene
from tests.circuits.test_graph import PROMPT, random_transcoder
from tests.conftest import tiny_hf_model


@pytest.fixture(scope="module")
def setup(causal_tokenizer):
    model = iw.wrap(tiny_hf_model("llama"), causal_tokenizer, name="tiny-llama")
    tc = random_transcoder(model, cross_layer=False)
    run = clean_run(model, tc, model.to_tokens(PROMPT)[0])
    return model, tc, run


def last_layer_feature(run):
    """An active feature of the last layer at the last position (it only reaches the logits)."""
    acts = run.acts[-1][-1]
    return len(run.acts) - 1, len(acts.nonzero()) and int(acts.nonzero()[0])


def test_setting_a_last_layer_feature_moves_logits_along_its_decoder(setup):
    model, tc, run = setup
    L, P = len(run.acts), run.acts[0].shape[0]
    l, f = last_layer_feature(run)
    a = float(run.acts[l][-1, f])
    out = intervene(model, tc, PROMPT, {(l, P - 1, f): 3 * a + 1})
    resid = model.run(PROMPT, names=[f"blocks.{L - 1}.hook_resid_post"])[f"blocks.{L - 1}.hook_resid_post"][0, -1]
    expected = model.unembed(resid + (2 * a + 1) * tc.decoder(l, l)[f].detach())
    torch.testing.assert_close(out["logits"], expected.float(), atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(out["baseline_logits"], model(PROMPT)[0, -1].float())
    scaled = intervene(model, tc, PROMPT, {(l, -1, f): 3 + 1 / a}, mode="scale")
    torch.testing.assert_close(scaled["logits"], out["logits"], atol=1e-4, rtol=1e-4)


def test_removing_an_error_node_subtracts_the_error(setup):
    model, tc, run = setup
    L = len(run.acts)
    out = intervene(model, tc, PROMPT, {}, errors={(L - 1, -1): 0.0})
    resid = model.run(PROMPT, names=[f"blocks.{L - 1}.hook_resid_post"])[f"blocks.{L - 1}.hook_resid_post"][0, -1]
    torch.testing.assert_close(out["logits"], model.unembed(resid - run.errors[-1][-1]).float(),
                               atol=1e-4, rtol=1e-4)


def test_identity_interventions_change_nothing(setup):
    model, tc, run = setup
    l, p = 0, 2
    f = int(run.acts[l][p].nonzero()[0])
    for kw in (dict(features={(l, p, f): float(run.acts[l][p, f])}),
               dict(features={(l, p, f): 1.0}, mode="scale"), dict(features={}, errors={(0, 1): 1.0})):
        for freeze in (True, False):
            out = intervene(model, tc, PROMPT, freeze_attention=freeze, **kw)
            torch.testing.assert_close(out["logits"], out["baseline_logits"], atol=1e-5, rtol=1e-5)
            assert [t for t, _ in out["top_logits"]] == [t for t, _ in out["baseline"]]


def test_frozen_and_recomputed_attention_differ(setup):
    model, tc, run = setup
    f = int(run.acts[0][1].nonzero()[0])
    frozen = intervene(model, tc, PROMPT, {(0, 1, f): 50.0}, freeze_attention=True)
    free = intervene(model, tc, PROMPT, {(0, 1, f): 50.0}, freeze_attention=False)
    assert not torch.allclose(frozen["logits"], free["logits"])
    assert not torch.allclose(frozen["logits"], frozen["baseline_logits"])


def test_generation_under_an_intervention(setup):
    model, tc, run = setup
    ids = model.to_tokens(PROMPT)
    hf = model.hf.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=4, do_sample=False,
                           pad_token_id=0)
    f = int(run.acts[0][1].nonzero()[0])
    out = generate(model, tc, PROMPT, {(0, 1, f): 50.0}, n_tokens=4)
    assert out["baseline_tokens"] == hf[0, ids.shape[1]:].tolist()
    first = intervene(model, tc, PROMPT, {(0, 1, f): 50.0}, freeze_attention=False)["logits"].argmax()
    assert out["tokens"][0] == int(first) and len(out["tokens"]) == 4
    same = generate(model, tc, PROMPT, {(0, 1, f): float(run.acts[0][1, f])}, n_tokens=4)
    assert same["tokens"] == same["baseline_tokens"]
    with pytest.raises(ValueError, match="context"):
        generate(model, tc, PROMPT, {}, n_tokens=100)


def test_graph_intervene_by_node_id(setup):
    model, tc, run = setup
    graph = attribution_graph(model, tc, PROMPT)
    fid = next(n for n, t in zip(graph.node_ids, graph.node_type) if t == "feature")
    eid = next(n for n, t in zip(graph.node_ids, graph.node_type) if t == "error")
    out = graph.intervene({fid: 0.0, eid: 2.0})
    assert set(out) == {"top_logits", "baseline"} and len(out["top_logits"]) == 10
    probs = [p for _, p in out["top_logits"]]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1
    same = graph.intervene({fid: 1.0})
    assert [t for t, _ in same["top_logits"]] == [t for t, _ in same["baseline"]]
    assert [p for _, p in same["top_logits"]] == pytest.approx([p for _, p in same["baseline"]], abs=1e-6)
    with pytest.raises(KeyError, match="no node"):
        graph.intervene({"9_9_9": 1.0})
    emb = next(n for n, t in zip(graph.node_ids, graph.node_type) if t == "embedding")
    with pytest.raises(ValueError, match="embedding"):
        graph.intervene({emb: 1.0})
    with pytest.raises(RuntimeError, match="attach"):
        Graph.from_json(graph.to_json()).intervene({fid: 0.0})


def test_interventions_on_features_that_do_not_exist(setup):
    model, tc, _ = setup
    L, F = tc.config.n_layers, tc.config.n_features
    for bad in [(L, 0, 0), (0, 0, F), (0, 99, 0), (-1, 0, 0)]:
        with pytest.raises(ValueError, match="does not exist"):
            intervene(model, tc, PROMPT, {bad: 1.0})
    with pytest.raises(ValueError, match="does not exist"):
        intervene(model, tc, PROMPT, {}, errors={(L, 0): 0.0})
    with pytest.raises(ValueError, match="mode"):
        intervene(model, tc, PROMPT, {}, mode="add")
