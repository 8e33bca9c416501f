"""Linear centred kernel alignment (Kornblith et al. 2019, arXiv 1905.00414, Eq. 5). Level 4.

For representations X [n, d1] and Y [n, d2] of the same n inputs (tokens), with columns centred,

    CKA(X, Y) = ‖Yᵀ X‖_F² / (‖Xᵀ X‖_F · ‖Yᵀ Y‖_F)

which equals HSIC(K, L) / sqrt(HSIC(K, K) · HSIC(L, L)) for the linear kernels K = XXᵀ, L = YYᵀ.
It is 1 for X = Y and invariant to orthogonal transforms and isotropic scaling of either side.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import ClassVar

import numpy as np
import torch

from ..analysis.result import Result
from ._common import single_input


@dataclasses.dataclass(repr=False)
class CKA(Result):
    """``matrix`` [len(labels_a), len(labels_b)] of linear CKA over ``n_samples`` tokens."""

    levels: ClassVar[tuple[int, ...]] = (4,)

    matrix: torch.Tensor
    labels_a: list[str]
    labels_b: list[str]
    n_samples: int
    name_a: str
    name_b: str

    def figure(self, **kw):
        """Heatmap of the CKA matrix (0 to 1), rows = ``name_a`` layers, columns = ``name_b``."""
        import matplotlib.pyplot as plt

        from ..figures import SEQUENTIAL, paper_style

        data = self.matrix.float().numpy()
        with paper_style():
            fig, ax = plt.subplots(figsize=(kw.get("width", 1.4 + 0.32 * data.shape[1]),
                                            kw.get("height", 1.0 + 0.3 * data.shape[0])))
            image = ax.imshow(data, cmap=SEQUENTIAL, vmin=0, vmax=1, origin="lower")
            ax.set_xticks(range(data.shape[1]), self.labels_b, rotation=90)
            ax.set_yticks(range(data.shape[0]), self.labels_a)
            ax.set_xlabel(self.name_b)
            ax.set_ylabel(self.name_a)
            ax.set_title(f"linear CKA ({self.n_samples} tokens)")
            fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
            fig.tight_layout()
        return fig


def linear_cka(x, y) -> float:
    """Linear CKA of X [n, d1] and Y [n, d2] (rows: the same n samples)."""
    x, y = _matrix(x, "X"), _matrix(y, "Y")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"X and Y must describe the same samples: X has {x.shape[0]} rows, Y {y.shape[0]}")
    x, y = x - x.mean(0), y - y.mean(0)
    xx, yy = np.linalg.norm(x.T @ x), np.linalg.norm(y.T @ y)
    if xx == 0 or yy == 0:
        raise ValueError("a representation is constant over the samples (zero variance); CKA is undefined")
    return float(np.linalg.norm(y.T @ x) ** 2 / (xx * yy))


def _matrix(x, what: str) -> np.ndarray:
    x = x.detach().double().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"{what} must be [samples, features] with at least 2 samples, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{what} contains NaN or infinite values")
    return x


def layer_representations(model, texts, point: str = "resid_post") -> tuple[list[np.ndarray], list[str]]:
    """Per layer, ``blocks.{l}.hook_{point}`` of every real token of ``texts`` stacked: [tokens, d_model]."""
    texts = [texts] if isinstance(texts, str) else list(texts)
    if not texts:
        raise ValueError("no texts given; pass a string or a non-empty list of strings")
    names = [f"blocks.{layer}.hook_{point}" for layer in range(model.cfg.n_layers)]
    rows: list[list[np.ndarray]] = [[] for _ in names]
    for text in texts:
        trace = model.run(single_input(text), names=names)
        keep = trace.attention_mask[0].bool()
        for layer, name in enumerate(names):
            rows[layer].append(trace[name][0][keep].double().cpu().numpy())
    return [np.concatenate(r) for r in rows], [f"L{layer}" for layer in range(model.cfg.n_layers)]


def _side(source, texts, point, what):
    if hasattr(source, "run") and hasattr(source, "cfg"):
        if texts is None:
            raise ValueError(f"{what} is a model, so texts are needed to compute its representations")
        reps, labels = layer_representations(source, texts, point)
        return reps, labels, source.name
    if isinstance(source, Mapping):
        return [_matrix(v, f"{what}[{k!r}]") for k, v in source.items()], [str(k) for k in source], what
    if isinstance(source, (Sequence, np.ndarray, torch.Tensor)):
        reps = [_matrix(v, f"{what}[{i}]") for i, v in enumerate(source)]
        return reps, [str(i) for i in range(len(reps))], what
    raise TypeError(f"{what} must be a Model, a list of [samples, features] arrays or a dict of them")


def cka(a, texts=None, b=None, point: str = "resid_post") -> CKA:
    """Linear CKA between the layers of one model (``b=None``) or of two (level 4).

    ``a``/``b``: a Model (its ``blocks.{l}.hook_{point}`` over every token of ``texts``), a list of
    [samples, features] arrays (e.g. one per layer) or a dict label -> array. Two models must
    tokenise ``texts`` into the same number of tokens (the same tokenizer).
    """
    reps_a, labels_a, name_a = _side(a, texts, point, "a")
    reps_b, labels_b, name_b = (reps_a, labels_a, name_a) if b is None else _side(b, texts, point, "b")
    if not reps_a or not reps_b:
        raise ValueError("no representations given")
    n = {r.shape[0] for r in reps_a + reps_b}
    if len(n) != 1:
        raise ValueError(f"every representation must cover the same samples; got sample counts {sorted(n)} "
                         "(two models need the same tokenizer to compare token by token)")
    matrix = torch.tensor([[linear_cka(x, y) for y in reps_b] for x in reps_a], dtype=torch.float64)
    return CKA(matrix=matrix, labels_a=labels_a, labels_b=labels_b, n_samples=n.pop(), name_a=name_a,
               name_b=name_b)


__all__ = ["CKA", "cka", "layer_representations", "linear_cka"]
