"""Pruning, influence and the replacement / completeness scores."""

import pytest
import torch

import interp_widgets as iw
from interp_widgets.circuits.activations import input_hook
from interp_widgets.circuits.graph import attribution_graph
from interp_widgets.circuits.prune import graph_scores, influence, logit_weights, normalize_rows
from interp_widgets.circuits.transcoder import OUTPUT_HOOK
from tests.circuits.test_graph import PROMPT, random_transcoder
from tests.conftest import tiny_hf_model


@pytest.fixture(scope="module")
def model(causal_tokenizer):
    return iw.wrap(tiny_hf_model("llama"), causal_tokenizer, name="tiny-llama")


@pytest.fixture(scope="module")
def graph(model):
    return attribution_graph(model, random_transcoder(model), PROMPT)


def test_influence_is_the_neumann_series_in_closed_form(graph):
    norm = normalize_rows(graph.adjacency)
    w = logit_weights(graph)
    eye = torch.eye(len(w), dtype=torch.float64)
    expected = w @ (torch.linalg.inv(eye - norm) - eye)
    torch.testing.assert_close(influence(norm, w), expected)
    assert torch.allclose(norm.sum(1)[graph.adjacency.abs().sum(1) > 0], torch.tensor(1.0, dtype=torch.float64))


def test_threshold_one_keeps_everything(graph):
    kept = graph.prune(1.0, 1.0)
    assert kept.node_type == graph.node_type
    torch.testing.assert_close(kept.adjacency, graph.adjacency)


@pytest.mark.parametrize("thresholds", [(0.8, 0.98), (0.5, 0.9), (0.0, 0.0)])
def test_tokens_and_logits_survive_and_links_stay_inside(graph, thresholds):
    pruned = graph.prune(*thresholds)
    for kind in ("embedding", "logit"):
        assert pruned.node_type.count(kind) == graph.node_type.count(kind)
    assert pruned.adjacency.shape == (len(pruned.node_type),) * 2
    ids = set(pruned.node_ids)
    links = pruned.to_json()["links"]
    assert all(link["source"] in ids and link["target"] in ids for link in links)
    assert pruned.n_edges <= graph.n_edges and len(pruned.node_type) <= len(graph.node_type)
    # every kept feature/error node was needed to reach the node threshold
    inner = [i for i, t in enumerate(pruned.node_type) if t in ("feature", "error")]
    before = pruned.cumulative_influence[inner] - pruned.influence[inner]
    assert (before < thresholds[0] + 1e-6).all()
    # kept edge weights are the original ones
    full = {(l["source"], l["target"]): l["weight"] for l in graph.to_json()["links"]}
    assert all(full[(l["source"], l["target"])] == l["weight"] for l in links)


def test_default_pruning_is_smaller_and_keeps_the_top_node(graph):
    pruned = graph.prune()
    assert pruned.node_threshold == 0.8 and pruned.edge_threshold == 0.98
    assert len(pruned.node_type) < len(graph.node_type)
    top = int(graph.influence.argmax())
    assert graph.node_ids[top] in pruned.node_ids


def test_scores_lie_in_the_unit_interval(graph):
    for g in (graph, graph.prune()):
        r, c = graph_scores(g)
        assert 0 <= r <= 1 and 0 <= c <= 1
    assert graph.replacement_score < 1 and graph.completeness_score < 1


def mlps_replaced_by(model, tc):
    """Within the block the model's MLPs *are* the transcoder: MLP output m = Σ_{l<=m} decoders ·
    features of resid_mid l + b_dec m, so the transcoder's errors are zero up to rounding."""
    store = {}

    def read(l):
        def f(v):
            store[l] = v
        return f

    def write(m):
        def f(v):
            out = tc.b_dec[m].detach().to(v.dtype).expand_as(v)
            for l in range(m + 1):
                if tc.config.cross_layer or l == m:
                    out = out + tc.encode(l, store[l]).detach() @ tc.decoder(l, m).detach()
            return out
        return f

    L = model.cfg.n_layers
    patches = {input_hook(model, l): read(l) for l in range(L)}
    patches.update({OUTPUT_HOOK.format(layer=m): write(m) for m in range(L)})
    return model.patch(patches)


@pytest.mark.parametrize("cross_layer", [True, False])
def test_scores_are_one_when_errors_are_zero(model, cross_layer):
    tc = random_transcoder(model, cross_layer=cross_layer)
    with mlps_replaced_by(model, tc):
        graph = attribution_graph(model, tc, PROMPT)
    errors = [i for i, t in enumerate(graph.node_type) if t == "error"]
    assert float(graph.activation[errors].max()) < 1e-5
    assert graph.replacement_score == pytest.approx(1.0, abs=1e-4)
    assert graph.completeness_score == pytest.approx(1.0, abs=1e-4)
    pruned = graph.prune()
    assert pruned.replacement_score == pytest.approx(1.0, abs=1e-4)


def test_bad_thresholds(graph):
    with pytest.raises(ValueError, match="node_threshold"):
        graph.prune(1.5)
