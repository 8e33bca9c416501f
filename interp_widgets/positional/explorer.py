"""What the positional-encoding explorer shows for one scheme and one set of parameters: a
position-by-position matrix and a set of curves over distance, computed by the analyses of
:mod:`.analysis` (so the view and the analyses can never disagree)."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from ..analysis.result import Result
from .absolute import Sinusoidal
from .analysis import _style, alibi_bias, distance_profile, pose_coverage, similarity
from .base import check_positive_int
from .pose import PoSE
from .rotary import RoPE, XPos, YaRN

SCHEMES = {
    "sinusoidal": "Sinusoidal (Vaswani et al.)",
    "rope": "RoPE",
    "rope-linear": "RoPE, linear interpolation",
    "rope-ntk": "RoPE, NTK-aware base",
    "xpos": "xPos",
    "yarn": "YaRN",
    "alibi": "ALiBi",
    "pose": "PoSE training positions",
}
MATRIX_MAX = 256   # the matrix covers at most this many positions; curves cover all
POSE_ROWS = 64     # PoSE samples drawn in the matrix
POSE_PAIRS = 4_000_000  # bound on the position pairs counted for the PoSE coverage


@dataclasses.dataclass(frozen=True)
class ExplorerParams:
    """``dim``: embedding (sinusoidal) or head (rotary) dimension; ``base``: the frequency base;
    ``factor``: the scale factor s (rotary scalings, YaRN, PoSE), the trained context being
    ``length / factor``; ``length``: positions analysed (PoSE: the target length); ``heads`` and
    ``head``: ALiBi heads and the one drawn."""

    dim: int = 64
    base: float = 10000.0
    factor: float = 4.0
    length: int = 256
    heads: int = 8
    head: int = 0

    @property
    def context(self) -> int:
        """The trained context L = length / factor (at least 1)."""
        return max(1, round(self.length / self.factor))

    def check(self) -> "ExplorerParams":
        check_positive_int(self.length, "length")
        check_positive_int(self.heads, "heads")
        if not 0 <= self.head < self.heads:
            raise ValueError(f"head must be in [0, {self.heads}), got {self.head}")
        if self.length < 2:
            raise ValueError(f"length must be at least 2 positions, got {self.length}")
        return self


@dataclasses.dataclass(repr=False)
class ExplorerPanel(Result):
    """One scheme under ``params``: ``matrix`` [n, n'] with its ``matrix_title``, row/column axis
    names; ``curves`` [C, K] over ``x`` [K] with ``curve_labels`` [C], ``x_label``, ``y_label``."""

    levels = (1, 3)
    scheme: str
    params: dict
    matrix: torch.Tensor
    matrix_title: str
    row_label: str
    col_label: str
    x: torch.Tensor
    curves: torch.Tensor
    curve_labels: list
    x_label: str
    y_label: str
    log_y: bool = False

    def figure(self, **kw):
        """The matrix and the curves side by side."""
        return panels_figure([self], **kw)


def panels_figure(panels: list[ExplorerPanel], **kw):
    """One row per panel: matrix (left), curves (right)."""
    plt, style = _style()
    with style:
        fig, axes = plt.subplots(len(panels), 2, figsize=(kw.get("width", 6.6), 2.6 * len(panels)), squeeze=False)
        for row, p in zip(axes, panels):
            im = row[0].imshow(p.matrix.numpy(), cmap="viridis", aspect="auto", interpolation="nearest")
            row[0].set_title(f"{SCHEMES[p.scheme]}: {p.matrix_title}")
            row[0].set_xlabel(p.col_label)
            row[0].set_ylabel(p.row_label)
            fig.colorbar(im, ax=row[0], shrink=0.8)
            for curve, label in zip(p.curves.numpy(), p.curve_labels):
                row[1].plot(p.x.numpy(), curve, lw=0.9, label=label)
            if p.log_y:
                row[1].set_yscale("log")
            row[1].set_xlabel(p.x_label)
            row[1].set_ylabel(p.y_label)
            if 1 < len(p.curve_labels) <= 8:
                row[1].legend(frameon=False, fontsize=7)
        fig.tight_layout()
    return fig


def _rotary(scheme: str, p: ExplorerParams) -> RoPE:
    if scheme == "rope":
        return RoPE(p.dim, p.base)
    if scheme in ("rope-linear", "rope-ntk"):
        return RoPE(p.dim, p.base, scaling=scheme.split("-")[1], factor=p.factor)
    if scheme == "xpos":
        return XPos(p.dim, p.base)
    return YaRN(p.dim, p.factor, original_max_position=p.context, base=p.base)


def explore(scheme: str, params: ExplorerParams | None = None) -> ExplorerPanel:
    """The explorer panel of ``scheme`` (a key of :data:`SCHEMES`) under ``params``."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}; choose one of {list(SCHEMES)}")
    p = (params or ExplorerParams()).check()
    n = min(p.length, MATRIX_MAX)
    common = {"scheme": scheme, "params": dataclasses.asdict(p)}
    if scheme == "alibi":
        bias = alibi_bias(p.heads, n)
        distances = torch.arange(p.length)
        last = -bias.slopes[:, None] * distances  # [H, T]: the bias at distance 0..T-1
        return ExplorerPanel(**common, matrix=bias.bias[p.head, :n, :n], row_label="query i", col_label="key j",
                             matrix_title=f"bias of head {p.head} (m = {float(bias.slopes[p.head]):.3g})",
                             x=distances, curves=last, curve_labels=[f"head {h}" for h in range(p.heads)],
                             x_label="distance i − j", y_label="bias added to the logit")
    if scheme == "pose":
        n_samples = int(np.clip(POSE_PAIRS // p.context**2, POSE_ROWS, 500))
        cov = pose_coverage(PoSE(p.context, p.length), n_samples=n_samples)
        rows = cov.samples[:POSE_ROWS]
        used = torch.zeros(len(rows), p.length, dtype=torch.float64)
        used.scatter_(1, rows, 1.0)
        return ExplorerPanel(**common, matrix=used, row_label="training sample", col_label="position id",
                             matrix_title=f"ids of {len(rows)} samples (L_c = {p.context}, L_t = {p.length})",
                             x=torch.arange(p.length), curves=cov.distance_counts[None].double(),
                             curve_labels=[f"coverage {cov.coverage:.0%}"], x_label="relative distance i − j",
                             y_label=f"pairs seen in {n_samples} samples", log_y=True)
    enc = Sinusoidal(p.dim, p.base) if scheme == "sinusoidal" else _rotary(scheme, p)
    profile = distance_profile(enc, max_distance=p.length - 1)
    dot = profile.dot[0] / profile.dot[0, 0]
    curves, labels = [dot], ["dot product ÷ value at 0"]
    if torch.isfinite(profile.decay[0]).all():
        curves.append(profile.decay[0] / profile.decay[0, 0])
        labels.append("decay bound ÷ value at 0")
    return ExplorerPanel(**common, matrix=similarity(enc, n).matrix, row_label="position", col_label="position",
                         matrix_title="cosine similarity of positions", x=profile.distances,
                         curves=torch.stack(curves), curve_labels=labels, x_label="relative distance k",
                         y_label="relative value")


def explorer(scheme: str = "rope", compare: str | None = None, **params):
    """The interactive :class:`~interp_widgets.widgets.PositionalExplorer`: ``scheme`` and an
    optional second scheme ``compare`` side by side, parameters as in :class:`ExplorerParams`."""
    from ..widgets.positional_explorer import PositionalExplorer

    return PositionalExplorer(scheme, compare, **params)
