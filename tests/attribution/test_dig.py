"""DIG and UDIG: the chunked neighbour graph against a brute-force one, its per-model cache,
monotone paths with the right ends, the monotonize step in closed form, completeness residuals
that shrink as the path is refined, the straight-path identity with IG, and bad input."""

from __future__ import annotations

import pytest
import torch
import transformers

import interp_widgets as iw
from interp_widgets import attribution as A
from interp_widgets.attribution import Target
from interp_widgets.attribution._forward import Runner, resolve_baseline
from interp_widgets.attribution.discretized_ig import between, monotone_path
from interp_widgets.attribution.neighbors import build_graph, nearest, neighbor_graph
from tests.conftest import _config, tiny_hf_model

TEXT = "The quick brown fox jumps"
MASKED = "The quick [MASK] fox jumps"
METHODS = {"dig": A.dig, "udig": A.udig}


def _text(model):
    return TEXT if model.cfg.causal else MASKED


@pytest.fixture(scope="module")
def gpt2(causal_tokenizer):
    return iw.wrap(tiny_hf_model("gpt2"), causal_tokenizer)


def _brute_force(queries, table, k, exclude_self):
    dist = torch.cdist(queries, table)
    if exclude_self:
        dist.fill_diagonal_(float("inf"))
    return dist.topk(k, largest=False)


def test_neighbor_graph_equals_brute_force_in_any_chunking():
    torch.manual_seed(0)
    table = torch.randn(300, 16)
    ref_d, ref_i = _brute_force(table, table, 20, exclude_self=True)
    for chunk in (1, 7, 64, 300, None):
        graph = build_graph(table, 20, chunk_size=chunk)
        assert torch.equal(graph.indices, ref_i), chunk
        torch.testing.assert_close(graph.distances, ref_d, rtol=1e-5, atol=1e-5)
    queries = torch.randn(9, 16)
    d, i = nearest(queries, table, 5, chunk_size=4)
    ref_d, ref_i = _brute_force(queries, table, 5, exclude_self=False)
    assert torch.equal(i, ref_i)
    torch.testing.assert_close(d, ref_d, rtol=1e-5, atol=1e-5)


def test_graph_cached_per_model_and_rebuilt_when_embeddings_change(causal_tokenizer):
    a = iw.wrap(tiny_hf_model("gpt2", seed=0), causal_tokenizer)
    b = iw.wrap(tiny_hf_model("gpt2", seed=1), causal_tokenizer)
    n = len(causal_tokenizer)  # rows beyond the tokenizer's words are not in the graph
    ga = neighbor_graph(a, 40)
    assert ga.indices.shape == (n, 40)
    assert torch.equal(ga.indices, build_graph(a.W_E[:n], 40).indices)
    assert neighbor_graph(a, 40) is ga
    assert neighbor_graph(iw.wrap(a.hf, causal_tokenizer), 40) is ga  # same embedding module
    gb = neighbor_graph(b, 40)
    assert gb is not ga and not torch.equal(gb.indices, ga.indices)
    assert neighbor_graph(a, 40) is ga  # b's graph lives with b's embeddings
    assert neighbor_graph(a, 10_000).k == n - 1
    with torch.no_grad():
        a.adapter.embedding().weight[3] += 5.0
    fresh = neighbor_graph(a, 40)
    assert fresh is not ga
    assert torch.equal(fresh.indices, build_graph(a.W_E[:n], 40).indices)


def _check_monotone(res, model, text, baseline="pad"):
    runner = Runner(model, text)
    x = runner.embeddings
    base = resolve_baseline(runner, baseline)
    path = res.path
    moving = torch.tensor([len(a) > 0 for a in res.info["anchors"]])
    assert torch.equal(path[-1], x)
    assert torch.equal(path[0][moving], base[moving])
    assert torch.equal(path[0][~moving], x[~moving])  # specials stay at the input
    assert (path == x).all(-1).all(0).logical_or(moving).all()
    for k in range(len(path) - 1):
        assert between(path[k], x, path[k + 1]).all(), k  # each point between its predecessor and x
        assert between(path[0], x, path[k]).all(), k
    return x, base, path


@pytest.mark.parametrize("name,strategy", [("dig", "greedy"), ("udig", "maxcount")])
def test_paths_monotone_from_baseline_to_input(tiny, name, strategy):
    res = METHODS[name](tiny, _text(tiny), Target.logit(7), steps=5, strategy=strategy, upscale=1)
    assert res.info["points"] == len(res.path) == 2 * (5 + 2) - 1
    _check_monotone(res, tiny, _text(tiny))
    for ids in res.info["anchors"]:
        assert len(ids) in (0, 5)
        words = [i for i in ids if i >= 0]
        assert len(set(words)) == len(words)  # a word is used once per path


@pytest.mark.parametrize("name", ["dig", "udig"])
@pytest.mark.parametrize("strategy", ["greedy", "maxcount"])
def test_anchors_and_monotonize_step_in_closed_form(gpt2, name, strategy):
    steps, k = 6, 25
    res = METHODS[name](gpt2, TEXT, 3, steps=steps, strategy=strategy, neighbors=k)
    x, base, path = _check_monotone(res, gpt2, TEXT)
    table = gpt2.W_E[:len(gpt2.tokenizer)]
    ids = Runner(gpt2, TEXT).input_ids
    graph = neighbor_graph(gpt2, k)
    from_input = path.flip(0)  # x, p_1, ..., p_steps, baseline
    for p, anchors in enumerate(res.info["anchors"]):
        prev_word = int(ids[p])
        line = base[p] + torch.arange(steps, 0, -1)[:, None] / (steps + 1) * (x[p] - base[p])
        near = nearest(line, table, k)[1]
        for j, word in enumerate(anchors):
            anchor = table[word] if word >= 0 else base[p]
            if word >= 0 and name == "dig":
                assert word in graph.indices[prev_word].tolist()  # a neighbour of the previous word
            if word >= 0 and name == "udig":
                assert word in near[j].tolist()  # among the nearest words of its point on the line
            prev, point = from_input[j, p], from_input[j + 1, p]
            mono = between(base[p], prev, anchor)
            assert torch.equal(point[mono], anchor[mono])
            moved = prev - (prev - base[p]) / steps
            torch.testing.assert_close(point[~mono], moved[~mono], rtol=0, atol=1e-6)
            prev_word = word


def test_monotone_path_keeps_straight_line_and_dig_on_it_is_ig(tiny):
    """Anchors on the straight line are already monotone, so the path is the line itself, and
    sum_k grad(x^k)(x^{k+1} - x^k) over n + 1 equally spaced points is IG's left Riemann rule."""
    n = 8
    runner = Runner(tiny, _text(tiny))
    x, base = runner.embeddings, resolve_baseline(runner, "pad")
    alphas = torch.arange(n - 1, 0, -1, dtype=x.dtype) / n  # the inner points, input end first
    anchors = base + alphas[:, None, None] * (x - base)
    path = monotone_path(anchors, x, base, n)
    line = base + (torch.arange(n + 1, dtype=x.dtype) / n)[:, None, None] * (x - base)
    torch.testing.assert_close(path, line, rtol=0, atol=1e-6)
    target = Target.logit_diff(7, 9)
    res = A.path_attribution(tiny, _text(tiny), path, target)
    ig = A.integrated_gradients(tiny, _text(tiny), target, baseline="pad", steps=n, method="riemann_left")
    scale = ig.attributions.abs().max()
    assert (res.attributions - ig.attributions).abs().max() <= 1e-4 * scale
    assert res.delta == pytest.approx(ig.delta, abs=1e-4 * max(1.0, abs(ig.target_value)))


@pytest.mark.parametrize("kind", ["gpt2", "llama", "bert"])
@pytest.mark.parametrize("name", ["dig", "udig"])
def test_completeness_residual_reported_and_shrinks_as_path_is_refined(kind, name, causal_tokenizer,
                                                                         encoder_tokenizer):
    model = iw.wrap(tiny_hf_model(kind), encoder_tokenizer if kind == "bert" else causal_tokenizer)
    text = _text(model)
    coarse, fine = (METHODS[name](model, text, Target.logit(7), steps=6, upscale=u) for u in (0, 5))
    enc = model.encode(text)
    kwargs = {k: v.expand(2, -1) for k, v in enc.model_kwargs().items() if k != "input_ids"}
    pos = -1 if model.cfg.causal else int((enc.input_ids[0] == model.tokenizer.mask_token_id).nonzero()[0])
    for res in (coarse, fine):  # the reported residual is what it says, from independent forwards
        with torch.no_grad():
            ends = torch.stack([res.path[-1], res.path[0]])
            f_x, f_b = model.hf(inputs_embeds=ends, **kwargs).logits[:, pos, 7].tolist()
        assert res.target_value == pytest.approx(f_x, abs=1e-4)
        assert res.info["baseline_value"] == pytest.approx(f_b, abs=1e-4)
        gap = f_x - f_b
        total = float(res.attributions.double().sum())
        assert res.delta == pytest.approx(total - gap, abs=1e-4 * max(1, abs(gap)))
        assert res.info["relative_delta"] == pytest.approx(abs(res.delta) / abs(gap), rel=1e-3, abs=1e-6)
    # left Riemann sums along a fixed polygon: error ~ 1/points (8 -> 225 points); measured
    # ratios 25x-80x and fine relative errors of 0.006-0.022 on these models
    assert fine.info["relative_delta"] < coarse.info["relative_delta"] / 4
    assert fine.info["relative_delta"] < 0.05


def test_every_target_kind(gpt2, encoder_tokenizer):
    logits = gpt2(TEXT)[0]
    cases = [(Target.logit(7, pos=2), float(logits[2, 7])),
             (Target.prob(7), float(logits[-1].softmax(-1)[7])),
             (Target.logit_diff(7, "mean"), float(logits[-1, 7] - logits[-1].mean())),
             (Target.function(lambda row: row[-1].logsumexp(-1)), float(logits[-1].logsumexp(-1)))]
    for target, value in cases:
        for fn in (A.dig, A.udig, A.sig):
            res = fn(gpt2, TEXT, target, steps=4)
            assert res.target_value == pytest.approx(value, rel=1e-4, abs=1e-6), (fn, target)
    config = _config("bert")
    config.num_labels = 3
    clf = iw.wrap(transformers.BertForSequenceClassification(config).eval(), encoder_tokenizer)
    res = A.dig(clf, TEXT, Target.class_score(2), steps=4, upscale=3)
    assert res.target == "class 2"
    assert res.target_value == pytest.approx(float(clf(TEXT)[0, 2]), abs=1e-5)
    assert res.info["relative_delta"] < 0.2


def test_result_keeps_path_through_save_and_load(gpt2, tmp_path):
    res = A.udig(gpt2, TEXT, 3, steps=3)
    back = A.TokenAttribution.load(res.save(tmp_path / "udig"))
    torch.testing.assert_close(back.path, res.path)
    assert back.info["anchors"] == res.info["anchors"] and back.delta == res.delta
    assert "path" not in repr(res)


def test_bad_input(gpt2):
    for fn in (A.dig, A.udig):
        with pytest.raises(ValueError, match="unknown strategy"):
            fn(gpt2, TEXT, 3, strategy="closest")
        for steps in (0, -2, 2.5, True):
            with pytest.raises(ValueError, match="steps"):
                fn(gpt2, TEXT, 3, steps=steps)
        with pytest.raises(ValueError, match="upscale"):
            fn(gpt2, TEXT, 3, upscale=-1)
        with pytest.raises(ValueError, match="neighbors"):
            fn(gpt2, TEXT, 3, neighbors=0)
        with pytest.raises(ValueError, match="baseline has shape"):
            fn(gpt2, TEXT, 3, baseline=torch.zeros(2, 32))
        with pytest.raises(ValueError, match="empty"):
            fn(gpt2, "", 3)
        with pytest.raises(ValueError, match="no tokens"):
            fn(gpt2, torch.tensor([], dtype=torch.long), 3)
    x = Runner(gpt2, TEXT).embeddings
    with pytest.raises(ValueError, match="path must be a tensor"):
        A.path_attribution(gpt2, TEXT, x)
    with pytest.raises(ValueError, match="end at the input"):
        A.path_attribution(gpt2, TEXT, torch.stack([x, torch.zeros_like(x)]))
    with pytest.raises(ValueError, match="chunk_size"):
        build_graph(torch.randn(10, 4), 3, chunk_size=0)
    with pytest.raises(ValueError, match="k must be"):
        build_graph(torch.randn(10, 4), 10)
