"""Direct logit attribution (TransformerLens ``logit_attrs``; Elhage et al. 2021). Levels 3-5.

In a pre-norm transformer the final residual at a position is a sum of component outputs,

    x = embed (+ pos_embed) + Σ_l [ Σ_h result_{l,h} + b_O,l + mlp_out_l ],

and the logit of token t is ``head(final_norm(x))``. Holding the final norm's scale ``s`` fixed
at its value in this run (``ln_final.hook_scale``), the read-out is affine in x:

    logit_t = Σ_c  centre(c) / s · (w ⊙ W_U[:, t])   +   (b · W_U[:, t] + b_U[t])

where ``centre`` subtracts the mean over d_model for LayerNorm (it distributes over the sum;
RMSNorm has no centring), ``w``/``b`` are the final norm's weight and bias. Each component c gets
the first term; the second (final-norm bias and unembedding bias) is reported separately as
``constant``. Attention output biases b_O are their own components (not shared among heads).
The components plus ``constant`` sum exactly to the model's logit (or logit difference, where the
constant is the difference of the two columns' constants). With ``centered=True`` the target is
the logit minus the mean logit over the vocabulary (W_U and b_U centred over the vocabulary).

Post-norm encoders (BERT/RoBERTa) renormalise the stream after every block, so x is not a sum of
component outputs and the attribution is undefined; they raise an error.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np
import torch

from ..analysis.result import Result
from ._common import check_position, encode_one, resolve_token, token_label


@dataclasses.dataclass(repr=False)
class LogitAttribution(Result):
    """Direct contributions to one logit (difference) at ``position``.

    ``heads`` [layer, head], ``attn_bias`` [layer], ``mlp`` [layer]; ``embed``/``pos_embed``
    floats (``pos_embed`` None without learned positions); ``constant`` the final-norm and
    unembedding bias term; ``total`` = everything summed = ``logit`` (the model's own value).
    """

    levels: ClassVar[tuple[int, ...]] = (3, 4, 5)

    tokens: list[str]
    position: int
    target: str
    target_ids: list[int]
    heads: torch.Tensor
    attn_bias: torch.Tensor
    mlp: torch.Tensor
    embed: float
    pos_embed: float | None
    constant: float
    total: float
    logit: float
    centered: bool
    model_name: str

    def components(self) -> tuple[list[str], torch.Tensor]:
        """(labels, contributions [component]) in forward order, without ``constant``."""
        labels, values = ["embed"], [self.embed]
        if self.pos_embed is not None:
            labels.append("pos_embed")
            values.append(self.pos_embed)
        n_layers, n_heads = self.heads.shape
        for layer in range(n_layers):
            labels += [f"L{layer}H{h}" for h in range(n_heads)] + [f"L{layer} b_O", f"L{layer} mlp"]
            values += self.heads[layer].tolist() + [float(self.attn_bias[layer]), float(self.mlp[layer])]
        return labels, torch.tensor(values, dtype=torch.float64)

    def top(self, n: int = 10) -> list[tuple[str, float]]:
        """The ``n`` components with the largest absolute contribution."""
        labels, values = self.components()
        order = values.abs().argsort(descending=True)[:n]
        return [(labels[i], float(values[i])) for i in order]

    def figure(self, **kw):
        """Heads as a layer × head heatmap (diverging, centred at 0) and per-layer bars of
        attention (heads + b_O) and MLP, with embeddings and the bias constant."""
        import matplotlib.pyplot as plt
        from matplotlib.colors import TwoSlopeNorm

        from ..figures import DIVERGING, paper_style

        n_layers, n_heads = self.heads.shape
        heads = self.heads.numpy()
        lim = float(np.abs(heads).max()) or 1.0
        with paper_style():
            fig, (hx, bx) = plt.subplots(1, 2, figsize=(kw.get("width", 7.0), kw.get("height", 1.0 + 0.16 * (2 * n_layers + 3))),
                                         gridspec_kw={"width_ratios": [max(n_heads, 3), 4]})
            image = hx.imshow(heads, cmap=DIVERGING, norm=TwoSlopeNorm(0, -lim, lim), aspect="auto", origin="lower")
            hx.set_xticks(range(n_heads))
            hx.set_yticks(range(n_layers))
            hx.set_xlabel("head")
            hx.set_ylabel("layer")
            hx.set_title("per-head direct contribution")
            fig.colorbar(image, ax=hx, fraction=0.05, pad=0.02)
            labels = ["embed"] + (["pos_embed"] if self.pos_embed is not None else [])
            values = [self.embed] + ([self.pos_embed] if self.pos_embed is not None else [])
            attn = (self.heads.sum(1) + self.attn_bias).tolist()
            for layer in range(n_layers):
                labels += [f"L{layer} attn", f"L{layer} mlp"]
                values += [attn[layer], float(self.mlp[layer])]
            labels.append("biases")
            values.append(self.constant)
            y = np.arange(len(values))[::-1]
            bx.barh(y, values, color=["#b2182b" if v > 0 else "#2166ac" for v in values])
            bx.axvline(0, color="black", lw=0.6)
            bx.set_yticks(y, labels)
            bx.set_xlabel("contribution to " + ("centred " if self.centered else "") + "logit")
            bx.set_title(f"{self.target} at {self.tokens[self.position]!r}: total {self.total:.3g}")
            fig.tight_layout()
        return fig


def _target_direction(model, target, centered: bool):
    """(label, ids, unembedding direction [d_model], unembedding bias) of a token or a pair."""
    pair = isinstance(target, (tuple, list))
    if pair and len(target) != 2:
        raise ValueError(f"target must be one token or a pair (token_a, token_b), got {len(target)} items")
    ids = [resolve_token(model, t, "target token") for t in (target if pair else [target])]
    w_u = model.W_U.detach().double()  # [d_model, vocab]
    b_u = model.b_U
    b_u = torch.zeros(w_u.shape[1], dtype=torch.float64) if b_u is None else b_u.detach().double().cpu()
    w_u = w_u.cpu()
    if centered:
        w_u = w_u - w_u.mean(1, keepdim=True)
        b_u = b_u - b_u.mean()
    direction, bias = w_u[:, ids[0]], b_u[ids[0]]
    if pair:
        direction, bias = direction - w_u[:, ids[1]], bias - b_u[ids[1]]
    labels = [repr(token_label(model, i)) for i in ids]
    return " − ".join(labels), ids, direction, float(bias)


def direct_logit_attribution(model, text, target, position: int = -1, centered: bool = False) -> LogitAttribution:
    """Direct logit attribution of one text (levels 3 attention heads, 4 layer outputs, 5 logits).

    ``target``: a token (string or id) or a pair ``(token_a, token_b)`` for logit(a) − logit(b);
    ``position`` the position whose logits are explained (default the last). Returns each head's,
    each attention bias's and each MLP's direct contribution plus the embeddings and the bias
    constant; they sum to the model's logit (difference). See the module docstring for the formula.
    """
    cfg = model.cfg
    if cfg.post_norm:
        raise ValueError(f"direct logit attribution needs a pre-norm model whose final residual is a sum "
                         f"of component outputs; this {cfg.family} model normalises the residual after each "
                         "block (post-norm), so the attribution is undefined. Use activation_patching instead")
    if model.W_U is None:
        raise ValueError("this model has no unembedding (no language-model head); load it with its LM head")
    label, ids, direction, bias = _target_direction(model, target, centered)
    input_ids = encode_one(model, text)
    position = check_position(position, len(input_ids))
    learned = cfg.positional == "learned"
    names = ["hook_embed", "ln_final.hook_scale", f"blocks.{cfg.n_layers - 1}.hook_resid_post"]
    names += ["hook_pos_embed"] if learned else []
    names += [f"blocks.*.{n}" for n in ("attn.hook_result", "hook_mlp_out")]
    trace = model.run(input_ids, names=names)

    def at(name):
        return trace[name][0, position].detach().double().cpu()

    scale = float(trace["ln_final.hook_scale"][0, position])
    norm = model.norm("ln_final")
    weight = norm.weight.detach().double().cpu()
    norm_bias = getattr(norm, "bias", None)
    read = weight * direction / scale  # [d_model]
    layernorm = cfg.normalization == "layernorm"

    def contribution(x: torch.Tensor) -> torch.Tensor:  # [..., d_model] -> [...]
        if layernorm:
            x = x - x.mean(-1, keepdim=True)
        return x @ read

    parts = [at("hook_embed")] + ([at("hook_pos_embed")] if learned else [])
    heads, attn_bias, mlp = [], [], []
    for layer in range(cfg.n_layers):
        result = at(f"blocks.{layer}.attn.hook_result")  # [head, d_model]
        b_o = model.b_O(layer)
        b_o = torch.zeros(cfg.d_model, dtype=torch.float64) if b_o is None else b_o.detach().double().cpu()
        out = at(f"blocks.{layer}.hook_mlp_out")
        parts += [result.sum(0), b_o, out]
        heads.append(contribution(result))
        attn_bias.append(contribution(b_o))
        mlp.append(contribution(out))
    resid = at(f"blocks.{cfg.n_layers - 1}.hook_resid_post")
    error = float((torch.stack(parts).sum(0) - resid).abs().max() / resid.abs().max().clamp_min(1e-12))
    if error > 1e-4:
        raise RuntimeError(f"the final residual of this {cfg.model_type} model is not the sum of its embeddings, "
                           f"head results, attention biases and MLP outputs (relative error {error:.2e}); "
                           "its adapter needs the missing terms before direct logit attribution applies")
    constant = bias + (float(norm_bias.detach().double().cpu() @ direction) if norm_bias is not None else 0.0)
    heads, attn_bias, mlp = torch.stack(heads), torch.stack(attn_bias), torch.stack(mlp)
    embed = float(contribution(parts[0]))
    pos_embed = float(contribution(parts[1])) if learned else None
    total = embed + (pos_embed or 0.0) + float(heads.sum() + attn_bias.sum() + mlp.sum()) + constant
    logits = trace.logits[0, position].double()
    logit = logits[ids[0]] - (logits[ids[1]] if len(ids) == 2 else 0.0)
    if centered:
        logit = logit - (0.0 if len(ids) == 2 else logits.mean())
    return LogitAttribution(tokens=model.to_str_tokens(input_ids), position=position, target=label, target_ids=ids,
                            heads=heads, attn_bias=attn_bias, mlp=mlp, embed=embed, pos_embed=pos_embed,
                            constant=constant, total=total, logit=float(logit), centered=centered,
                            model_name=model.name)


__all__ = ["LogitAttribution", "direct_logit_attribution"]
