"""Attribution graphs against circuit-tracer 0.5 (nnsight backend) on the shipped Llama model:
a random per-layer JumpReLU transcoder and the shipped cross-layer transcoder, converted to
circuit-tracer's own transcoder classes; circuit-tracer runs in the peer environment.

circuit-tracer treats position 0 as a sink: it drops the features there and zeroes the error
nodes there (``zero_positions``), while ``iw.circuits.attribution_graph`` keeps them. Nothing
else depends on those nodes' split, so the check is: the same active features at every other
position with the same activations, and the same adjacency between all nodes except the
position-0 features and errors (every edge among features, errors, token embeddings and logits).
circuit-tracer's ``prune_graph`` and ``compute_graph_scores`` also run on our whole graph: same
kept nodes and edges, cumulative influence, replacement and completeness scores.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import interp_widgets as iw
from interp_widgets.circuits import Transcoder, TranscoderConfig, attribution_graph, save_transcoder

from .peer import ROOT, run_peer

MODEL = ROOT / "interp_widgets" / "shipped" / "tiny-llama"
TEXT = "The king said to the queen that"


def _random_plt(model) -> Transcoder:
    torch.manual_seed(0)
    c = model.cfg
    tc = Transcoder(TranscoderConfig(n_layers=c.n_layers, d_model=c.d_model, n_features=48,
                                     cross_layer=False, activation="jumprelu", model_name=model.name),
                    init_threshold=0.3)
    with torch.no_grad():
        for w in tc.W_dec:
            w.normal_(0, 0.05)
        tc.b_dec.normal_(0, 0.01)
        tc.b_enc.normal_(0, 0.1)
    return tc


def _keys(graph) -> list[tuple]:
    """(type, layer, position, feature or vocabulary id) per node of one of our graphs, the key
    the circuit-tracer nodes get too."""
    return [(t, int(l), int(p), int(i) if t in ("feature", "logit") else 0)
            for t, l, p, i in zip(graph.node_type, graph.node_layer, graph.node_pos, graph.node_index)]


@pytest.fixture(scope="module", params=["per-layer", "cross-layer"])
def compared(request, tmp_path_factory):
    torch.set_num_threads(1)
    model = iw.load("tiny-llama")
    work = tmp_path_factory.mktemp(f"ct-{request.param}")
    if request.param == "per-layer":
        tc = _random_plt(model)
        path = save_transcoder(tc, work / "transcoder")
    else:
        tc = iw.circuits.load_transcoder("tiny-llama-clt", model)
        path = ROOT / "interp_widgets" / "shipped" / "tiny-llama-clt" / "model.safetensors"
    ids = model.to_tokens(TEXT)[0]
    ours = attribution_graph(model, tc, ids)
    is_logit = np.array([t == "logit" for t in ours.node_type])
    logit_ids = ours.node_index.numpy()[is_logit].tolist()
    np.savez(work / "graph.npz", adjacency=ours.adjacency.numpy(), n_layers=ours.n_layers,
             n_features=sum(t == "feature" for t in ours.node_type), n_tokens=len(ours.tokens),
             logit_probs=ours.token_prob.numpy()[is_logit])
    theirs = run_peer("ct_graph.py", {"model": str(MODEL), "transcoder": str(path), "ids": ids.tolist(),
                                      "logits": logit_ids, "graph": str(work / "graph.npz"),
                                      "node_threshold": 0.8, "edge_threshold": 0.98}, work)
    with torch.no_grad():
        logits = model.run(ids, names=[]).logits[0].numpy()
    return ours, theirs, logits


def test_same_model(compared):
    _, theirs, logits = compared
    assert np.abs(logits - theirs["logits"]).max() <= 1e-4


def test_same_nodes_and_activations(compared):
    ours, theirs, _ = compared
    mine = {k: float(a) for k, a in zip(_keys(ours), ours.activation) if k[0] == "feature" and k[2] > 0}
    ref = {("feature", int(l), int(p), int(f)): float(a)
           for (l, p, f), a in zip(theirs["features"], theirs["activations"])}
    assert len(ref) > 50 and all(k[2] > 0 for k in ref)
    assert mine.keys() == ref.keys()
    assert max(abs(mine[k] - ref[k]) for k in ref) <= 1e-5 * max(abs(v) for v in ref.values())
    assert [k[3] for k in _keys(ours) if k[0] == "logit"] == theirs["logit_ids"].tolist()


def test_adjacency_matches_circuit_tracer(compared):
    ours, theirs, _ = compared
    L, P = ours.n_layers, len(ours.tokens)
    mine = {k: i for i, k in enumerate(_keys(ours))}
    ref_keys = ([("feature", int(l), int(p), int(f)) for l, p, f in theirs["features"]]
                + [("error", l, p, 0) for l in range(L) for p in range(P)]
                + [("embedding", -1, p, 0) for p in range(P)]
                + [("logit", L, P - 1, int(t)) for t in theirs["logit_ids"]])
    assert len(ref_keys) == theirs["adjacency"].shape[0]
    shared = [(mine[k], j) for j, k in enumerate(ref_keys) if k[0] in ("embedding", "logit") or k[2] > 0]
    a, b = (np.array(ix) for ix in zip(*shared))
    got = ours.adjacency.numpy()[np.ix_(a, a)]
    want = theirs["adjacency"][np.ix_(b, b)]
    assert np.count_nonzero(want) > 1000
    assert np.abs(got - want).max() <= 1e-5 * np.abs(want).max()


def test_pruning_and_influence_match_circuit_tracer(compared):
    """circuit-tracer's ``prune_graph`` and ``compute_graph_scores`` run on our graph."""
    ours, theirs, _ = compared
    index = {k: i for i, k in enumerate(_keys(ours))}
    pruned = ours.prune(0.8, 0.98)
    kept = np.array([index[k] for k in _keys(pruned)])
    assert sorted(kept.tolist()) == np.flatnonzero(theirs["node_mask"]).tolist()
    edges = np.zeros_like(theirs["edge_mask"])
    edges[np.ix_(kept, kept)] = pruned.adjacency.numpy() != 0
    assert 0 < edges.sum() < (ours.adjacency.numpy() != 0).sum()
    assert np.array_equal(edges, theirs["edge_mask"] & (ours.adjacency.numpy() != 0))
    assert np.abs(ours.cumulative_influence.numpy() - theirs["cumulative"]).max() <= 1e-5
    assert ours.replacement_score == pytest.approx(float(theirs["scores"][0]), abs=1e-6)
    assert ours.completeness_score == pytest.approx(float(theirs["scores"][1]), abs=1e-6)
