"""Transformer interpretability beyond attention (Chefer, Gur & Wolf): relevance rollout of
gradient-weighted attention maps.

Per block b, a head-averaged positive map Ā_b [T, T], then R = I and R <- R + Ā_b R in forward
order (R = (I + Ā_{L-1}) ... (I + Ā_0)):

- ``variant="cvpr"`` (arXiv 2012.09838, CVPR 2021): Ā_b = E_h[(∇A_b ⊙ R_{A_b})⁺] with R_{A_b} the
  AttnLRP relevance of the attention probabilities and ∇A_b the plain gradient of the target;
- ``variant="generic"`` (arXiv 2103.15679, ICCV 2021): Ā_b = E_h[(∇A_b ⊙ A_b)⁺].

The explanation is row ``position`` of R: the target's position for token targets (causal or
masked LMs), otherwise the first token ([CLS]) for encoders and the last for decoders.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch

from ..analysis.result import Result
from ..figures import DIVERGING, SEQUENTIAL, paper_style
from ._forward import Runner
from .lrp import _contrastive, relevance
from .results import TokenAttribution, _limit, _text_panel
from .targets import resolve_target

VARIANTS = ("cvpr", "generic")


@dataclass(repr=False)
class CheferRelevance(Result):
    """``maps`` [layer, T, T] the per-block Ā_b (≥ 0), ``relevance`` [T, T] the rolled-out R
    (≥ 0, diagonal ≥ 1, lower triangular for causal models), ``scores`` [T] = row ``position``
    of R - I (the identity's self term removed), ``position`` the explained row."""

    levels: ClassVar[tuple[int, ...]] = (1, 2, 3, 4, 5)

    variant: str
    tokens: list[str]
    maps: torch.Tensor
    relevance: torch.Tensor
    scores: torch.Tensor
    position: int
    target: str
    target_value: float
    info: dict[str, Any] = field(default_factory=dict, repr=False)

    def attribution(self) -> TokenAttribution:
        """``scores`` as a :class:`TokenAttribution` (e.g. for faithfulness)."""
        return TokenAttribution(f"chefer_{self.variant}", self.tokens, self.scores.float(),
                                self.target, self.target_value)

    def figure(self, cmap: str = SEQUENTIAL):
        """The rolled-out R [output x input token] with the explained row marked, above the
        tokens coloured by ``scores``."""
        import matplotlib as mpl
        import matplotlib.pyplot as plt

        n_tok = len(self.tokens)
        labels = [t.replace("\n", "\\n") for t in self.tokens]
        rel = (self.relevance - torch.eye(n_tok)).float().numpy()
        side = max(2.2, 0.2 * n_tok + 1.0)
        with paper_style():
            fig = plt.figure(figsize=(side + 1.2, side + 1.0))
            ax = fig.add_axes([0.18, 0.3, 0.62, 0.54])
            vmax = _limit(rel)
            ax.imshow(rel, cmap=cmap, vmin=0, vmax=vmax, interpolation="nearest")
            ax.axhline(self.position, color="k", lw=0.6, ls="--")
            ax.set_xticks(range(n_tok), labels, rotation=90)
            ax.set_yticks(range(n_tok), labels)
            ax.set_xlabel("input token")
            ax.set_ylabel("output token")
            ax.set_title("R - I")
            cax = fig.add_axes([0.83, 0.3, 0.02, 0.54])
            fig.colorbar(mpl.cm.ScalarMappable(mpl.colors.Normalize(0, vmax), cmap), cax=cax).outline.set_visible(False)
            ax_t = fig.add_axes([0.05, 0.02, 0.9, 0.1])
            scores = self.scores.float().numpy()
            _text_panel(ax_t, self.tokens, scores, _limit(scores), plt.get_cmap(DIVERGING))
            fig.suptitle(f"chefer ({self.variant}): {self.target}, row {self.position}", x=0.02,
                         ha="left", fontsize=9)
        return fig


def _pattern_gradients(model, runner: Runner, bound) -> tuple[list[torch.Tensor], list[torch.Tensor], float]:
    """Attention probabilities A_b [head, T, T] and the plain gradient of the target w.r.t.
    them, one forward and one backward pass."""
    names = [f"blocks.{l}.attn.hook_pattern" for l in range(model.cfg.n_layers)]
    store: dict[str, torch.Tensor] = {}
    keep = {n: (lambda v, n=n: store.__setitem__(n, v)) for n in names}
    with contextlib.ExitStack() as stack:
        stack.enter_context(torch.enable_grad())
        embeds = runner.embeddings[None].detach().requires_grad_(True)  # keeps the graph alive
        value = bound(runner.logits(embeds, patches=keep))
        pats = [store[n] for n in names]
        grads = torch.autograd.grad(value.sum(), pats, allow_unused=True)
    grads = [torch.zeros_like(p) if g is None else g for p, g in zip(pats, grads)]
    return ([p.detach()[0].double() for p in pats], [g.detach()[0].double() for g in grads],
            float(value.detach().sum()))


def rollout(maps: torch.Tensor) -> torch.Tensor:
    """R = I, then R <- R + Ā_b R for b = 0 .. L-1: maps [L, T, T] -> R [T, T]."""
    r = torch.eye(maps.shape[-1], dtype=maps.dtype, device=maps.device)
    for a in maps:
        r = r + a @ r
    return r


def chefer(model, inputs, target=None, *, variant: str = "cvpr", position: int | None = None,
           contrast=None, pair=None) -> CheferRelevance:
    """Chefer et al. relevance of every input token for ``target`` (see the module docstring).

    ``variant``: ``"cvpr"`` (AttnLRP relevance of the attention maps weighted by their
    gradients) or ``"generic"`` (gradient ⊙ attention). ``position``: the explained row of R
    (default: the target's position; for class/function targets [CLS] = 0 for encoders, the
    last token for decoders). ``target``/``contrast`` as in :func:`attnlrp`.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}; got {variant!r}")
    runner = Runner(model, inputs, pair=pair)
    spec = _contrastive(target, contrast)
    bound = resolve_target(model, spec, runner.input_ids, runner.logits0)
    n_tok = runner.n_pos
    if position is None:
        position = bound.pos if bound.pos is not None else (n_tok - 1 if model.cfg.causal else 0)
    if isinstance(position, bool) or not isinstance(position, int) or not -n_tok <= position < n_tok:
        raise ValueError(f"position {position!r} is out of range for an input of {n_tok} tokens")
    position %= n_tok
    pats, grads, value = _pattern_gradients(model, runner, bound)
    if variant == "cvpr":
        rel = relevance(model, inputs, spec, variant="attnlrp", names="blocks.*.attn.hook_pattern", pair=pair)
        weights = [rel[f"blocks.{l}.attn.hook_pattern"].double() for l in range(model.cfg.n_layers)]
    else:
        weights = pats
    maps = torch.stack([(g * w).clamp(min=0).mean(0) for g, w in zip(grads, weights)])
    r = rollout(maps)
    scores = (r - torch.eye(n_tok, dtype=r.dtype))[position]
    return CheferRelevance(
        variant=variant, tokens=runner.tokens, maps=maps.float().cpu(), relevance=r.float().cpu(),
        scores=scores.float().cpu(), position=position, target=bound.label, target_value=value,
        info={"gradient_abs_max": float(max(g.abs().max() for g in grads))},
    )
