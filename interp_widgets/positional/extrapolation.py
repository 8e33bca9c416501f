"""Length extrapolation of a RoPE model (levels 3 and 5): perplexity vs sequence length, with the
model's rotary frequencies replaced at inference by linear interpolation, NTK-aware scaling or
YaRN (:class:`~interp_widgets.positional.RoPE`, :class:`~interp_widgets.positional.YaRN`)."""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path

import numpy as np
import torch

from ..analysis.result import Result
from .rotary import RoPE, YaRN, _check_factor

METHODS = ("none", "linear", "ntk", "yarn")
HELDOUT = Path(__file__).resolve().parent.parent / "shipped" / "heldout_sample.txt"


def _rotary_modules(model) -> list:
    found = [m for m in model.hf.modules()
             if isinstance(getattr(m, "inv_freq", None), torch.Tensor) and hasattr(m, "attention_scaling")]
    if not found:
        raise ValueError(f"{model.name} has no rotary embedding module with inv_freq and attention_scaling; "
                         "scaled inference needs a RoPE model (Llama-family or GPT-NeoX)")
    return found


def scaled_rope(model, method: str, factor: float) -> RoPE:
    """The rotary scheme ``method`` ("none", "linear", "ntk", "yarn") at scale ``factor`` for
    ``model``'s rotary dim, base and trained context."""
    rot = model.rotary
    if rot is None:
        raise ValueError(f"{model.name} ({model.cfg.family}) has no rotary positions to rescale")
    if rot["rope_type"] != "default":
        raise ValueError(f"{model.name} already uses {rot['rope_type']!r} RoPE; rescaling starts from default RoPE")
    r, theta = int(rot["rotary_dim"]), float(rot["theta"])
    if method == "yarn":
        return YaRN(r, factor=factor, original_max_position=model.cfg.n_ctx, base=theta)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    return RoPE(r, base=theta, scaling=method, factor=factor if method != "none" else 1.0)


@contextlib.contextmanager
def rope_scaling(model, method: str, factor: float):
    """Within the block, ``model`` uses the frequencies and cos/sin scale of
    :func:`scaled_rope`; always restored. "none" leaves the model's own rotary embedding (whatever
    its config, e.g. a PoSE-fine-tuned copy's scaling) as it is."""
    if method == "none":
        _rotary_modules(model)
        yield None
        return
    scheme = scaled_rope(model, method, factor)
    saved = [(m, m.inv_freq.clone(), m.attention_scaling) for m in _rotary_modules(model)]
    try:
        for m, inv, _ in saved:
            m.inv_freq.copy_(scheme.inv_freq.to(inv))
            m.attention_scaling = scheme.attention_scale
        yield scheme
    finally:
        for m, inv, scale in saved:
            m.inv_freq.copy_(inv)
            m.attention_scaling = scale


@dataclasses.dataclass(repr=False)
class Extrapolation(Result):
    """``nll`` [method, length] mean next-token negative log-likelihood over non-overlapping
    windows of each length (``n_windows`` [length]); ``nll_beyond`` [method, length] the mean over
    positions ≥ ``n_ctx`` only (NaN for windows within the trained context). ``factor``: scale s."""

    levels = (3, 5)
    model: str
    methods: list
    lengths: torch.Tensor
    nll: torch.Tensor
    nll_beyond: torch.Tensor
    n_windows: torch.Tensor
    n_ctx: int
    factor: float

    @property
    def perplexity(self) -> torch.Tensor:
        return self.nll.exp()

    def table(self) -> str:
        head = "length " + " ".join(f"{m:>9}" for m in self.methods)
        rows = [f"{int(L):>6} " + " ".join(f"{float(p):9.2f}" for p in self.perplexity[:, i])
                for i, L in enumerate(self.lengths)]
        return "\n".join([f"perplexity ({self.model}, trained context {self.n_ctx}, s = {self.factor:g})", head, *rows])

    def figure(self, **kw):
        import matplotlib.pyplot as plt

        from ..figures import paper_style

        with paper_style():
            fig, axes = plt.subplots(1, 2, figsize=(kw.get("width", 6.8), 2.6))
            L = self.lengths.numpy()
            for m, name in enumerate(self.methods):
                axes[0].plot(L, self.perplexity[m].numpy(), marker="o", ms=3, label=name)
                beyond = self.nll_beyond[m].exp().numpy()
                if np.isfinite(beyond).any():
                    axes[1].plot(L, beyond, marker="o", ms=3, label=name)
            for ax, title in zip(axes, ("whole window", f"positions ≥ {self.n_ctx} only")):
                ax.axvline(self.n_ctx, color="0.5", ls="--", lw=0.8)
                ax.set_xlabel("sequence length")
                ax.set_ylabel("perplexity")
                ax.set_title(title)
                ax.legend(frameon=False, title=f"s = {self.factor:g}")
            fig.tight_layout()
        return fig


def extrapolation(model, text: str | None = None, lengths=None, methods=METHODS,
                  factor: float | None = None, max_windows: int | None = None,
                  n_ctx: int | None = None) -> Extrapolation:
    """Perplexity of a causal RoPE ``model`` vs sequence length under each rotary ``method``
    (default: the shipped held-out sample; lengths 1/4, 1/2, 1, 1.5, 2, 3 × n_ctx that fit;
    ``factor`` default max(length)/n_ctx, at least 1). Each length uses every non-overlapping
    window of the text, or the first ``max_windows``. ``n_ctx``: the trained context that
    ``nll_beyond`` counts from (default the model's; for a PoSE copy its training window)."""
    if not model.cfg.causal or model.W_U is None:
        raise ValueError("the extrapolation experiment needs a causal language model with a head")
    if model.rotary is None:
        raise ValueError(f"{model.name} ({model.cfg.family}) has no rotary positions; the extrapolation "
                         "experiment needs a RoPE model (Llama-family or GPT-NeoX)")
    text = HELDOUT.read_text() if text is None else text
    ids = torch.tensor(model.tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])
    n_ctx = model.cfg.n_ctx if n_ctx is None else int(n_ctx)
    if not 2 <= n_ctx <= model.cfg.n_ctx:
        raise ValueError(f"n_ctx must lie in [2, {model.cfg.n_ctx}] (the model's context), got {n_ctx}")
    if lengths is None:
        lengths = [int(n_ctx * f) for f in (0.25, 0.5, 1, 1.5, 2, 3) if int(n_ctx * f) <= len(ids)]
    lengths = sorted(int(L) for L in lengths)
    if not lengths or lengths[0] < 2 or lengths[-1] > len(ids):
        raise ValueError(f"lengths must lie in [2, {len(ids)}] (the text has {len(ids)} tokens), got {lengths}")
    factor = max(1.0, lengths[-1] / n_ctx) if factor is None else _check_factor(factor)
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise ValueError(f"methods must be a non-empty list from {METHODS}, got {list(methods)}")
    nll = torch.zeros(len(methods), len(lengths), dtype=torch.float64)
    beyond = torch.full_like(nll, float("nan"))
    n_windows = torch.tensor([len(ids) // L if max_windows is None else min(len(ids) // L, max_windows)
                              for L in lengths])
    was_training = model.hf.training
    model.hf.eval()
    try:
        _measure(model, ids, lengths, methods, factor, n_windows, nll, beyond, n_ctx)
    finally:
        model.hf.train(was_training)
    return Extrapolation(model=str(model.name), methods=list(methods), lengths=torch.tensor(lengths), nll=nll,
                         nll_beyond=beyond, n_windows=n_windows, n_ctx=n_ctx, factor=factor)


def _measure(model, ids, lengths, methods, factor, n_windows, nll, beyond, n_ctx) -> None:
    from tqdm.auto import tqdm

    device = model.adapter.device
    with torch.no_grad():
        for m, method in enumerate(tqdm(methods, desc="rope scalings", leave=False)):
            with rope_scaling(model, method, factor):
                for j, L in enumerate(lengths):
                    windows = ids[: int(n_windows[j]) * L].view(-1, L).to(device)
                    logits = model.hf(input_ids=windows, use_cache=False).logits[:, :-1].float()
                    token_nll = torch.nn.functional.cross_entropy(  # [W, L-1]
                        logits.transpose(1, 2), windows[:, 1:], reduction="none").double()
                    nll[m, j] = token_nll.mean()
                    if L > n_ctx:
                        beyond[m, j] = token_nll[:, n_ctx - 1:].mean()  # targets at positions >= n_ctx
