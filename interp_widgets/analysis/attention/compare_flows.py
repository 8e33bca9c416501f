"""Attention Flows (DeRose, Wang & Berger 2020, arXiv 2009.07053), levels 3 attention and 4.

Attention tracing (Sec. 4.1): start from one token at the output of the last layer (the
classification token [CLS] of an encoder, or the last/predicted token of a decoder) and walk the
layers backwards. At layer l a traced token i follows every head's edge i -> j with α^{l,h}_ij ≥ τ;
the tokens reached are traced at the layer's input. Per-layer token influence propagates the
followed weights, infl_l(j) = mean_h Σ_i [α^{l,h}_ij ≥ τ] α^{l,h}_ij infl_{l+1}(i), starting from 1
at the chosen token. Two models of the same architecture on the same text (e.g. pre-trained and
fine-tuned, Sec. 5) are compared edge by edge: shared edges are traced in both, exclusive ones in
one only. Tracing follows attention only, as the paper does (the residual path is not an edge).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from ..result import Result
from ._common import check_position, patterns_of


def trace_attention(pattern: torch.Tensor, start: int, threshold: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """pattern [L, H, T, T] -> (edges [L, H, T, T] bool, active [L + 1, T] bool, influence [L + 1, T]).

    ``active[l]`` / ``influence[l]``: tokens at the input of layer l (index L: the final output)."""
    n_layers, _, n_tok, _ = pattern.shape
    active = torch.zeros(n_layers + 1, n_tok, dtype=torch.bool)
    influence = torch.zeros(n_layers + 1, n_tok, dtype=torch.float64)
    active[n_layers, start] = True
    influence[n_layers, start] = 1.0
    edges = torch.zeros(pattern.shape, dtype=torch.bool)
    for layer in range(n_layers - 1, -1, -1):
        kept = pattern[layer] >= threshold
        edges[layer] = kept & active[layer + 1][None, :, None]
        active[layer] = edges[layer].any(0).any(0)
        weight = torch.where(edges[layer], pattern[layer].double(), torch.zeros((), dtype=torch.float64))
        influence[layer] = (weight * influence[layer + 1][None, :, None]).sum(1).mean(0)
    return edges, active, influence


@dataclasses.dataclass(repr=False)
class FlowComparison(Result):
    """Traced attention of two models on one text from token ``start`` with threshold τ.

    ``edges_a``/``edges_b`` [L, H, T, T] followed edges (query i at layer l -> key j);
    ``active_*``/``influence_*`` [L + 1, T] per layer input (index L: final output);
    ``shared`` = edges in both; ``only_a``/``only_b`` exclusive; ``counts`` [L, 3]: per layer the
    number of shared, only-a and only-b edges."""

    levels = (3, 4)
    tokens: list
    start: int
    threshold: float
    names: list
    edges_a: torch.Tensor
    edges_b: torch.Tensor
    active_a: torch.Tensor
    active_b: torch.Tensor
    influence_a: torch.Tensor
    influence_b: torch.Tensor

    def show(self, **kwargs):
        """The interactive :class:`~interp_widgets.widgets.flow_view.FlowView` in two-model mode."""
        from ...widgets.flow_view import FlowView

        return FlowView(self, **kwargs)

    @property
    def shared(self) -> torch.Tensor:
        return self.edges_a & self.edges_b

    @property
    def only_a(self) -> torch.Tensor:
        return self.edges_a & ~self.edges_b

    @property
    def only_b(self) -> torch.Tensor:
        return self.edges_b & ~self.edges_a

    @property
    def counts(self) -> torch.Tensor:
        return torch.stack([m.flatten(1).sum(1) for m in (self.shared, self.only_a, self.only_b)], 1)

    def figure(self, **kw):
        """DeRose et al. Fig. 1 layer-wise flow: token rows per layer, traced edges (heads merged)
        coloured shared / exclusive, dot size = influence; plus the per-layer edge counts."""
        import matplotlib.pyplot as plt
        from matplotlib.collections import LineCollection

        from ...figures import paper_style

        n_layers, n_tok = self.edges_a.shape[0], len(self.tokens)
        with paper_style():
            fig, (ax, bx) = plt.subplots(1, 2, figsize=(kw.get("width", 9.0), 3.6),
                                         gridspec_kw={"width_ratios": [3, 1]})
            for mask, color, label in ((self.shared, "0.45", "shared"), (self.only_a, "C0", f"only {self.names[0]}"),
                                       (self.only_b, "C1", f"only {self.names[1]}")):
                merged = mask.any(1)  # [L, T, T]
                segments = [[(i, layer + 1), (j, layer)] for layer, i, j in merged.nonzero().tolist()]
                ax.add_collection(LineCollection(segments, colors=color, linewidths=0.8, label=label))
            xs, ys = np.meshgrid(np.arange(n_tok), np.arange(n_layers + 1))
            size = 4 + 60 * torch.maximum(self.influence_a, self.influence_b).numpy()
            ax.scatter(xs.ravel(), ys.ravel(), s=size.ravel(), color="k", zorder=3)
            ax.set_xticks(range(n_tok), self.tokens, rotation=90)
            ax.set_ylabel("layer (input of)")
            ax.set_xlim(-0.5, n_tok - 0.5)
            ax.set_ylim(-0.5, n_layers + 0.5)
            ax.set_title(f"attention traced from {self.tokens[self.start]!r}, τ = {self.threshold:g}")
            ax.legend(frameon=False, loc="upper right")
            counts = self.counts.numpy()
            left = np.zeros(n_layers)
            for k, (color, label) in enumerate((("0.45", "shared"), ("C0", self.names[0]), ("C1", self.names[1]))):
                bx.barh(np.arange(n_layers) + 0.5, counts[:, k], left=left, color=color, label=label)
                left += counts[:, k]
            bx.set_xlabel("traced edges")
            bx.set_ylim(-0.5, n_layers + 0.5)
            fig.tight_layout()
        return fig


def compare_flows(model_a, model_b, text, threshold: float = 0.1, start: int | None = None) -> FlowComparison:
    """Trace attention from token ``start`` through both models and compare (levels 3, 4).

    ``start``: a position (default: 0, the [CLS] token, for encoders; the last token for
    decoders). ``threshold`` τ in [0, 1]; raising it can only remove edges (monotone). The models
    must share layer/head counts and tokenize ``text`` identically. A model compared with itself
    has every edge shared.
    """
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold τ must be in [0, 1], got {threshold}")
    ca, cb = model_a.cfg, model_b.cfg
    if (ca.n_layers, ca.n_heads) != (cb.n_layers, cb.n_heads):
        raise ValueError(f"the models differ in shape: {ca.n_layers} layers x {ca.n_heads} heads vs "
                         f"{cb.n_layers} x {cb.n_heads}; compare models of the same architecture "
                         "(e.g. a checkpoint before and after fine-tuning)")
    pa, ids_a, tokens = patterns_of(model_a, text)
    pb, ids_b, _ = patterns_of(model_b, text)
    if not torch.equal(ids_a, ids_b):
        raise ValueError("the two models tokenize the text differently; they need the same tokenizer")
    start = (0 if not ca.causal else len(tokens) - 1) if start is None else check_position(start, len(tokens), "start")
    ea, aa, ia = trace_attention(pa, start, threshold)
    eb, ab, ib = trace_attention(pb, start, threshold)
    return FlowComparison(tokens=tokens, start=start, threshold=float(threshold),
                          names=[model_a.name, model_b.name], edges_a=ea, edges_b=eb, active_a=aa,
                          active_b=ab, influence_a=ia, influence_b=ib)
