"""Attribution graphs: exactness against frozen forward passes, invariants, bad input."""

import pytest
import torch

import interp_widgets as iw
from interp_widgets.circuits import Transcoder, TranscoderConfig
from interp_widgets.circuits.activations import input_hook
from interp_widgets.circuits.graph import attribution_graph, clean_run, frozen_names
from interp_widgets.circuits.transcoder import OUTPUT_HOOK

from tests.conftest import tiny_hf_model

PROMPT = "The quick brown fox jumps"


def random_transcoder(model, seed=0, **kw):
    torch.manual_seed(seed)
    cfg = dict(n_layers=model.cfg.n_layers, d_model=model.cfg.d_model, n_features=24, activation="relu") | kw
    tc = Transcoder(TranscoderConfig(**cfg))
    with torch.no_grad():
        tc.b_enc.normal_(0, 0.3)
        tc.b_dec.normal_(0, 0.1)
        for w in tc.W_dec:
            w.mul_(20)
    return tc


@pytest.fixture(scope="module")
def models(causal_tokenizer):
    return {k: iw.wrap(tiny_hf_model(k), causal_tokenizer, name=f"tiny-{k}")
            for k in ("llama", "gpt2", "gpt_neox")}


def frozen_effects(model, tc, graph, deltas, embed_delta=None):
    """Reference: rerun the model with attention patterns and norm scales frozen and every MLP
    output held at its recorded value + ``deltas[m]`` [pos, d]; returns the change of every
    feature node's pre-activation and of the logit nodes' demeaned logits (forward passes only)."""
    ids = torch.tensor(graph.tokens)
    run = clean_run(model, tc, ids)
    L = model.cfg.n_layers
    ins = [input_hook(model, l) for l in range(L)]
    base = {n: run.trace[n] for n in frozen_names(model)}

    def forward(mlp):
        patches = dict(base)
        patches.update({OUTPUT_HOOK.format(layer=m): mlp[m][None] for m in range(L)})
        if embed_delta is not None and mlp is not run.mlp_out:
            patches["blocks.0.hook_resid_pre"] = (run.embed + embed_delta)[None]
        with model.patch(patches):
            tr = model.run(ids, names=ins)
        logits = tr.logits[0, -1].double()
        return [tr[n][0].double() for n in ins], logits - logits.mean()

    x0, z0 = forward(run.mlp_out)
    x1, z1 = forward([y + d for y, d in zip(run.mlp_out, deltas)])
    out = torch.zeros(len(graph.node_type), dtype=torch.float64)
    for i, kind in enumerate(graph.node_type):
        l, p, f = int(graph.node_layer[i]), int(graph.node_pos[i]), int(graph.node_index[i])
        if kind == "feature":
            out[i] = (x1[l][p] - x0[l][p]) @ tc.W_enc[l][:, f].double().detach()
        elif kind == "logit":
            out[i] = z1[f] - z0[f]
    return out


def check_column(model, tc, graph, source, deltas, embed_delta=None):
    expected = frozen_effects(model, tc, graph, deltas, embed_delta)
    got = graph.adjacency[:, source].double()
    scale = max(1.0, float(expected.abs().max()))
    assert float((got - expected).abs().max()) < 1e-4 * scale, (source, got, expected)


TRANSCODERS = [dict(), dict(cross_layer=False), dict(activation="jumprelu"),
               dict(activation="topk", k=5, cross_layer=False)]


@pytest.mark.parametrize("kind", ["llama", "gpt2", "gpt_neox"])
@pytest.mark.parametrize("tc_kw", TRANSCODERS, ids=["clt-relu", "plt-relu", "clt-jumprelu", "plt-topk"])
def test_doubling_a_feature_or_an_error_changes_targets_by_the_adjacency(models, kind, tc_kw):
    check_exactness(models[kind], random_transcoder(models[kind], **tc_kw))


@pytest.mark.parametrize("kind", ["gpt_neox_sequential", "qwen2", "mistral"])
def test_exactness_in_the_other_causal_families(kind, causal_tokenizer):
    model = iw.wrap(tiny_hf_model(kind), causal_tokenizer, name=f"tiny-{kind}")
    check_exactness(model, random_transcoder(model))


def check_exactness(model, tc):
    graph = attribution_graph(model, tc, PROMPT, batch_size=7)
    run = clean_run(model, tc, torch.tensor(graph.tokens))
    L, P, d = model.cfg.n_layers, len(graph.tokens), model.cfg.d_model
    feats = [i for i, t in enumerate(graph.node_type) if t == "feature"]
    assert set(graph.node_layer[feats].tolist()) == set(range(L)), "features active in every layer"
    for s in feats[:: max(1, len(feats) // 4)]:            # double a feature: add a · decoder
        l, p, f = int(graph.node_layer[s]), int(graph.node_pos[s]), int(graph.node_index[s])
        deltas = [torch.zeros(P, d) for _ in range(L)]
        for m in range(l, L):
            if tc.config.cross_layer or m == l:
                deltas[m][p] = graph.activation[s] * tc.decoder(l, m)[f].detach()
        check_column(model, tc, graph, s, deltas)
    errors = [i for i, t in enumerate(graph.node_type) if t == "error"]
    for s in (errors[1], errors[P + 2], errors[-1]):       # add the error vector once more
        l, p = int(graph.node_layer[s]), int(graph.node_pos[s])
        deltas = [torch.zeros(P, d) for _ in range(L)]
        deltas[l][p] = run.errors[l][p]
        check_column(model, tc, graph, s, deltas)
    s = next(i for i, t in enumerate(graph.node_type) if t == "embedding" and graph.node_pos[i] == 1)
    delta = torch.zeros(P, d)
    delta[1] = run.embed[1]
    check_column(model, tc, graph, s, [torch.zeros(P, d)] * L, embed_delta=delta)


def test_the_shipped_llama_with_a_random_clt():
    model = iw.load("tiny-llama")
    tc = random_transcoder(model, n_features=64)
    graph = attribution_graph(model, tc, "To be, or not to be", max_feature_nodes=40, batch_size=16)
    assert graph.node_type.count("feature") == 40
    run = clean_run(model, tc, torch.tensor(graph.tokens))
    L, P, d = model.cfg.n_layers, len(graph.tokens), model.cfg.d_model
    s = max((i for i, t in enumerate(graph.node_type) if t == "feature"), key=lambda i: -int(graph.node_layer[i]))
    l, p, f = int(graph.node_layer[s]), int(graph.node_pos[s]), int(graph.node_index[s])
    deltas = [torch.zeros(P, d) for _ in range(L)]
    for m in range(l, L):
        deltas[m][p] = graph.activation[s] * tc.decoder(l, m)[f].detach()
    check_column(model, tc, graph, s, deltas)
    assert run.acts[l][p, f] == graph.activation[s]


def test_feature_cap_keeps_the_largest_activation_times_decoder_norm(models):
    model = models["llama"]
    tc = random_transcoder(model)
    full = attribution_graph(model, tc, PROMPT)
    capped = attribution_graph(model, tc, PROMPT, max_feature_nodes=10)
    norms = tc.decoder_norms().detach()
    score = lambda g: sorted((float(g.activation[i] * norms[int(g.node_layer[i]), int(g.node_index[i])])
                              for i, t in enumerate(g.node_type) if t == "feature"), reverse=True)
    assert score(capped) == pytest.approx(score(full)[:10])


def test_graph_invariants(models):
    model = models["gpt2"]
    graph = attribution_graph(model, random_transcoder(model), PROMPT)
    A = graph.adjacency
    tgt, src = A.nonzero(as_tuple=True)
    layer = graph.node_layer.clone()
    assert (graph.node_pos[src] <= graph.node_pos[tgt]).all()           # never backwards in position
    feature_src = torch.tensor([graph.node_type[i] in ("feature", "error") for i in src.tolist()])
    assert (layer[src][feature_src] < layer[tgt][feature_src]).all()   # strictly upwards in layer
    assert all(graph.node_type[i] in ("feature", "logit") for i in tgt.unique().tolist())
    logits = [i for i, t in enumerate(graph.node_type) if t == "logit"]
    probs = graph.token_prob[logits]
    assert 1 <= len(logits) <= 10 and (probs[:-1] >= probs[1:]).all()
    assert float(probs[:-1].sum()) < 0.95


def test_repr_is_deterministic_and_figure_draws(models):
    model = models["llama"]
    tc = random_transcoder(model)
    a, b = attribution_graph(model, tc, PROMPT), attribution_graph(model, tc, PROMPT)
    assert repr(a) == repr(b)
    assert repr(a).startswith("Graph(prompt='The quick brown fox jumps', tokens=")
    torch.testing.assert_close(a.adjacency, b.adjacency)
    fig = a.figure()
    assert fig.axes[0].get_yticklabels()[0].get_text() == "Emb"
    assert fig.axes[0].get_yticklabels()[-1].get_text() == "Lgt"


def test_bad_input(models, causal_tokenizer):
    model = models["llama"]
    other = iw.wrap(tiny_hf_model("gpt2"), causal_tokenizer)
    tc = Transcoder(TranscoderConfig(n_layers=2, d_model=16, n_features=8))
    with pytest.raises(ValueError, match="trained for another model"):
        attribution_graph(model, tc, PROMPT)
    with pytest.raises(ValueError, match="context"):
        attribution_graph(other, random_transcoder(other), " ".join(["fox"] * 80))
    with pytest.raises(ValueError, match="causal"):
        bert = iw.wrap(tiny_hf_model("bert"), causal_tokenizer)
        attribution_graph(bert, random_transcoder(bert), PROMPT)
