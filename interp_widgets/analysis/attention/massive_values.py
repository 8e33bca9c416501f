"""Massive values in Q and K (Jin et al. 2025, "Massive Values in Self-Attention Modules are the
Key to Contextual Knowledge Understanding", arXiv 2502.01563), levels 3 attention and 4.

For layer l, head h and dimension d of the post-rotary queries Q [T, H, D] (keys, and values as
the control that should show none):

    M[h, d] = ‖Q[:, h, d]‖₂  over the real (non-padding) tokens          (Sec. 3, Eq. 2)
    massive: M[h, d] > λ · mean_d' M[h, d']                               (Sec. 3, λ = 5)

RoPE (``rotate_half`` layout, Su et al.) rotates dimensions i and i + r/2 together at frequency
θ_i = base^(-2i/r) for i < r/2, r = rotary_dim; dimensions ≥ r (partial rotary, GPT-NeoX) are not
rotated. The paper finds massive values in the low-frequency half (large i). Models without
RoPE (GPT-2, BERT) still get their norms, flagged ``rotary=False`` with no frequencies: the
analysis is a comparison of RoPE and non-RoPE dimensions, so there the bands do not exist.
"""

from __future__ import annotations

import contextlib
import dataclasses

import numpy as np
import torch

from ..result import Result
from ._common import check_layers

PARTS = ("q", "k", "v")


def rope_frequencies(model) -> np.ndarray | None:
    """θ per head dimension [d_head] (NaN for unrotated dims), or None without RoPE. Uses the
    model's own ``inv_freq`` when it has one (scaled RoPE variants), else base^(-2i/r)."""
    rot = model.rotary
    if rot is None:
        return None
    r, d_head = int(rot["rotary_dim"]), model.cfg.d_head
    inv = None
    for module in model.hf.modules():
        buf = getattr(module, "inv_freq", None)
        if isinstance(buf, torch.Tensor) and buf.numel() == r // 2:
            inv = buf.detach().double().cpu().numpy()
            break
    if inv is None:
        inv = float(rot["theta"]) ** (-2.0 * np.arange(r // 2) / r)
    out = np.full(d_head, np.nan)
    out[: r // 2] = inv
    out[r // 2: r] = inv
    return out


def frequency_bands(model) -> list[str] | None:
    """"high" (i < r/4) / "low" (r/4 ≤ i < r/2) frequency half of each dim, "none" if unrotated."""
    rot = model.rotary
    if rot is None:
        return None
    r, d_head = int(rot["rotary_dim"]), model.cfg.d_head
    bands = []
    for d in range(d_head):
        if d >= r:
            bands.append("none")
        else:
            bands.append("high" if d % (r // 2) < r // 4 else "low")
    return bands


def _hook(model, part: str, layer: int) -> str:
    rotary = model.cfg.positional == "rotary"
    return f"blocks.{layer}.attn.hook_{'rot_' if rotary and part != 'v' else ''}{part}"


@dataclasses.dataclass(repr=False)
class MassiveValues(Result):
    """Per-dimension norms: ``M_q`` [L, H, D], ``M_k`` and ``M_v`` [L, H_kv, D]; ``layers`` names
    axis 0. ``frequency`` [D] RoPE θ per dim (NaN unrotated) and ``band`` (D strings) are None
    without RoPE (``rotary=False``)."""

    levels = (3, 4)
    layers: list
    M_q: torch.Tensor
    M_k: torch.Tensor
    M_v: torch.Tensor
    lam: float
    rotary: bool
    n_tokens: int
    frequency: torch.Tensor | None = None
    band: list | None = None
    note: str = ""

    def show(self, **kwargs):
        """The interactive :class:`~interp_widgets.widgets.massive_view.MassiveView`."""
        from ...widgets.massive_view import MassiveView

        return MassiveView(self, **kwargs)

    def mask(self, part: str = "q", top1: bool = False) -> torch.Tensor:
        """Massive dims [L, heads, D]: M > λ·mean_d M, or with ``top1`` the largest dim per head
        (the reference code's choice)."""
        m = self._norms(part)
        if top1:
            return torch.zeros_like(m, dtype=torch.bool).scatter_(-1, m.argmax(-1, keepdim=True), True)
        return m > self.lam * m.mean(-1, keepdim=True)

    def control_mask(self, part: str = "q", top1: bool = False) -> torch.Tensor:
        """As many smallest-norm dims per head as :meth:`mask` marks massive (the paper's control)."""
        m, count = self._norms(part), self.mask(part, top1).sum(-1)
        order = m.argsort(-1)
        ranks = torch.empty_like(order).scatter_(-1, order, torch.arange(m.shape[-1]).expand_as(order))
        return ranks < count[..., None]

    def massive_dims(self, part: str = "q", top1: bool = False) -> list[tuple[int, int, int]]:
        """(layer, head, dim) of every massive value."""
        return [(self.layers[l], h, d) for l, h, d in self.mask(part, top1).nonzero().tolist()]

    def _norms(self, part):
        if part not in PARTS:
            raise ValueError(f"part must be one of {PARTS}, got {part!r}")
        return getattr(self, f"M_{part}")

    def figure(self, layer: int | None = None, head: int = 0, **kw):
        """Jin et al. Fig. 1: M over dims for Q, K, V of one layer/head (massive dims marked),
        and the share of massive dims per RoPE band over layers."""
        import matplotlib.pyplot as plt

        from ...figures import paper_style

        index = len(self.layers) - 1 if layer is None else self.layers.index(layer)
        with paper_style():
            fig, axes = plt.subplots(1, 4, figsize=(kw.get("width", 11.0), 2.8))
            for ax, part in zip(axes, PARTS):
                m = self._norms(part)[index, min(head, self._norms(part).shape[1] - 1)].numpy()
                hit = self.mask(part)[index, min(head, self._norms(part).shape[1] - 1)].numpy()
                ax.bar(np.arange(len(m)), m, color=np.where(hit, "C3", "C0"))
                ax.axhline(self.lam * m.mean(), color="0.4", lw=0.8, ls="--")
                ax.set_title(f"{part.upper()}, layer {self.layers[index]}, head {head}")
                ax.set_xlabel("dimension")
            axes[0].set_ylabel("‖column‖₂ over tokens")
            ax = axes[3]
            if self.band is None:
                ax.text(0.5, 0.5, "no RoPE: no frequency bands", ha="center", va="center",
                        transform=ax.transAxes)
                ax.set_axis_off()
            else:
                bands = np.array(self.band)
                for part, marker in (("q", "o"), ("k", "s")):
                    hits = self.mask(part).sum(1).numpy()  # [L, D]
                    low = hits[:, bands == "low"].sum(1)
                    total = np.maximum(hits.sum(1), 1)
                    ax.plot(self.layers, low / total, marker=marker, label=part.upper())
                ax.set_ylim(-0.05, 1.05)
                ax.set_xlabel("layer")
                ax.set_ylabel("share in low-frequency half")
                ax.legend(frameon=False)
            fig.tight_layout()
        return fig


def massive_values(model, text, layer=None, lam: float = 5.0) -> MassiveValues:
    """Per-head, per-dimension norms of Q, K (post-rotary) and V over the real tokens of ``text``
    (one text, or many whose tokens are pooled; padding excluded). ``layer``: None (all), an int
    or a list. Levels 3 (attention) and 4 (the residual stream that produces Q and K)."""
    if not lam > 0:
        raise ValueError(f"lam must be positive, got {lam}")
    layers = check_layers(model, layer)
    names = [_hook(model, p, l) for l in layers for p in PARTS]
    trace = model.run(text, names=names)
    keep = trace.attention_mask.bool()  # [batch, pos]
    norms = {p: torch.stack([trace[_hook(model, p, l)][keep].double().norm(dim=0) for l in layers])
             for p in PARTS}
    freq = rope_frequencies(model)
    rotary = freq is not None
    note = "" if rotary else (
        f"this {model.cfg.family} model has no rotary position embedding; massive values are a "
        "RoPE phenomenon (the paper contrasts RoPE and non-RoPE models), so norms are computed on "
        "the plain Q/K and no frequency bands exist")
    return MassiveValues(layers=layers, M_q=norms["q"], M_k=norms["k"], M_v=norms["v"], lam=float(lam),
                         rotary=rotary, n_tokens=int(keep.sum()),
                         frequency=None if freq is None else torch.from_numpy(freq),
                         band=frequency_bands(model), note=note)


@contextlib.contextmanager
def disrupt_massive(model, dims, control: bool = False, top1: bool = False):
    """Within the block, replace chosen Q and K dimensions by their mean over the tokens of each
    sequence (Jin et al. Sec. 4, "massive value disruption"); always restored.

    ``dims``: a :class:`MassiveValues` (its massive dims, or with ``control=True`` the same number
    of smallest-norm dims per head), or ``{"q": mask [L, H, D], "k": mask [L, H_kv, D]}`` over all
    layers / the analysed layers. Patches the post-rotary ``hook_rot_q``/``hook_rot_k`` (plain
    ``hook_q``/``hook_k`` without RoPE). Every position of the sequence enters the mean: use
    unpadded inputs. With a KV cache, run only the prefill inside the block.
    """
    if isinstance(dims, MassiveValues):
        layers = dims.layers
        masks = {p: (dims.control_mask(p, top1) if control else dims.mask(p, top1)) for p in ("q", "k")}
    elif isinstance(dims, dict) and set(dims) <= {"q", "k"}:
        masks = {p: torch.as_tensor(v, dtype=torch.bool) for p, v in dims.items()}
        layers = list(range(next(iter(masks.values())).shape[0]))
    else:
        raise TypeError("dims must be a MassiveValues result or a dict {'q': mask, 'k': mask} of "
                        "boolean [layer, head, d_head] masks")
    cfg = model.cfg
    patches = {}
    for part, mask in masks.items():
        heads = cfg.n_heads if part == "q" else cfg.n_kv_heads
        if mask.ndim != 3 or mask.shape[1:] != (heads, cfg.d_head) or mask.shape[0] != len(layers):
            raise ValueError(f"the {part} mask has shape {tuple(mask.shape)}; expected "
                             f"[{len(layers)}, {heads}, {cfg.d_head}] for this model")
        for index, layer in enumerate(layers):
            if mask[index].any():
                patches[_hook(model, part, layer)] = _mean_over_tokens(mask[index])
    with model.patch(patches):
        yield model


def _mean_over_tokens(mask: torch.Tensor):
    def replace(x):  # x [batch, pos, head, d_head]
        m = mask.to(x.device)
        return torch.where(m, x.mean(1, keepdim=True).expand_as(x), x)
    return replace


@dataclasses.dataclass(repr=False)
class PasskeyResult(Result):
    """Passkey retrieval under disruption: ``correct`` [condition, trial] (every answer token the
    greedy choice), ``logprob`` [condition, trial] (Σ log p of the answer tokens), ``n_massive``
    [trial] massive Q+K dims disrupted, ``n_tokens`` [trial] prompt length."""

    levels = (3, 4, 5)
    conditions: list
    correct: torch.Tensor
    logprob: torch.Tensor
    n_massive: torch.Tensor
    n_tokens: torch.Tensor

    @property
    def accuracy(self) -> dict[str, float]:
        return {c: float(v) for c, v in zip(self.conditions, self.correct.double().mean(1))}

    @property
    def mean_logprob(self) -> dict[str, float]:
        return {c: float(v) for c, v in zip(self.conditions, self.logprob.mean(1))}

    def figure(self, **kw):
        """Jin et al. Fig. 4 style: retrieval accuracy and answer log-probability per condition."""
        import matplotlib.pyplot as plt

        from ...figures import paper_style

        with paper_style():
            fig, axes = plt.subplots(1, 2, figsize=(kw.get("width", 6.0), 2.6))
            x = np.arange(len(self.conditions))
            axes[0].bar(x, self.correct.double().mean(1).numpy(), color=["C0", "C3", "C2"][: len(x)])
            axes[0].set_ylim(0, 1)
            axes[0].set_ylabel("passkey accuracy")
            axes[1].bar(x, self.logprob.mean(1).numpy(), color=["C0", "C3", "C2"][: len(x)])
            axes[1].set_ylabel("mean log p(answer)")
            for ax in axes:
                ax.set_xticks(x, self.conditions)
            fig.tight_layout()
        return fig


FILLER = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again. "


def passkey_prompt(key: str, filler_repeats: int, position: float) -> tuple[str, str]:
    """(prompt, answer) of the passkey task (Mohtashami & Jaggi 2023, used by Jin et al.)."""
    before = round(filler_repeats * position)
    return ("There is a pass key hidden in this text. Find it and remember it. " + FILLER * before
            + f"The pass key is {key}. Remember it. {key} is the pass key. "
            + FILLER * (filler_repeats - before) + "What is the pass key? The pass key is", f" {key}")


def passkey_probe(model, n_trials: int = 10, filler_repeats: int = 8, digits: int = 5, lam: float = 5.0,
                  seed: int = 0, top1: bool = False) -> PasskeyResult:
    """Passkey retrieval with and without disruption of massive Q/K dims (Jin et al. Sec. 4.1).

    Each trial hides a random ``digits``-digit key in ``filler_repeats`` filler sentences; the
    massive dims are detected on that prompt (λ = ``lam``), the prompt is prefilled under the
    condition ("original", "massive" disrupted, "control": smallest-norm dims disrupted) and the
    answer is scored by teacher forcing from the cache outside the disruption (prefill only).
    Needs a causal RoPE model with a language-model head. Levels 3, 4 and 5.
    """
    cfg = model.cfg
    if not cfg.causal or model.rotary is None:
        raise ValueError(f"the passkey probe needs a causal model with rotary positions; this is a "
                         f"{cfg.family} model ({'encoder' if not cfg.causal else cfg.positional} positions)")
    if model.W_U is None:
        raise ValueError("the passkey probe needs a language-model head to score the answer")
    rng = np.random.default_rng(seed)
    conditions = ["original", "massive", "control"]
    correct = torch.zeros(3, n_trials, dtype=torch.bool)
    logprob = torch.zeros(3, n_trials, dtype=torch.float64)
    n_massive, n_tokens = torch.zeros(n_trials, dtype=torch.long), torch.zeros(n_trials, dtype=torch.long)
    from tqdm.auto import tqdm

    for t in tqdm(range(n_trials), desc="passkey trials", leave=False):
        key = "".join(str(d) for d in rng.integers(0, 10, digits))
        prompt, answer = passkey_prompt(key, filler_repeats, float(rng.uniform(0.1, 0.9)))
        ids = model.to_tokens(prompt)
        if ids.shape[1] + digits >= cfg.n_ctx:
            raise ValueError(f"the prompt has {ids.shape[1]} tokens but the context is {cfg.n_ctx}; "
                             "lower filler_repeats")
        target = torch.tensor(model.tokenizer(answer, add_special_tokens=False)["input_ids"])
        found = massive_values(model, ids, lam=lam)
        n_massive[t] = int(found.mask("q", top1).sum() + found.mask("k", top1).sum())
        n_tokens[t] = ids.shape[1]
        for c, condition in enumerate(conditions):
            scope = (contextlib.nullcontext() if condition == "original"
                     else disrupt_massive(model, found, control=condition == "control", top1=top1))
            correct[c, t], logprob[c, t] = _score(model, ids, target, scope)
    return PasskeyResult(conditions=conditions, correct=correct, logprob=logprob, n_massive=n_massive,
                         n_tokens=n_tokens)


def _cache_kwargs(hf_model, out) -> dict:
    """The prefill's KV cache as the keyword this transformers version expects."""
    import inspect

    cache = out["cache"] if "cache" in out else out["past_key_values"]
    name = "cache" if "cache" in inspect.signature(hf_model.forward).parameters else "past_key_values"
    return {name: cache}


def _score(model, ids, target, scope) -> tuple[bool, float]:
    device = model.adapter.device
    ids, target = ids.to(device), target.to(device)
    was_training = model.hf.training
    model.hf.eval()
    try:
        with torch.no_grad():
            with scope:
                out = model.hf(input_ids=ids, use_cache=True)
            logits = out.logits[0, -1:]
            if len(target) > 1:
                rest = model.hf(input_ids=target[None, :-1], use_cache=True, **_cache_kwargs(model.hf, out))
                logits = torch.cat([logits, rest.logits[0]])
    finally:
        model.hf.train(was_training)
    logp = torch.log_softmax(logits.double(), -1)
    return bool((logits.argmax(-1) == target).all()), float(logp.gather(-1, target[:, None]).sum())


