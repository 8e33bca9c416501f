"""Norm-based analysis of attention (Kobayashi et al. 2020, arXiv 2004.10102; 2021, arXiv
2109.07152), level 3.

Per layer, head h and tokens i (query) <- j (key), with f^h(x) = (x W_V^h + b_V^h) W_O^h:

    attention output   y_i = Σ_h Σ_j α^h_ij f^h(x_j) + b_O            (2020, Eq. 5-6)
    Attn-N             v_{i<-j} = Σ_h α^h_ij f^h(x_j)
    AttnRes-N          v_{i<-j} = Σ_h α^h_ij f^h(x_j) + δ_ij x_i        (2021, Eq. 6; x_i the block input)
    AttnResLn-N        v_{i<-j} = g_i(Σ_h α^h_ij f^h(x_j) + δ_ij x_i)    (2021, Eq. 7)

g_i is the norm split linearly with the statistics of the actual pre-norm vector
z_i = Σ_j (...) + b_O: LayerNorm g_i(v) = γ ⊙ (v - mean(v)) / s(z_i), RMSNorm g_i(v) = γ ⊙ v / s(z_i),
so LN(z_i) = Σ_j g_i(v_{i<-j}) + g_i(b_O) + β exactly. Mixing ratio (2021, Eq. 8):
r_i = ‖Σ_{j≠i} v_{i<-j}‖ / (‖Σ_{j≠i} v_{i<-j}‖ + ‖v_{i<-i}‖).

Which norm is the "Ln": the first norm applied to the sum attention + residual. In post-LN BERT
that is the attention block's own LayerNorm (``ln1``). In pre-LN models (GPT-2, Llama family,
sequential GPT-NeoX) ``ln1`` normalises each token *before* attention (it is inside f(x_j), it
does not mix tokens), and the sum z_i = x_i + attn_i is next normalised by ``ln2`` (the MLP's
norm), so ``ln2`` plays the role of BERT's post-attention LN. Parallel-residual GPT-NeoX applies
``ln2`` to x_i, not to x_i + attn_i: no norm follows the sum inside the block, so AttnResLn-N is
not defined there (NaN, see ``note``).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from ..result import Result
from ._common import check_layer, check_layers, run_one

KINDS = ("Attn-N", "AttnRes-N", "AttnResLn-N")


def ln_after_attention(model) -> str | None:
    """Name of the norm applied to attention output + residual ("ln1" BERT, "ln2" pre-LN), or None."""
    cfg = model.cfg
    if cfg.post_norm:
        return "ln1"
    return None if cfg.parallel_residual else "ln2"


def _names(model, layers, ln):
    names = []
    for l in layers:
        pre = f"blocks.{l}"
        names += [f"{pre}.attn.hook_pattern", f"{pre}.attn.hook_v", f"{pre}.hook_resid_pre",
                  f"{pre}.hook_attn_out"]
        if ln:
            names += [f"{pre}.{ln}.hook_scale", f"{pre}.{ln}.hook_normalized"]
    return names


def decompose(model, trace, layer: int, rows=None) -> dict[str, torch.Tensor]:
    """The exact terms of one layer's attention block for query rows ``rows`` (default all).

    Returns float64 tensors (T real tokens, R rows, d = d_model): ``alpha`` [H, R, T], ``f`` [H, T, d],
    ``attn`` [R, T, d] (Σ_h α f), ``attn_res`` [R, T, d] (+ δ_ij x_i), ``b_O`` [d], ``attn_out`` [R, d]
    and ``resid_pre`` [R, d] (recorded); with a norm (see :func:`ln_after_attention`) also ``ln``
    [R, T, d] (g_i of attn_res), ``ln_bias`` [R, d] (g_i(b_O) + β) and ``ln_out`` [R, d] (recorded).
    """
    cfg = model.cfg
    layer = check_layer(model, layer)
    keep = trace.attention_mask[0].bool()
    pre = f"blocks.{layer}"
    n_tok = int(keep.sum())
    rows = torch.arange(n_tok) if rows is None else torch.as_tensor(rows)
    alpha = trace[f"{pre}.attn.hook_pattern"][0][:, keep][:, :, keep].double()[:, rows]
    v = trace[f"{pre}.attn.hook_v"][0][keep].double()  # [T, kv_head, d_head]
    v = v.repeat_interleave(cfg.n_heads // v.shape[1], dim=1)
    f = torch.einsum("jhe,hem->hjm", v, model.W_O(layer).detach().double())
    b_o = model.b_O(layer)
    b_o = torch.zeros(cfg.d_model, dtype=torch.float64) if b_o is None else b_o.detach().double().cpu()
    resid = trace[f"{pre}.hook_resid_pre"][0][keep].double()
    attn = torch.einsum("hij,hjm->ijm", alpha, f)
    attn_res = attn.clone()
    attn_res[torch.arange(len(rows)), rows] += resid[rows]
    out = {"alpha": alpha, "f": f, "attn": attn, "attn_res": attn_res, "b_O": b_o,
           "attn_out": trace[f"{pre}.hook_attn_out"][0][keep].double()[rows], "resid_pre": resid[rows]}
    ln = ln_after_attention(model)
    if ln is not None:
        norm = model.norm(f"{pre}.{ln}")
        gamma = norm.weight.detach().double().cpu()
        beta = getattr(norm, "bias", None)
        beta = torch.zeros_like(gamma) if beta is None else beta.detach().double().cpu()
        scale = trace[f"{pre}.{ln}.hook_scale"][0][keep].double()[rows]  # [R, 1]

        def g(x, s):
            if cfg.normalization == "layernorm":
                x = x - x.mean(-1, keepdim=True)
            return gamma * x / s

        out["ln"] = g(attn_res, scale[:, :, None])
        out["ln_bias"] = g(b_o[None], scale) + beta
        out["ln_out"] = trace[f"{pre}.{ln}.hook_normalized"][0][keep].double()[rows]
    return out


def _mixing(vectors: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """r_i = ‖Σ_{j≠i} v_ij‖ / (‖Σ_{j≠i} v_ij‖ + ‖v_ii‖) for vectors [R, T, d]."""
    own = vectors[torch.arange(len(rows)), rows]
    others = (vectors.sum(1) - own).norm(dim=-1)
    denom = others + own.norm(dim=-1)
    return torch.where(denom > 0, others / denom.clamp_min(1e-300), torch.zeros_like(denom))


@dataclasses.dataclass(repr=False)
class AttentionNorms(Result):
    """Norm-based attention of one text; ``layers`` lists the analysed layers (axis 0 below).

    ``alpha`` [L, H, T, T] attention weights; ``f_norm`` [L, H, T] ‖f^h(x_j)‖; ``weighted``
    [L, H, T, T] ‖α^h_ij f^h(x_j)‖; ``summed`` [L, T, T] ‖Σ_h α^h_ij f^h(x_j)‖ (Attn-N);
    ``with_residual`` [L, T, T] (AttnRes-N); ``with_ln`` [L, T, T] (AttnResLn-N, NaN when
    undefined); ``mixing`` [L, 3, T] mixing ratios in the order of ``kinds``.
    """

    levels = (3,)
    tokens: list
    layers: list
    alpha: torch.Tensor
    f_norm: torch.Tensor
    weighted: torch.Tensor
    summed: torch.Tensor
    with_residual: torch.Tensor
    with_ln: torch.Tensor
    mixing: torch.Tensor
    kinds: tuple = KINDS
    ln_name: str | None = None
    note: str = ""

    def show(self, **kwargs):
        """The interactive :class:`~interp_widgets.widgets.norm_view.NormView`."""
        from ...widgets.norm_view import NormView

        return NormView(self, **kwargs)

    def figure(self, layer: int | None = None, **kw):
        """Kobayashi 2020 Fig. 1 (α vs ‖Σ_h αf‖ of one layer) and 2021 Fig. 3 (mixing ratio per layer)."""
        import matplotlib.pyplot as plt

        from ...figures import SEQUENTIAL, paper_style

        index = len(self.layers) - 1 if layer is None else self.layers.index(layer % (max(self.layers) + 1))
        ticks = range(len(self.tokens))
        with paper_style():
            fig, axes = plt.subplots(1, 3, figsize=(kw.get("width", 9.5), 3.2))
            for ax, (title, data) in zip(axes, [("α (mean over heads)", self.alpha[index].mean(0)),
                                                 ("‖Σ_h α f(x)‖", self.summed[index])]):
                ax.imshow(data.numpy(), cmap=SEQUENTIAL, vmin=0, aspect="auto")
                ax.set_title(f"{title}, layer {self.layers[index]}")
                ax.set_xticks(ticks, self.tokens, rotation=90)
                ax.set_yticks(ticks, self.tokens)
            for k, kind in enumerate(self.kinds):
                values = self.mixing[:, k].mean(-1).numpy()
                if not np.isnan(values).all():
                    axes[2].plot(self.layers, 100 * values, marker="o", label=kind)
            axes[2].set_xlabel("layer")
            axes[2].set_ylabel("mixing ratio (%)")
            axes[2].set_ylim(0, 100)
            axes[2].legend(frameon=False)
            fig.tight_layout()
        return fig


def norms(model, text, layers=None, chunk: int = 2 ** 22) -> AttentionNorms:
    """Norm-based analysis of one text (level 3 attention); every family (Conv1D GPT-2, grouped-
    query RMSNorm Llama family, partial-rotary GPT-NeoX, post-LN BERT). See the module docstring
    for the equations and which norm AttnResLn-N uses. ``layers``: None (all), an int or a list.
    ``chunk`` bounds the number of floats held at once (query rows are processed in blocks)."""
    layers = check_layers(model, layers)
    ln = ln_after_attention(model)
    trace, keep, _ = run_one(model, text, _names(model, layers, ln))
    n_tok, d = int(keep.sum()), model.cfg.d_model
    block = max(1, chunk // max(1, n_tok * d))
    fields = {k: [] for k in ("alpha", "f_norm", "weighted", "summed", "with_residual", "with_ln", "mixing")}
    for layer in layers:
        parts = {k: [] for k in fields}
        for start in range(0, n_tok, block):
            rows = torch.arange(start, min(n_tok, start + block))
            t = decompose(model, trace, layer, rows)
            parts["alpha"].append(t["alpha"])
            parts["weighted"].append(t["alpha"] * t["f"].norm(dim=-1)[:, None, :])
            parts["summed"].append(t["attn"].norm(dim=-1))
            parts["with_residual"].append(t["attn_res"].norm(dim=-1))
            ln_terms = t.get("ln")
            parts["with_ln"].append(ln_terms.norm(dim=-1) if ln_terms is not None
                                    else torch.full((len(rows), n_tok), float("nan"), dtype=torch.float64))
            mix = [_mixing(t["attn"], rows), _mixing(t["attn_res"], rows),
                   _mixing(ln_terms, rows) if ln_terms is not None else torch.full((len(rows),), float("nan"),
                                                                                  dtype=torch.float64)]
            parts["mixing"].append(torch.stack(mix))
            f_norm = t["f"].norm(dim=-1)
        fields["alpha"].append(torch.cat(parts["alpha"], 1))
        fields["weighted"].append(torch.cat(parts["weighted"], 1))
        fields["f_norm"].append(f_norm)
        for k in ("summed", "with_residual", "with_ln"):
            fields[k].append(torch.cat(parts[k], 0))
        fields["mixing"].append(torch.cat(parts["mixing"], 1))
    note = "" if ln else ("parallel-residual block: no norm follows attention + residual, so "
                          "AttnResLn-N is undefined (NaN)")
    return AttentionNorms(tokens=trace.str_tokens(0), layers=layers, ln_name=ln, note=note,
                          **{k: torch.stack(v) for k, v in fields.items()})
