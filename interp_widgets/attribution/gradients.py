"""Gradient x input and integrated gradients on the input embeddings."""

from __future__ import annotations

import numpy as np
import torch

from ._forward import Runner, resolve_baseline
from .results import TokenAttribution
from .targets import resolve_target

METHODS = ("riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid", "gausslegendre")


def quadrature(method: str, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes alpha [steps] in [0, 1] and weights [steps] (summing to 1) of a rule for the
    integral over [0, 1]. Riemann rules use ``steps`` equal cells; the trapezoid rule uses
    ``steps`` equally spaced nodes including both ends; Gauss-Legendre is exact for
    polynomials of degree < 2 * steps."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if not isinstance(steps, int) or steps < (2 if method == "riemann_trapezoid" else 1):
        raise ValueError(f"steps must be an int >= {2 if method == 'riemann_trapezoid' else 1}")
    m = steps
    if method == "gausslegendre":
        x, w = np.polynomial.legendre.leggauss(m)
        return 0.5 * (x + 1), 0.5 * w
    if method == "riemann_trapezoid":
        w = np.full(m, 1.0 / (m - 1))
        w[[0, -1]] /= 2
        return np.linspace(0.0, 1.0, m), w
    offset = {"riemann_left": 0.0, "riemann_right": 1.0, "riemann_middle": 0.5}[method]
    return (np.arange(m) + offset) / m, np.full(m, 1.0 / m)


def path_gradients(runner: Runner, bound, start: torch.Tensor, end: torch.Tensor,
                   alphas, weights, chunk: int, name: str = "hook_embed") -> torch.Tensor:
    """Sum_k w_k dF/dh at h = start + alpha_k (end - start), with activation ``name`` replaced
    by h ([pos, d] each), ``chunk`` points per pass -> [pos, d] (float64)."""
    total = torch.zeros(start.shape, dtype=torch.float64, device=start.device)
    for i in range(0, len(alphas), chunk):
        a = torch.as_tensor(alphas[i:i + chunk], dtype=start.dtype, device=start.device)
        w = torch.as_tensor(weights[i:i + chunk], dtype=torch.float64, device=start.device)
        points = (start + a[:, None, None] * (end - start)).requires_grad_(True)
        with torch.enable_grad():
            values = runner.values(bound, patches={name: lambda v: points}, n=len(a))
            (grad,) = torch.autograd.grad(values.sum(), points)
        total += torch.einsum("k,kpd->pd", w, grad.double())
    return total


def _value(runner, bound, embeds: torch.Tensor) -> float:
    with torch.no_grad():
        return float(runner.values(bound, embeds[None]))


def integrated_gradients(model, inputs, target=None, *, baseline="zeros", steps: int = 50,
                         method: str = "gausslegendre", internal_batch_size: int | None = None,
                         pair=None) -> TokenAttribution:
    """Integrated gradients on the input embeddings x [pos, d_model] (positions stay fixed):
    (x - x') * integral_0^1 dF(x' + a (x - x'))/dx da, approximated by ``method`` with ``steps``
    points, ``internal_batch_size`` points per forward pass (default: an estimate fitting 1 GiB of
    activations). ``baseline`` x': ``"zeros"``, ``"pad"``/``"mask"`` (that token's embedding at
    every position), a token id, or a tensor [pos, d_model]. ``target``: see
    :func:`~interp_widgets.attribution.targets.resolve_target`.

    The result's ``scores`` [pos] sum the attributions over d_model; ``delta`` =
    sum(attributions) - (F(x) - F(x')) is the completeness (convergence) error.
    """
    runner = Runner(model, inputs, pair=pair)
    bound = resolve_target(model, target, runner.input_ids, runner.logits0)
    alphas, weights = quadrature(method, steps)
    x = runner.embeddings
    base = resolve_baseline(runner, baseline)
    grads = path_gradients(runner, bound, base, x, alphas, weights, runner.chunk_size(internal_batch_size))
    attr = (x - base).double() * grads
    f_x, f_b = float(bound(runner.logits0)), _value(runner, bound, base)  # logits0: the forward pass at x
    delta = float(attr.sum()) - (f_x - f_b)
    return TokenAttribution(
        method="integrated_gradients", tokens=runner.tokens, scores=attr.sum(-1).float().cpu(),
        attributions=attr.float().cpu(), target=bound.label, target_value=f_x, delta=delta,
        info={"baseline": baseline if isinstance(baseline, (str, int)) else "tensor",
              "baseline_value": f_b, "steps": steps, "rule": method,
              "relative_delta": abs(delta) / max(abs(f_x - f_b), 1e-12)},
    )


def gradient_x_input(model, inputs, target=None, *, pair=None) -> TokenAttribution:
    """Gradient x input on the input embeddings: x ⊙ dF/dx, summed over d_model per token."""
    runner = Runner(model, inputs, pair=pair)
    bound = resolve_target(model, target, runner.input_ids, runner.logits0)
    x = runner.embeddings
    grad = path_gradients(runner, bound, x, x, np.ones(1), np.ones(1), 1)
    attr = x.double() * grad
    f_x = _value(runner, bound, x)
    return TokenAttribution(
        method="gradient_x_input", tokens=runner.tokens, scores=attr.sum(-1).float().cpu(),
        attributions=attr.float().cpu(), target=bound.label, target_value=f_x,
        info={},
    )
