"""How well a transcoder stands in for a model's MLPs: reconstruction, sparsity, next-token loss.

FVE of layer l over tokens n: 1 − Σ_n ‖ŷ_n − y_n‖² / Σ_n ‖y_n − ȳ‖² (ȳ the mean MLP output), on
the model's own activations. L0: mean number of active features per token. Next-token loss
(cross-entropy, nats) of the model as is, with every MLP output replaced by the transcoder's
reconstruction (features read the replacement model's own residual stream, so errors compound
through the layers) and with every MLP output set to zero.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from ..analysis.result import Result
from . import activations as A
from .transcoder import OUTPUT_HOOK


def fraction_of_variance_explained(pred: torch.Tensor, target: torch.Tensor) -> float:
    """FVE of ``pred`` for ``target`` [n_tokens, d]: 1 − Σ‖pred − target‖² / Σ‖target − mean‖²."""
    pred, target = pred.double(), target.double()
    var = (target - target.mean(0)).pow(2).sum()
    if var == 0:
        raise ValueError("the target has no variance across tokens; FVE is undefined")
    return float(1 - (pred - target).pow(2).sum() / var)


@dataclasses.dataclass(repr=False)
class TranscoderEvaluation(Result):
    """``fve`` [layer], ``l0`` [layer]; next-token losses (nats/token) ``loss_original``,
    ``loss_replacement`` (MLPs replaced by the transcoder), ``loss_zero_mlp`` (MLP outputs zeroed);
    ``loss_recovered`` = (zero − replacement) / (zero − original); over ``n_tokens`` tokens."""

    levels = (4, 5)
    model_name: str
    fve: np.ndarray
    l0: np.ndarray
    loss_original: float
    loss_replacement: float
    loss_zero_mlp: float
    loss_recovered: float
    n_tokens: int

    def figure(self, **kw):
        """FVE and L0 per layer; the three next-token losses."""
        import matplotlib.pyplot as plt

        from ..figures import paper_style

        layers = np.arange(len(self.fve))
        with paper_style():
            fig, ax = plt.subplots(1, 3, figsize=(kw.get("width", 8.0), 2.6))
            ax[0].bar(layers, self.fve, color="C2")
            ax[0].set(xlabel="layer", ylabel="FVE", ylim=(min(0, self.fve.min()), 1), xticks=layers,
                      title="Variance explained")
            ax[1].bar(layers, self.l0, color="C1")
            ax[1].set(xlabel="layer", ylabel="active features / token", xticks=layers, title="L0")
            names = ["original", "transcoder", "MLPs zeroed"]
            vals = [self.loss_original, self.loss_replacement, self.loss_zero_mlp]
            ax[2].bar(names, vals, color=["0.5", "C0", "C3"])
            ax[2].set(ylabel="next-token loss (nats)", title=f"{self.loss_recovered:.0%} of loss recovered")
            fig.tight_layout()
        return fig


def _next_token_loss(logits: torch.Tensor, ids: torch.Tensor, skip: int) -> tuple[float, int]:
    """Summed cross-entropy of predicting ids[:, t + 1] for t >= skip, and the count."""
    lp = logits[:, skip:-1].double().log_softmax(-1)
    target = ids[:, skip + 1:].to(lp.device)
    nll = -lp.gather(-1, target[..., None])[..., 0]
    return float(nll.sum()), nll.numel()


def replacement_patches(model, tc) -> dict:
    """``Model.patch`` hooks replacing every MLP output by the transcoder's reconstruction."""
    acts: dict[int, torch.Tensor] = {}
    patches = {}
    for l in range(tc.config.n_layers):
        def read(value, l=l):
            acts[l] = tc.encode(l, value)

        def write(value, l=l):
            out = tc.b_dec[l].expand_as(value)
            sources = range(l + 1) if tc.config.cross_layer else [l]
            return out + sum(acts[s] @ tc.decoder(s, l) for s in sources)

        patches[A.input_hook(model, l)] = read
        patches[OUTPUT_HOOK.format(layer=l)] = write
    return patches


@torch.no_grad()
def evaluate_transcoder(model, tc, texts, context: int = 128, max_tokens: int = 16384,
                        batch_windows: int = 8) -> TranscoderEvaluation:
    """Evaluate ``tc`` on non-overlapping windows of ``context`` tokens of ``texts`` (at most
    ``max_tokens`` tokens). The BOS position is left out of every statistic."""
    A.check_model(model, tc)
    if not model.cfg.causal:
        raise ValueError("evaluate_transcoder measures next-token loss; pass a causal language model")
    stream = A.token_stream(model, texts)
    context = A.check_context(model, context, stream)
    skip = A.first_position(model)
    body = context - skip
    starts = A.tiled_starts(stream, context, model)[:max(1, max_tokens // body)]
    if not starts:
        raise ValueError(f"the texts hold fewer than {body} tokens; pass longer texts or a smaller context")
    L = tc.config.n_layers
    err = np.zeros(L)
    active = np.zeros(L)
    losses = {"original": 0.0, "replacement": 0.0, "zero": 0.0}
    n_tok, n_pred = 0, 0
    zero = {OUTPUT_HOOK.format(layer=l): (lambda v: torch.zeros_like(v)) for l in range(L)}
    ys = [[] for _ in range(L)]
    for i in range(0, len(starts), batch_windows):
        ids = A.windows(model, stream, starts[i:i + batch_windows], context)
        x, y = A.record(model, ids)
        x, y = (t[:, :, skip:].flatten(1, 2) for t in (x, y))
        acts, recon = tc([x[l] for l in range(L)])
        for l in range(L):
            err[l] += float((recon[l] - y[l]).double().pow(2).sum())
            active[l] += float((acts[l] > 0).sum())
            ys[l].append(y[l].double().cpu())
        n_tok += x.shape[1]
        s, n = _next_token_loss(model(ids), ids, skip)
        losses["original"] += s
        with model.patch(replacement_patches(model, tc)):
            losses["replacement"] += _next_token_loss(model(ids), ids, skip)[0]
        with model.patch(zero):
            losses["zero"] += _next_token_loss(model(ids), ids, skip)[0]
        n_pred += n
    var = np.array([float((torch.cat(v) - torch.cat(v).mean(0)).pow(2).sum()) for v in ys])
    orig, repl, zer = (losses[k] / n_pred for k in ("original", "replacement", "zero"))
    return TranscoderEvaluation(
        model_name=model.name, fve=1 - err / var, l0=active / n_tok, loss_original=orig,
        loss_replacement=repl, loss_zero_mlp=zer,
        loss_recovered=(zer - repl) / (zer - orig) if zer != orig else float("nan"), n_tokens=n_tok)
