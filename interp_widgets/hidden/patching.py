"""Activation patching (Meng et al. 2022; Wang et al. 2022; TransformerLens ``patching``). Levels 2-5.

Two prompts of equal token length: ``clean`` and ``corrupted``. In the default ``denoising``
mode the corrupted prompt is run while one activation is replaced by its value from the clean
run; the score says how much of the clean behaviour that one activation restores. In ``noising``
mode the clean prompt is run with one corrupted activation. Components (``by``):

* per layer × position: ``resid_pre``, ``resid_mid``, ``resid_post``, ``attn_out``, ``mlp_out``
* per layer × head (all positions): ``head_out`` (the head's z, hence its output), ``head_q``,
  ``head_k``, ``head_v`` (pre-rotary projections; grouped-query models patch their KV heads)
  and ``head_pattern``.

Each (layer, kind) is one batched forward pass whose batch element i patches position/head i.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import ClassVar

import torch
from tqdm.auto import tqdm

from ..analysis.result import Result
from ._common import check_position, encode_one, resolve_token, token_label

# kind -> (hook name pattern, axis patched: "pos" or the head dimension of the activation)
KINDS: dict[str, tuple[str, str | int]] = {
    "resid_pre": ("blocks.{}.hook_resid_pre", "pos"),
    "resid_mid": ("blocks.{}.hook_resid_mid", "pos"),
    "resid_post": ("blocks.{}.hook_resid_post", "pos"),
    "attn_out": ("blocks.{}.hook_attn_out", "pos"),
    "mlp_out": ("blocks.{}.hook_mlp_out", "pos"),
    "head_out": ("blocks.{}.attn.hook_z", 2),
    "head_q": ("blocks.{}.attn.hook_q", 2),
    "head_k": ("blocks.{}.attn.hook_k", 2),
    "head_v": ("blocks.{}.attn.hook_v", 2),
    "head_pattern": ("blocks.{}.attn.hook_pattern", 1),
}
DEFAULT_BY = ("resid_pre", "attn_out", "mlp_out", "head_out")


@dataclasses.dataclass(repr=False)
class ActivationPatching(Result):
    """Scores of every patched run: ``scores[kind]`` [layer, pos] or [layer, head] (KV heads for
    ``head_k``/``head_v`` of grouped-query models). With ``normalized`` the scores are
    (metric − corrupted) / (clean − corrupted): 1 = clean behaviour, 0 = corrupted behaviour.
    ``clean_score``/``corrupted_score`` are the raw metric of the unpatched runs."""

    levels: ClassVar[tuple[int, ...]] = (2, 3, 4, 5)

    clean_tokens: list[str]
    corrupted_tokens: list[str]
    scores: dict
    clean_score: float
    corrupted_score: float
    normalized: bool
    mode: str
    metric: str
    model_name: str

    def __post_init__(self):
        self.scores = {k: torch.as_tensor(v, dtype=torch.float64) for k, v in self.scores.items()}

    def __repr__(self) -> str:
        scores = ", ".join(f"{k}=[{', '.join(map(str, v.shape))}]" for k, v in self.scores.items())
        return (f"ActivationPatching(model_name={self.model_name!r}, mode={self.mode!r}, metric={self.metric!r}, "
                f"normalized={self.normalized}, clean_score={self.clean_score:.4g}, "
                f"corrupted_score={self.corrupted_score:.4g}, tokens=<{len(self.clean_tokens)} items>, "
                f"scores={{{scores}}})")

    def show(self, **kwargs):
        """The interactive :class:`~interp_widgets.widgets.patching_view.PatchingView`."""
        from ..widgets.patching_view import PatchingView

        return PatchingView(self, **kwargs)

    def figure(self, kinds=None, **kw):
        """One heatmap per kind: layer × position (token labels ``clean/corrupted`` where they
        differ) or layer × head; diverging colours centred at 0."""
        import matplotlib.pyplot as plt
        from matplotlib.colors import TwoSlopeNorm

        from ..figures import DIVERGING, paper_style

        kinds = list(self.scores) if kinds is None else [kinds] if isinstance(kinds, str) else list(kinds)
        unknown = [k for k in kinds if k not in self.scores]
        if unknown:
            raise KeyError(f"no scores for {unknown}; this result has {list(self.scores)}")
        labels = [c if c == r else f"{c}/{r}" for c, r in zip(self.clean_tokens, self.corrupted_tokens)]
        lim = max(float(self.scores[k].abs().max()) for k in kinds) or 1.0
        widths = [len(labels) if KINDS[k][1] == "pos" else self.scores[k].shape[1] for k in kinds]
        with paper_style():
            fig, axes = plt.subplots(1, len(kinds), squeeze=False,
                                     figsize=(kw.get("width", 1.2 + 0.32 * sum(widths) + 0.8 * len(kinds)),
                                              kw.get("height", 1.6 + 0.22 * self.scores[kinds[0]].shape[0])),
                                     gridspec_kw={"width_ratios": [max(w, 2) for w in widths]})
            for ax, kind in zip(axes[0], kinds):
                data = self.scores[kind].float().numpy()
                image = ax.imshow(data, cmap=DIVERGING, norm=TwoSlopeNorm(0, -lim, lim), aspect="auto",
                                  origin="lower")
                ax.set_yticks(range(data.shape[0]))
                ax.set_ylabel("layer")
                if KINDS[kind][1] == "pos":
                    ax.set_xticks(range(len(labels)), labels, rotation=90)
                    ax.set_xlabel("position")
                else:
                    ax.set_xticks(range(data.shape[1]))
                    ax.set_xlabel("head")
                ax.set_title(kind)
            fig.colorbar(image, ax=list(axes[0]), fraction=0.03, pad=0.02,
                         label=("normalised " if self.normalized else "") + self.metric)
            fig.suptitle(f"activation patching ({self.mode}) — {self.model_name}", fontsize=9)
        return fig


def logit_diff(model, correct, wrong, position: int = -1) -> Callable[[torch.Tensor], torch.Tensor]:
    """Metric logits[position, correct] − logits[position, wrong] on logits [pos, vocab]."""
    a = resolve_token(model, correct, "correct token")
    b = resolve_token(model, wrong, "wrong token")
    if a == b:
        raise ValueError("the correct and wrong tokens are the same token; the logit difference would be 0")

    def metric(logits: torch.Tensor) -> torch.Tensor:
        row = logits[check_position(position, logits.shape[0])]
        return row[a] - row[b]

    metric.__name__ = f"logit[{token_label(model, a)!r}] − logit[{token_label(model, b)!r}]"
    return metric


def _metric_name(metric) -> str:
    name = getattr(metric, "__name__", "")
    return name if name and name != "<lambda>" else "metric"


def _score(metric, logits: torch.Tensor) -> float:
    value = metric(logits)
    value = torch.as_tensor(value)
    if value.numel() != 1:
        raise ValueError(f"the metric must return one number per run, got shape {tuple(value.shape)}; "
                         "it receives the logits [pos, vocab] of one run")
    return float(value)


def _patch_fn(source: torch.Tensor, axis, index: torch.Tensor):
    """Hook replacing, in batch element i, position/head ``index[i]`` with its ``source`` value."""
    rows = torch.arange(len(index))

    def fn(value: torch.Tensor) -> torch.Tensor:
        value = value.clone()
        src = source.to(value.device, value.dtype)
        if axis == 2:  # [batch, pos, head, d_head]
            value[rows, :, index] = src[0, :, index].transpose(0, 1)
        else:  # position of [batch, pos, ...] or head of [batch, head, q, k]
            value[rows, index] = src[0, index]
        return value

    return fn


def activation_patching(model, clean, corrupted, metric, by=DEFAULT_BY, mode: str = "denoising",
                        normalize: bool | None = None, batch_size: int = 32,
                        progress: bool = True) -> ActivationPatching:
    """Activation patching of one clean/corrupted pair (levels 2 blocks, 3 heads, 4 layer outputs, 5).

    ``metric``: a callable on the logits [pos, vocab] of one run returning a number, or a pair
    ``(correct, wrong)`` of tokens for the logit difference at the last position (normalised so
    that clean = 1 and corrupted = 0 unless ``normalize=False``). ``by``: kinds from
    :data:`KINDS`. ``mode``: ``"denoising"`` (clean activations into the corrupted run) or
    ``"noising"`` (corrupted activations into the clean run). Shows a progress bar.
    """
    if mode not in ("denoising", "noising"):
        raise ValueError(f"mode must be 'denoising' or 'noising', got {mode!r}")
    if isinstance(metric, (tuple, list)):
        if len(metric) != 2:
            raise ValueError("a preset metric is a pair (correct_token, wrong_token)")
        metric = logit_diff(model, *metric)
        normalize = True if normalize is None else normalize
    elif not callable(metric):
        raise TypeError("metric must be a callable on logits [pos, vocab] or a pair (correct, wrong) of tokens")
    by = [by] if isinstance(by, str) else list(by)
    unknown = [k for k in by if k not in KINDS]
    if unknown or not by:
        raise ValueError(f"by must name kinds from {list(KINDS)}, got {by}")
    if "resid_mid" in by and "blocks.0.hook_resid_mid" not in model.hook_names:
        raise ValueError(f"this {model.cfg.model_type} model has parallel attention and MLP, so there is no "
                         "resid_mid between them; patch attn_out or mlp_out instead")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    clean_ids, corrupt_ids = encode_one(model, clean), encode_one(model, corrupted)
    if len(clean_ids) != len(corrupt_ids):
        raise ValueError(f"the clean prompt has {len(clean_ids)} tokens and the corrupted one {len(corrupt_ids)}; "
                         "activation patching pairs positions, so both must have the same token length "
                         "(check with model.to_str_tokens and change words for single tokens)")
    n_layers, n_pos = model.cfg.n_layers, len(clean_ids)
    names = [KINDS[k][0].format(layer) for k in by for layer in range(n_layers)]
    clean_trace = model.run(clean_ids, names=names)
    corrupt_trace = model.run(corrupt_ids, names=names)
    clean_score = _score(metric, clean_trace.logits[0])
    corrupted_score = _score(metric, corrupt_trace.logits[0])
    normalize = bool(normalize)
    if normalize and abs(clean_score - corrupted_score) < 1e-12:
        raise ValueError(f"the metric is the same on the clean and corrupted prompts ({clean_score:.4g}), so "
                         "normalising is undefined; pass normalize=False or prompts that differ in the metric")
    base_ids, source = (corrupt_ids, clean_trace) if mode == "denoising" else (clean_ids, corrupt_trace)

    def finish(raw: float) -> float:
        return (raw - corrupted_score) / (clean_score - corrupted_score) + 0.0 if normalize else raw

    jobs = []
    for kind in by:
        pattern, axis = KINDS[kind]
        for layer in range(n_layers):
            name = pattern.format(layer)
            size = n_pos if axis == "pos" else source[name].shape[axis]
            for start in range(0, size, batch_size):
                jobs.append((kind, layer, name, axis, torch.arange(start, min(size, start + batch_size))))
    scores = {k: torch.zeros(n_layers, n_pos if KINDS[k][1] == "pos" else source[KINDS[k][0].format(0)].shape[KINDS[k][1]],
                             dtype=torch.float64) for k in by}
    for kind, layer, name, axis, index in tqdm(jobs, desc="activation patching", disable=not progress):
        with model.patch({name: _patch_fn(source[name], axis, index)}):
            logits = model(base_ids[None].expand(len(index), -1))
        for i, j in enumerate(index.tolist()):
            scores[kind][layer, j] = finish(_score(metric, logits[i]))
    return ActivationPatching(clean_tokens=model.to_str_tokens(clean_ids),
                              corrupted_tokens=model.to_str_tokens(corrupt_ids), scores=scores,
                              clean_score=clean_score, corrupted_score=corrupted_score, normalized=normalize,
                              mode=mode, metric=_metric_name(metric), model_name=model.name)


__all__ = ["DEFAULT_BY", "KINDS", "ActivationPatching", "activation_patching", "logit_diff"]
