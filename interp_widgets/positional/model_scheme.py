"""Read the positional scheme a loaded model actually uses (level 1, and 3 for rotary):
learned absolute tables (GPT-2 ``wpe``, BERT ``position_embeddings``: similarity, PCA) or
rotary settings (base, rotary fraction, scaling type and parameters, the frequencies in use)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch

from ..analysis.result import Result, _describe

COMPONENTS = ("learned", "rotary")


@dataclasses.dataclass(repr=False)
class PositionalInfo(Result):
    """What a model does with positions. ``scheme``: "learned" or "rotary".

    Learned: ``table`` [n, d_model] (the rows real positions use: RoBERTa's padding rows are
    left out), ``similarity`` [n, n] cosine, ``pca`` [n, k] projections on the top principal components, ``explained`` [k] variance shares.
    Rotary: ``d_head``, ``rotary_dim``, ``rotary_fraction``, ``theta`` (base), ``rope_type``,
    ``parameters`` (the config's ``rope_parameters``), ``inv_freq`` [rotary_dim/2] the
    frequencies the model uses, ``attention_scaling`` on cos/sin, ``layout``."""

    levels = (1, 3)
    model: str
    family: str
    scheme: str
    n_ctx: int
    table: torch.Tensor | None = None
    similarity: torch.Tensor | None = None
    pca: torch.Tensor | None = None
    explained: torch.Tensor | None = None
    d_head: int | None = None
    rotary_dim: int | None = None
    rotary_fraction: float | None = None
    theta: float | None = None
    rope_type: str | None = None
    parameters: dict | None = None
    inv_freq: torch.Tensor | None = None
    attention_scaling: float | None = None
    layout: str | None = None
    note: str = ""

    def __repr__(self) -> str:
        shown = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                 if f.name != "note" and getattr(self, f.name) is not None}
        parts = ", ".join(f"{k}={_describe(v)}" for k, v in shown.items())
        return f"PositionalInfo({parts})"

    def figure(self, **kw):
        import matplotlib.pyplot as plt

        from ..figures import paper_style

        with paper_style():
            fig, axes = plt.subplots(1, 3, figsize=(kw.get("width", 9.0), 2.7))
            if self.scheme == "learned":
                self._learned(fig, axes)
            else:
                self._rotary(axes)
            fig.tight_layout()
        return fig

    def _learned(self, fig, axes):
        im = axes[0].imshow(self.similarity.numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
        axes[0].set_title(f"{self.model}: cosine similarity of W_pos")
        axes[0].set_xlabel("position")
        axes[0].set_ylabel("position")
        fig.colorbar(im, ax=axes[0], shrink=0.8)
        for c in range(self.pca.shape[1]):
            axes[1].plot(self.pca[:, c].numpy(), lw=0.9, label=f"PC{c + 1} ({float(self.explained[c]):.0%})")
        axes[1].set_xlabel("position")
        axes[1].set_ylabel("projection")
        axes[1].legend(frameon=False)
        axes[1].set_title("principal components of the table")
        pts = axes[2].scatter(self.pca[:, 0].numpy(), self.pca[:, 1].numpy(), c=np.arange(len(self.pca)),
                              cmap="viridis", s=4)
        axes[2].set_xlabel("PC1")
        axes[2].set_ylabel("PC2")
        fig.colorbar(pts, ax=axes[2], shrink=0.8, label="position")

    def _rotary(self, axes):
        i = np.arange(len(self.inv_freq))
        default = self.theta ** (-2.0 * i / self.rotary_dim)
        axes[0].semilogy(i, default, label=f"base {self.theta:g}")
        axes[0].semilogy(i, self.inv_freq.numpy(), ls="--", label=f"in use ({self.rope_type})")
        axes[0].set_xlabel("rotary pair i")
        axes[0].set_ylabel("θ_i")
        axes[0].legend(frameon=False)
        axes[0].set_title(f"{self.model}: rotary frequencies")
        wavelength = 2 * math.pi / self.inv_freq.numpy()
        axes[1].semilogy(i, wavelength)
        axes[1].axhline(self.n_ctx, color="0.5", ls="--", lw=0.8, label=f"context {self.n_ctx}")
        axes[1].set_xlabel("rotary pair i")
        axes[1].set_ylabel("wavelength 2π/θ_i (tokens)")
        axes[1].legend(frameon=False)
        dims = np.zeros(self.d_head)
        dims[: self.rotary_dim] = 1
        axes[2].bar(np.arange(self.d_head), dims, width=1.0, color="C0")
        axes[2].set_yticks([0, 1], ["passes", "rotated"])
        axes[2].set_xlabel("head dimension")
        axes[2].set_title(f"rotary fraction {self.rotary_fraction:g} ({self.layout} layout)")


def _rotary_module(model):
    for module in model.hf.modules():
        if isinstance(getattr(module, "inv_freq", None), torch.Tensor):
            return module
    return None


def _pca(table: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    centred = table - table.mean(0)
    _, s, vh = torch.linalg.svd(centred, full_matrices=False)
    k = min(k, vh.shape[0])
    return centred @ vh[:k].T, (s[:k] ** 2) / (s ** 2).sum()


def inspect(model, component: str | None = None, n_components: int = 3) -> PositionalInfo:
    """The positional scheme of a loaded :class:`~interp_widgets.Model` (``iw.load``/``iw.wrap``).
    ``component``: None (whatever the model has), "learned" or "rotary" (an error says what the
    model has instead). For RoPE models see also ``iw.attention.massive_values``, which locates
    massive query/key dimensions in the rotary frequency bands."""
    cfg = getattr(model, "cfg", None)
    if cfg is None or not hasattr(model, "hf"):
        raise TypeError(f"inspect needs an interp_widgets Model (iw.load(name) or iw.wrap(hf_model, "
                        f"tokenizer)), got {type(model).__name__}")
    if component not in (None, *COMPONENTS):
        raise ValueError(f"component must be None or one of {COMPONENTS}, got {component!r}")
    has = cfg.positional
    if component is not None and component != has:
        other = ("learned absolute position embeddings (a table added to the token embeddings)"
                 if has == "learned" else "rotary position embeddings (no position table)")
        raise ValueError(f"{model.name} ({cfg.family}) has no {component} positions: it uses {other}; "
                         f"call inspect(model) or inspect(model, {has!r})")
    common = {"model": str(model.name), "family": cfg.family, "scheme": has, "n_ctx": int(cfg.n_ctx)}
    if has == "learned":
        embedding = model.adapter.pos_embedding()
        pad = getattr(embedding, "padding_idx", None)
        offset = 0 if pad is None else pad + 1  # RoBERTa: positions start after the padding row
        table = embedding.weight.detach().double().cpu()[offset:]
        pca, explained = _pca(table, n_components)
        unit = table / table.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        note = "learned absolute positions: rows exist only up to n_ctx"
        if offset:
            note += f"; rows 0..{offset - 1} (padding) are left out, row {offset} is the first token"
        return PositionalInfo(**common, table=table, similarity=unit @ unit.T, pca=pca, explained=explained,
                              note=note)
    rot = model.rotary
    module = _rotary_module(model)
    r = int(rot["rotary_dim"])
    if module is not None and module.inv_freq.numel() == r // 2:
        inv = module.inv_freq.detach().double().cpu()
        scaling = float(getattr(module, "attention_scaling", 1.0))
    else:
        inv = float(rot["theta"]) ** (-torch.arange(0, r, 2, dtype=torch.float64) / r)
        scaling = 1.0
    return PositionalInfo(
        **common, d_head=int(cfg.d_head), rotary_dim=r, rotary_fraction=r / cfg.d_head, theta=float(rot["theta"]),
        rope_type=str(rot["rope_type"]), parameters=dict(rot["parameters"]), inv_freq=inv,
        attention_scaling=scaling, layout=str(rot["layout"]),
        note="rotary positions act on queries and keys; iw.attention.massive_values(model, text) finds "
             "massive q/k dimensions per rotary frequency band")
