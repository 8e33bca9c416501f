"""Token-wise relevance redistribution on the CP-LRP path, in the formulation of METHODS.md.

Sawaki & Murata (JSAI 2025) redistribute the relevance that passes through each attention's
token mixing among tokens and chain it to the input; their text is not public, so this module
implements the formulation written down in the project's METHODS.md, not the paper's own code:

    R_{i<-j} = sum_h sum_d  a^h_ij (x_j W_V^h W_O^h)_d  R_{i,d} / y_{i,d}     (epsilon -> 0)

with a^h the (constant, CP-LRP) attention pattern, x_j the attention's input at position j,
y_i the attention output at position i and R_{i,d} its CP-LRP relevance. On the residual stream
the same sum with x_j less the pre-attention norm's bias (the share that reaches position j's
stream; the norm's bias keeps the rest) fills the off-diagonal of a token-to-token matrix
M_l [T, T], and the diagonal gets what stays at a position (skip connection, MLP, norms). Dividing row i by the CP-LRP relevance of position i at the block's output gives
the shares P_l (rows sum to 1 where no bias absorbs relevance); they are chained,
C = P_{L-1} ... P_0, and the relevance at the last residual stream r_out [T] is carried to the
stream entering block 0 as r_out C, which reproduces CP-LRP's relevance there.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch

from ..analysis.result import Result
from ..figures import DIVERGING, paper_style
from ._forward import Runner
from .lrp import EPS, _contrastive, _module_rules, _registry_rules
from .results import TokenAttribution, _colorbar, _limit, _text_panel
from .targets import resolve_target


@dataclass(repr=False)
class TokenRelevance(Result):
    """Token-to-token relevance of one input for one target.

    ``matrices`` [layer, T, T]: M_l[i, j] relevance that position j at the input of block l
    receives from position i at its output (off-diagonal: the attention's value path only).
    ``fractions`` [layer, T, T]: M_l[i] divided by the relevance of position i at the block's
    output (rows sum to 1 minus what biases absorb; rows carrying no relevance, e.g. positions
    after a causal target, are identity rows). ``joint`` [T, T] = P_{L-1} ... P_0.
    ``output_relevance`` [T] the CP-LRP relevance at the last residual stream,
    ``input_relevance`` [T] = output_relevance @ joint, at the stream entering block 0.
    ``layer_relevance`` [layer + 1, T] the CP-LRP relevance at the stream entering block 0 and
    after each block, for comparison.
    """

    levels: ClassVar[tuple[int, ...]] = (1, 2, 3, 4, 5)

    tokens: list[str]
    matrices: torch.Tensor
    fractions: torch.Tensor
    joint: torch.Tensor
    output_relevance: torch.Tensor
    input_relevance: torch.Tensor
    layer_relevance: torch.Tensor
    target: str
    target_value: float
    info: dict[str, Any] = field(default_factory=dict, repr=False)

    def attribution(self) -> TokenAttribution:
        """The chained input relevance as a :class:`TokenAttribution` (e.g. for faithfulness)."""
        return TokenAttribution("token_relevance", self.tokens, self.input_relevance.float(),
                                self.target, self.target_value)

    def show(self, **kwargs):
        """The :class:`~interp_widgets.widgets.relevance_view.RelevanceView` of this result."""
        from ..widgets.relevance_view import RelevanceView

        return RelevanceView.from_results([self], **kwargs)

    def figure(self, cmap: str = DIVERGING, max_cols: int = 4):
        """Per-layer redistribution fractions P_l and the chained map C as [output x input
        token] heatmaps (signed, shared scale), above the tokens coloured by the chained input
        relevance."""
        import matplotlib.pyplot as plt

        panels = [(f"block {i}", m) for i, m in enumerate(self.fractions.float().numpy())]
        panels.append(("chained (input <- output)", self.joint.float().numpy()))
        vmax = _limit(np.stack([p for _, p in panels]))
        n_tok = len(self.tokens)
        labels = [t.replace("\n", "\\n") for t in self.tokens]
        cols = min(max_cols, len(panels))
        rows = -(-len(panels) // cols)
        side = max(1.8, 0.18 * n_tok + 0.8)
        with paper_style():
            fig = plt.figure(figsize=(cols * side + 0.8, rows * side + 1.2))
            grid = fig.add_gridspec(rows + 1, cols, height_ratios=[side] * rows + [0.5],
                                    left=0.08, right=0.88, top=0.92, bottom=0.04, hspace=0.6)
            for k, (title, data) in enumerate(panels):
                ax = fig.add_subplot(grid[k // cols, k % cols])
                ax.imshow(data, cmap=cmap, vmin=-vmax, vmax=vmax, interpolation="nearest")
                ax.set_title(title)
                ax.set_xticks(range(n_tok), labels, rotation=90)
                ax.set_yticks(range(n_tok), labels if k % cols == 0 else [])
                if k // cols == rows - 1:
                    ax.set_xlabel("to (input) token")
                if k % cols == 0:
                    ax.set_ylabel("from (output) token")
            _colorbar(fig, [0.9, 0.3, 0.012, 0.55], vmax, cmap, "share of the row's relevance")
            ax_t = fig.add_subplot(grid[rows, :])
            inp = self.input_relevance.float().numpy()
            _text_panel(ax_t, self.tokens, inp, _limit(inp), plt.get_cmap(cmap))
            fig.suptitle(f"token_relevance: {self.target}", x=0.02, ha="left", fontsize=9)
        return fig


def _attention_input(model, layer: int) -> str:
    return f"blocks.{layer}.hook_resid_pre" if model.cfg.post_norm else f"blocks.{layer}.ln1.hook_normalized"


def _norm_bias(model, layer: int) -> torch.Tensor | float:
    """The bias [d_model] of block ``layer``'s pre-attention norm (0 for post-norm blocks, whose
    attention reads the residual stream itself, and for norms without a bias)."""
    if model.cfg.post_norm:
        return 0.0
    bias = getattr(model.norm(f"blocks.{layer}.ln1"), "bias", None)
    return 0.0 if bias is None else bias.detach().double()


def _cp_lrp_pass(model, runner: Runner, bound, record: list[str], grads_of: list[str], eps: float):
    """One forward and backward pass with the CP-LRP rules: activations ``record`` [pos, ...]
    (batch row 0) and the modified gradients at ``grads_of``, all float64."""
    store: dict[str, torch.Tensor] = {}
    keep = {n: (lambda v, n=n: store.__setitem__(n, v)) for n in dict.fromkeys(record + grads_of)}
    with contextlib.ExitStack() as stack:
        stack.enter_context(torch.enable_grad())
        stack.enter_context(_module_rules(model, eps))
        stack.enter_context(model.patch(_registry_rules(model, "cp_lrp", eps)))
        value = bound(runner.logits(patches=keep, n=1))
        live = [store[n] for n in grads_of]
        grads = torch.autograd.grad(value.sum(), live, allow_unused=True)
    acts = {n: store[n].detach()[0].double() for n in store}
    g = {n: (torch.zeros_like(t) if d is None else d).detach()[0].double()
         for n, t, d in zip(grads_of, live, grads)}
    return acts, g, float(value.detach().sum())


def _fractions(m: torch.Tensor, out: torch.Tensor, tiny: float = 1e-9) -> torch.Tensor:
    """M [T, T] divided row-wise by the relevance ``out`` [T] at the block's output: the share
    of position i's relevance that reaches position j. Rows whose relevance is at most ``tiny``
    times the largest carry nothing to speak of and become identity rows."""
    r = out[:, None]
    empty = r.abs() <= tiny * r.abs().max()
    eye = torch.eye(m.shape[-1], dtype=m.dtype, device=m.device)
    return torch.where(empty, eye, m / torch.where(empty, 1.0, r))


def token_relevance(model, inputs, target=None, *, contrast=None, eps: float = EPS,
                    pair=None) -> TokenRelevance:
    """Token-wise relevance redistribution (Sawaki & Murata 2025) in the formulation of
    METHODS.md (see the module docstring): per-layer token-to-token relevance matrices on the
    CP-LRP path [layer, T, T], chained back to the tokens entering block 0.

    ``target``, ``contrast``: as in :func:`~interp_widgets.attribution.cp_lrp`.
    ``info["attention"]`` [layer, T, T] holds R_{i<-j} exactly as written in METHODS.md (x_j the
    attention's input). Checks in ``info``: ``row_residual`` [layer] =
    max_i |Σ_j M_l[i, j] - r_l[i]| against the CP-LRP relevance r_l after block l (0 up to
    rounding when the model has no biases) and
    ``chain_residual`` = max |input_relevance - CP-LRP relevance entering block 0|.
    """
    runner = Runner(model, inputs, pair=pair)
    bound = resolve_target(model, _contrastive(target, contrast), runner.input_ids, runner.logits0)
    n_layers = model.cfg.n_layers
    pre = [f"blocks.{l}.hook_resid_pre" for l in range(n_layers)]
    post = [f"blocks.{l}.hook_resid_post" for l in range(n_layers)]
    outs = [f"blocks.{l}.hook_attn_out" for l in range(n_layers)]
    pats = [f"blocks.{l}.attn.hook_pattern" for l in range(n_layers)]
    ins = [_attention_input(model, l) for l in range(n_layers)]
    acts, grads, value = _cp_lrp_pass(model, runner, bound, pats + ins, outs + pre + post, eps)
    rel = {n: (acts[n] * grads[n]).sum(-1) for n in pre + post}
    matrices, attention = [], []
    for layer in range(n_layers):
        a = acts[pats[layer]]  # [head, T, T]
        w_v = model.W_V(layer).detach().double()  # [head, d_model, d_head]
        w_o = model.W_O(layer).detach().double()  # [head, d_head, d_model]
        back = torch.einsum("id,hed->hie", grads[outs[layer]], w_o)  # R_{i,d} / y_{i,d} through W_O
        x = acts[ins[layer]]
        attention.append(torch.einsum("hij,hje,hie->ij", a, torch.einsum("jm,hme->hje", x, w_v), back))
        # what reaches the residual stream at j: the pre-attention norm's bias keeps its share
        x_res = x - _norm_bias(model, layer)
        r_ij = torch.einsum("hij,hje,hie->ij", a, torch.einsum("jm,hme->hje", x_res, w_v), back)
        stay = rel[pre[layer]] - r_ij.sum(0)  # skip connection, MLP and norms at each position
        matrices.append(r_ij + torch.diag(stay))
    m = torch.stack(matrices)
    fractions = torch.stack([_fractions(m[l], rel[post[l]]) for l in range(n_layers)])
    joint = torch.eye(m.shape[-1], dtype=m.dtype, device=m.device)
    for p in reversed(fractions):
        joint = joint @ p
    r_out = rel[post[-1]]
    chained = r_out @ joint
    layer_rel = torch.stack([rel[pre[0]]] + [rel[n] for n in post])
    row_res = torch.stack([(m[l].sum(-1) - rel[post[l]]).abs().max() for l in range(n_layers)])
    return TokenRelevance(
        tokens=runner.tokens, matrices=m.float().cpu(), fractions=fractions.float().cpu(),
        joint=joint.float().cpu(), output_relevance=r_out.float().cpu(),
        input_relevance=chained.float().cpu(), layer_relevance=layer_rel.float().cpu(),
        target=bound.label, target_value=value,
        info={"attention": torch.stack(attention).float().cpu(), "row_residual": row_res.float().cpu(),
              "chain_residual": float((chained - rel[pre[0]]).abs().max()),
              "formulation": "METHODS.md (CP-LRP value path, epsilon -> 0)"},
    )
