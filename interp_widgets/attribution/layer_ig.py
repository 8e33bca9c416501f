"""Integrated gradients on every layer's activations: a layers x tokens relevance map."""

from __future__ import annotations

import torch

from ._forward import Runner, resolve_baseline
from .gradients import path_gradients, quadrature
from .results import LayerAttribution
from .targets import resolve_target


def layer_names(model) -> list[str]:
    """The input embedding output, then the residual stream after each block."""
    return ["hook_embed"] + [f"blocks.{i}.hook_resid_post" for i in range(model.cfg.n_layers)]


def _activations(runner: Runner, embeds: torch.Tensor, names: list[str]) -> dict[str, torch.Tensor]:
    acts: dict[str, torch.Tensor] = {}

    def keep(name):
        return lambda v: acts.__setitem__(name, v.detach()[0])

    with torch.no_grad():
        runner.logits(embeds[None], patches={n: keep(n) for n in names if n != "hook_embed"})
    acts["hook_embed"] = embeds
    return acts


def layer_integrated_gradients(model, inputs, target=None, *, baseline="zeros", steps: int = 50,
                               method: str = "gausslegendre", layers: list[str] | None = None,
                               internal_batch_size: int | None = None, pair=None) -> LayerAttribution:
    """IG on each layer's activation h [pos, d_model] (the HEMERA approach): the path runs from
    the activation h' the baseline input produces to h, with everything downstream recomputed.

    ``layers``: hook names (default: ``hook_embed`` and ``blocks.{i}.hook_resid_post``).
    Returns scores [layer, pos] (summed over d_model). Since the rest of the network depends on
    the input only through h, every row is complete: sum = F(x) - F(x'); ``deltas`` [layer]
    holds the residuals. Other arguments as in :func:`integrated_gradients`.
    """
    runner = Runner(model, inputs, pair=pair)
    bound = resolve_target(model, target, runner.input_ids, runner.logits0)
    names = layers if layers is not None else layer_names(model)
    names = model.resolve_names(names)
    alphas, weights = quadrature(method, steps)
    x = runner.embeddings
    base = resolve_baseline(runner, baseline)
    at_x, at_b = _activations(runner, x, names), _activations(runner, base, names)
    with torch.no_grad():
        f_x, f_b = float(bound(runner.logits(x[None]))), float(bound(runner.logits(base[None])))
    chunk = runner.chunk_size(internal_batch_size)
    rows = []
    for name in names:
        start, end = at_b[name], at_x[name]
        if start.ndim != 2:
            raise ValueError(f"{name!r} has shape {tuple(end.shape)}; layer IG needs activations "
                             "[pos, d] (residual-stream points)")
        grads = path_gradients(runner, bound, start, end, alphas, weights, chunk, name=name)
        rows.append(((end - start).double() * grads).sum(-1))
    scores = torch.stack(rows)
    deltas = scores.sum(-1) - (f_x - f_b)
    return LayerAttribution(
        method="layer_integrated_gradients", tokens=runner.tokens, layers=names,
        scores=scores.float().cpu(), target=bound.label, target_value=f_x,
        deltas=deltas.float().cpu(), input_scores=scores[0].float().cpu() if names[0] == "hook_embed" else None,
        info={"baseline": baseline if isinstance(baseline, (str, int)) else "tensor",
              "baseline_value": f_b, "steps": steps, "rule": method},
    )
