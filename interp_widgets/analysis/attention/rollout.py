"""Attention rollout and attention flow (Abnar & Zuidema 2020, arXiv 2005.00928), levels 3-4.

Both treat the model as a layered graph whose nodes are (layer, token) and whose edges carry the
head-averaged attention of each layer made residual-aware:

    A_l = mean_h attention_l^h                      [T, T]
    Ã_l = row_normalise(A_l + I)                    (Sec. 3; = 0.5·A_l + 0.5·I when rows of A sum to 1)

Rollout multiplies them, J_l = Ã_l · J_{l-1} (J_0 = Ã_0, Eq. 1); flow solves a maximum-flow
problem in the same graph with capacities Ã (Sec. 3, "attention flow") and normalises each output
node's flows to sum to 1. METHODS.md writes row_normalise(A + I); the paper writes 0.5·A + 0.5·I;
both are the same matrix because each row of a softmax pattern sums to 1 (we use the former, so
rows stay stochastic even if a pattern was patched to unnormalised rows).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from ..result import Result
from ._common import check_layer, check_position, patterns_of
from ._maxflow import layered_max_flow


def augment(attention: torch.Tensor, residual: bool = True) -> torch.Tensor:
    """Head-mean attention [L, H, T, T] (or already-averaged [L, T, T]) -> Ã [L, T, T]."""
    att = attention.double()
    if att.ndim == 4:
        att = att.mean(1)
    if att.ndim != 3 or att.shape[-1] != att.shape[-2]:
        raise ValueError(f"attention must be [layer, head, T, T] or [layer, T, T], got {tuple(attention.shape)}")
    if residual:
        att = att + torch.eye(att.shape[-1], dtype=att.dtype)
    sums = att.sum(-1, keepdim=True)
    if (sums <= 0).any():
        raise ValueError("an attention row sums to 0; pass residual=True or real attention patterns")
    return att / sums


def rollout_from(augmented: torch.Tensor) -> torch.Tensor:
    """J [L, T, T] with J_l = Ã_l · J_{l-1} (Abnar & Zuidema Eq. 1); row i of J_l: how much each
    input token reaches token i after layer l."""
    joint, out = None, []
    for layer in augmented:
        joint = layer if joint is None else layer @ joint
        out.append(joint)
    return torch.stack(out)


def flow_from(augmented: torch.Tensor, outputs=None, progress: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Max-flow from top-layer tokens ``outputs`` (default all) to every input token through
    capacities Ã [L, T, T]. Returns (normalised flow [n_out, T] with rows summing to 1, raw
    max-flow values [n_out, T])."""
    values = torch.from_numpy(layered_max_flow(augmented.numpy(), outputs, None, progress=progress))
    return values / values.sum(-1, keepdim=True), values


@dataclasses.dataclass(repr=False)
class Rollout(Result):
    """Rollout of one text. ``raw`` A_l, ``augmented`` Ã_l and ``joint`` J_l: [layer, T, T]."""

    levels = (3, 4)
    tokens: list
    raw: torch.Tensor
    augmented: torch.Tensor
    joint: torch.Tensor
    residual: bool = True

    def show(self, flow=None, **kwargs):
        """The interactive :class:`~interp_widgets.widgets.flow_view.FlowView`; ``flow``: the
        :class:`AttentionFlow` of the same text, shown next to the rollout."""
        from ...widgets.flow_view import FlowView

        return FlowView(self, flow=flow, **kwargs)

    def figure(self, token: int = -1, **kw):
        """Abnar & Zuidema Fig. 2/3: raw attention vs rollout of one output token, per layer."""
        token = check_position(token, len(self.tokens), "token")
        return _layer_panels(self.tokens, token, {"raw attention": self.raw[:, token],
                                                  "attention rollout": self.joint[:, token]}, **kw)


@dataclasses.dataclass(repr=False)
class AttentionFlow(Result):
    """Flow of one text from the nodes of layer ``layer`` (its output): ``flow`` [n_out, T] rows sum
    to 1, ``values`` raw max-flow [n_out, T], ``rollout`` the same rows of J_layer for comparison."""

    levels = (3, 4)
    tokens: list
    outputs: list
    layer: int
    flow: torch.Tensor
    values: torch.Tensor
    rollout: torch.Tensor
    residual: bool = True

    def show(self, **kwargs):
        """The interactive :class:`~interp_widgets.widgets.flow_view.FlowView` (flow vs rollout
        heatmaps; the layer graph needs a :class:`Rollout`: ``rollout(...).show(flow=this)``)."""
        from ...widgets.flow_view import FlowView

        return FlowView(self, **kwargs)

    def figure(self, output: int | None = None, **kw):
        """Flow vs rollout: both [output token x input token] maps, and the bars of one output."""
        import matplotlib.pyplot as plt

        from ...figures import SEQUENTIAL, paper_style

        row = len(self.outputs) - 1 if output is None else self.outputs.index(output % len(self.tokens))
        labels_out = [self.tokens[o] for o in self.outputs]
        with paper_style():
            fig, axes = plt.subplots(1, 3, figsize=(kw.get("width", 9.0), 3.2),
                                     gridspec_kw={"width_ratios": [1, 1, 1.3]})
            for ax, (title, data) in zip(axes, [("attention rollout", self.rollout), ("attention flow", self.flow)]):
                ax.imshow(data.numpy(), cmap=SEQUENTIAL, vmin=0, aspect="auto")
                ax.set_title(f"{title} (layer {self.layer})")
                ax.set_xticks(range(len(self.tokens)), self.tokens, rotation=90)
                ax.set_yticks(range(len(labels_out)), labels_out)
                ax.set_xlabel("input token")
            axes[0].set_ylabel("output token")
            x = np.arange(len(self.tokens))
            axes[2].bar(x - 0.2, self.rollout[row].numpy(), 0.4, label="rollout")
            axes[2].bar(x + 0.2, self.flow[row].numpy(), 0.4, label="flow")
            axes[2].set_xticks(x, self.tokens, rotation=90)
            axes[2].set_title(f"from {labels_out[row]!r}")
            axes[2].legend(frameon=False)
            fig.tight_layout()
        return fig


def _layer_panels(tokens, token, panels: dict, **kw):
    import matplotlib.pyplot as plt

    from ...figures import SEQUENTIAL, paper_style

    with paper_style():
        fig, axes = plt.subplots(1, len(panels), figsize=(kw.get("width", 3.2 * len(panels)), 3.0), squeeze=False)
        for ax, (title, data) in zip(axes[0], panels.items()):
            ax.imshow(data.numpy(), cmap=SEQUENTIAL, vmin=0, aspect="auto", origin="lower")
            ax.set_title(f"{title} from {tokens[token]!r}")
            ax.set_xticks(range(len(tokens)), tokens, rotation=90)
            ax.set_ylabel("layer")
            ax.set_xlabel("input token")
        fig.tight_layout()
    return fig


def rollout(model, text, residual: bool = True) -> Rollout:
    """Attention rollout of one text (levels 3 attention, 4 layer outputs).

    Returns :class:`Rollout` with A_l (head mean), Ã_l = row_normalise(A_l + I) and
    J_l = Ã_l J_{l-1}, each [layer, T, T]; rows of Ã and J sum to 1; causal models give lower
    triangular matrices. A one-token text gives [[1]] at every layer.
    """
    pats, _, tokens = patterns_of(model, text)
    raw = pats.mean(1)
    aug = augment(raw, residual)
    return Rollout(tokens=tokens, raw=raw, augmented=aug, joint=rollout_from(aug), residual=residual)


def flow(model, text, outputs=None, layer: int = -1, residual: bool = True, progress: bool = True) -> AttentionFlow:
    """Attention flow of one text (levels 3 attention, 4 layer outputs).

    For each output token in ``outputs`` (positions; default every token) at the output of
    ``layer`` (default the last), the maximum flow to every input token through the graph with
    capacities Ã_0 .. Ã_layer (see the module docstring), normalised so each row sums to 1.
    Shapes: ``flow``/``values``/``rollout`` [n_outputs, T]. The solver is exact (equal to
    networkx's Edmonds–Karp) and runs one max-flow per reachable (output, input) pair.
    """
    pats, _, tokens = patterns_of(model, text)
    layer = check_layer(model, layer)
    n_tok = len(tokens)
    outputs = list(range(n_tok)) if outputs is None else [
        check_position(o, n_tok, "output token") for o in ([outputs] if isinstance(outputs, int) else outputs)]
    aug = augment(pats[: layer + 1].mean(1), residual)
    normalised, values = flow_from(aug, outputs, progress=progress)
    joint = rollout_from(aug)[-1][outputs]
    return AttentionFlow(tokens=tokens, outputs=outputs, layer=layer, flow=normalised, values=values,
                         rollout=joint, residual=residual)
