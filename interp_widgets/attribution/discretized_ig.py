"""Discretized integrated gradients (DIG; Sanyal & Ren 2021) and uniform DIG (UDIG; Kundu &
Sinha Roy 2024): integrate along monotone paths through vocabulary-word anchors instead of the
straight line from the baseline to the input embeddings."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ._forward import Runner, resolve_baseline
from .neighbors import nearest, neighbor_graph, word_count
from .results import TokenAttribution
from .targets import resolve_target

STRATEGIES = ("greedy", "maxcount")


def between(a: torch.Tensor, b: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """Whether ``p`` lies between ``a`` and ``b`` in each coordinate (ends included; broadcast)."""
    return (p >= torch.minimum(a, b)) & (p <= torch.maximum(a, b))


def monotone_path(anchors: torch.Tensor, x: torch.Tensor, baseline: torch.Tensor, steps: int) -> torch.Tensor:
    """DIG's monotonize step. ``anchors`` [m, pos, d] ordered from the input toward the baseline;
    starting at ``x`` [pos, d], each next point keeps the anchor's coordinates that lie between
    the baseline and the previous point and moves every other coordinate 1/``steps`` of the way
    to the baseline (c_d = w_d - (w_d - w'_d) / steps). Returns the path [m + 2, pos, d] from
    ``baseline`` to ``x``: every point lies between its predecessor and ``x`` coordinate-wise."""
    points = [x]
    for anchor in anchors:
        prev = points[-1]
        moved = prev - (prev - baseline) / steps
        point = torch.where(between(baseline, prev, anchor), anchor, moved)
        points.append(point.clamp(torch.minimum(prev, baseline), torch.maximum(prev, baseline)))
    points.append(baseline)
    return torch.stack(points[::-1])


def upscale_path(path: torch.Tensor, rounds: int) -> torch.Tensor:
    """Insert the midpoint of every segment of ``path`` [n, ...], ``rounds`` times (n -> 2n - 1)."""
    for _ in range(rounds):
        mid = 0.5 * (path[:-1] + path[1:])
        out = torch.empty((2 * len(path) - 1, *path.shape[1:]), dtype=path.dtype, device=path.device)
        out[0::2], out[1::2] = path, mid
        path = out
    return path


def path_sum(runner: Runner, bound, path: torch.Tensor, chunk: int) -> torch.Tensor:
    """sum_k dF/dx(x^k) * (x^{k+1} - x^k) over the points of ``path`` [n, pos, d] (a left
    Riemann sum of the line integral along the polygon), ``chunk`` points per pass -> [pos, d]
    float64."""
    points, deltas = path[:-1], path[1:] - path[:-1]
    total = torch.zeros(path.shape[1:], dtype=torch.float64, device=path.device)
    for i in range(0, len(points), chunk):
        pts = points[i:i + chunk].detach().clone().requires_grad_(True)
        with torch.enable_grad():
            logits = runner.logits(patches={"hook_embed": lambda v: pts}, n=len(pts))
            (grad,) = torch.autograd.grad(bound(logits).sum(), pts)
        total += (grad.double() * deltas[i:i + chunk].double()).sum(0)
    return total


def _choose(candidates: np.ndarray, current: np.ndarray, baseline: np.ndarray, table: np.ndarray,
            strategy: str, steps: int) -> int:
    """The anchor among ``candidates`` (ids, closest first): ``greedy`` -- the smallest distance
    between the candidate and its monotonized version; ``maxcount`` -- the most coordinates between
    the baseline and ``current``. Ties go to the earlier candidate; -1 if there are none."""
    vecs = table[candidates]
    keep = ~(vecs == baseline).all(-1)  # the baseline word is reached only by running out
    candidates, vecs = candidates[keep], vecs[keep]
    if len(candidates) == 0:
        return -1
    mono = (vecs >= np.minimum(baseline, current)) & (vecs <= np.maximum(baseline, current))
    if strategy == "greedy":
        target = current - (current - baseline) / steps
        score = np.linalg.norm(np.where(mono, 0.0, vecs - target), axis=-1)
    else:
        score = -mono.sum(-1)
    return int(candidates[np.argmin(score)])


def _anchor_ids(word: int, x: np.ndarray, baseline: np.ndarray, table: np.ndarray,
                candidates: Callable[[int, int], np.ndarray], strategy: str, steps: int) -> list[int]:
    """``steps`` anchor word ids from ``word`` (embedding ``x``) toward the baseline (-1: the
    baseline itself); ``candidates(j, current_word)`` gives the ids to choose the j-th anchor
    from. A word is used at most once on a path. (numpy: these are many tiny operations.)"""
    path, current = [word], word
    for j in range(steps):
        if current < 0:
            path.append(-1)
            continue
        cands = candidates(j, current)
        cands = cands[~np.isin(cands, path)]
        current = _choose(cands, x if current == word else table[current], baseline, table, strategy, steps)
        path.append(current)
    return path[1:]


def _check(steps, strategy, neighbors, upscale) -> None:
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"steps (anchors per path) must be an int >= 1; got {steps!r}")
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    if not isinstance(neighbors, int) or isinstance(neighbors, bool) or neighbors < 1:
        raise ValueError(f"neighbors must be an int >= 1; got {neighbors!r}")
    if not isinstance(upscale, int) or isinstance(upscale, bool) or upscale < 0:
        raise ValueError(f"upscale (rounds of midpoint insertion) must be an int >= 0; got {upscale!r}")


def _fixed_positions(runner: Runner, base: torch.Tensor, keep_specials: bool) -> torch.Tensor:
    """[pos] bool: positions whose path has length zero (special tokens, or baseline = input)."""
    fixed = (base == runner.embeddings).all(-1)
    if keep_specials:
        special = set(getattr(runner.model.tokenizer, "all_special_ids", None) or [])
        fixed |= torch.tensor([int(i) in special for i in runner.input_ids], device=fixed.device)
    return fixed


def _discretized(method: str, model, inputs, target, baseline, steps: int, strategy: str, neighbors: int,
                 upscale: int, keep_specials: bool, internal_batch_size, pair,
                 candidate_fn) -> TokenAttribution:
    _check(steps, strategy, neighbors, upscale)
    runner = Runner(model, inputs, pair=pair)
    bound = resolve_target(model, target, runner.input_ids, runner.logits0)
    x = runner.embeddings
    base = resolve_baseline(runner, baseline)
    fixed = _fixed_positions(runner, base, keep_specials)
    base = torch.where(fixed[:, None], x, base)
    table = model.adapter.embedding().weight.detach()[:word_count(model)].to(x.dtype)
    for_position = candidate_fn(table)
    table_np, x_np, base_np = (t.float().cpu().numpy() for t in (table, x, base))
    anchors = x.expand(steps, *x.shape).clone()
    anchor_ids: list[list[int]] = []
    for p in range(runner.n_pos):
        if fixed[p]:
            anchor_ids.append([])
            continue
        ids = _anchor_ids(int(runner.input_ids[p]), x_np[p], base_np[p], table_np,
                          for_position(x[p], base[p]), strategy, steps)
        rows = np.stack([table_np[i] if i >= 0 else base_np[p] for i in ids])
        anchors[:, p] = torch.from_numpy(rows).to(x.device, x.dtype)
        anchor_ids.append(ids)
    path = upscale_path(monotone_path(anchors, x, base, steps), upscale)
    attr = path_sum(runner, bound, path, runner.chunk_size(internal_batch_size))
    with torch.no_grad():
        f_x, f_b = (float(v) for v in bound(runner.logits(torch.stack([x, base]))))
    delta = float(attr.sum()) - (f_x - f_b)
    return TokenAttribution(
        method=method, tokens=runner.tokens, scores=attr.sum(-1).float().cpu(),
        attributions=attr.float().cpu(), target=bound.label, target_value=f_x, delta=delta,
        path=path.float().cpu(),
        info={"baseline": baseline if isinstance(baseline, (str, int)) else "tensor",
              "baseline_value": f_b, "steps": steps, "strategy": strategy, "neighbors": neighbors,
              "upscale": upscale, "points": len(path), "anchors": anchor_ids,
              "relative_delta": abs(delta) / max(abs(f_x - f_b), 1e-12)},
    )


def dig(model, inputs, target=None, *, baseline="pad", steps: int = 30, strategy: str = "greedy",
        neighbors: int = 500, upscale: int = 0, keep_specials: bool = True,
        internal_batch_size: int | None = None, pair=None) -> TokenAttribution:
    """Discretized integrated gradients on the input embeddings x [pos, d_model].

    For each token, ``steps`` anchor words are found by walking the vocabulary's
    ``neighbors``-nearest-neighbour graph (:func:`~.neighbors.neighbor_graph`, built once per
    model and cached) from the input word: ``strategy="greedy"`` picks the neighbour closest to
    its monotonized version, ``"maxcount"`` the one with the most coordinates between the baseline
    and the current word. :func:`monotone_path` turns the anchors into a path from the baseline to
    x, monotone in every coordinate; each of ``upscale`` rounds halves every segment (inserts its
    midpoint), which refines the sum toward the exact path integral. The attribution is
    sum_k dF/dx(x^k) ⊙ (x^{k+1} - x^k) [pos, d_model], all tokens moving at once. The anchor
    search compares candidates with the current anchor word's own embedding, and the path is then
    monotonized point by point, as in the reference code.

    ``baseline``: as in :func:`integrated_gradients` (default the pad token, EOS if there is
    none). With ``keep_specials`` special tokens stay at the input (their score is 0) and the
    baseline there is the input. ``scores`` [pos] are raw sums over d_model (the paper shows them
    divided by their L2 norm: ``res.scores / res.scores.norm()``). ``delta`` = sum(attributions)
    - (F(x) - F(x')) is the completeness residual; ``path`` [points, pos, d_model] the path and
    ``info["anchors"]`` the anchor ids per position (-1: the baseline).
    """
    def candidates(table):
        graph = neighbor_graph(model, neighbors)
        indices = graph.indices.cpu().numpy()

        def pick(j, word):
            if word < len(indices):
                return indices[word]
            row = model.adapter.embedding().weight[word].detach().to(table.dtype)
            return nearest(row[None], table, graph.k)[1][0].cpu().numpy()  # id beyond the tokenizer
        return lambda x_p, base_p: pick

    return _discretized("dig", model, inputs, target, baseline, steps, strategy, neighbors, upscale,
                        keep_specials, internal_batch_size, pair, candidates)


def udig(model, inputs, target=None, *, baseline="pad", steps: int = 30, strategy: str = "greedy",
         neighbors: int = 30, upscale: int = 0, keep_specials: bool = True,
         internal_batch_size: int | None = None, pair=None) -> TokenAttribution:
    """Uniform discretized integrated gradients: ``steps`` points equally spaced on the straight
    line from the baseline to each token's embedding, x' + j/(steps+1) (x - x'); from the input
    end toward the baseline, the anchor of each point is chosen among that point's ``neighbors``
    nearest vocabulary words by ``strategy`` (as in :func:`dig`), then monotonized and
    integrated exactly as DIG. Arguments and result as in :func:`dig`.
    """
    def candidates(table):
        def for_position(x_p, base_p):
            alphas = torch.arange(steps, 0, -1, dtype=x_p.dtype, device=x_p.device) / (steps + 1)
            line = base_p + alphas[:, None] * (x_p - base_p)
            near = nearest(line, table, min(neighbors, len(table)))[1].cpu().numpy()
            return lambda j, word: near[j]
        return for_position

    return _discretized("udig", model, inputs, target, baseline, steps, strategy, neighbors, upscale,
                        keep_specials, internal_batch_size, pair, candidates)


def path_attribution(model, inputs, path: torch.Tensor, target=None, *,
                     internal_batch_size: int | None = None, pair=None) -> TokenAttribution:
    """Attribution along any discrete ``path`` [n, pos, d_model] of input embeddings from a
    baseline (``path[0]``) to the input (``path[-1]``, checked): sum_k dF/dx(x^k) ⊙ (x^{k+1} - x^k).
    With the n points of a straight line this is IG's left Riemann rule with n - 1 steps."""
    runner = Runner(model, inputs, pair=pair)
    bound = resolve_target(model, target, runner.input_ids, runner.logits0)
    x = runner.embeddings
    if not isinstance(path, torch.Tensor) or path.ndim != 3 or tuple(path.shape[1:]) != tuple(x.shape) \
            or len(path) < 2:
        raise ValueError(f"path must be a tensor [n >= 2, pos, d_model] with [pos, d_model] = "
                         f"{tuple(x.shape)}; got {tuple(getattr(path, 'shape', ()))}")
    path = path.to(x.device, x.dtype)
    if not torch.allclose(path[-1], x, rtol=1e-5, atol=1e-6):
        raise ValueError("the path must end at the input embeddings (path[-1] == embeddings of the input)")
    attr = path_sum(runner, bound, path, runner.chunk_size(internal_batch_size))
    with torch.no_grad():
        f_x, f_b = (float(v) for v in bound(runner.logits(torch.stack([x, path[0]]))))
    delta = float(attr.sum()) - (f_x - f_b)
    return TokenAttribution(
        method="path_attribution", tokens=runner.tokens, scores=attr.sum(-1).float().cpu(),
        attributions=attr.float().cpu(), target=bound.label, target_value=f_x, delta=delta,
        path=path.float().cpu(),
        info={"baseline_value": f_b, "points": len(path),
              "relative_delta": abs(delta) / max(abs(f_x - f_b), 1e-12)},
    )
