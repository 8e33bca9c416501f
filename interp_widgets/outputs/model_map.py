"""Model map from log-likelihood vectors (Oyama, Yamagiwa, Takase & Shimodaira 2025, arXiv 2502.16173).

From L [K, N] (:func:`~interp_widgets.outputs.loglik_matrix`):

* clipping: entries below the ``clip``-th percentile of the whole matrix are raised to it;
* double centring: Q = (I_K − 11ᵀ/K) L (I_N − 11ᵀ/N); row q_i is model i's coordinate;
* KL(p_i‖p_j) ≈ ‖q_i − q_j‖² / (2N), in nats per text (texts sampled from the data distribution,
  models near it; symmetric);
* a 2-D map of the q_i (t-SNE, metric MDS on ‖q_i − q_j‖, or PCA; scikit-learn);
* optionally, benchmark scores regressed on q by ridge regression with leave-one-out predictions;
  models scoring well above their prediction are flagged (the paper's data-leakage check).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np
import torch

from ..analysis.result import Result
from .loglik import LogLikelihoods

METHODS = ("tsne", "mds", "pca")


def double_centre(L: np.ndarray) -> np.ndarray:
    """Q = (I_K − 11ᵀ/K) L (I_N − 11ᵀ/N): every row and every column of Q sums to zero."""
    L = np.asarray(L, dtype=np.float64)
    return L - L.mean(0, keepdims=True) - L.mean(1, keepdims=True) + L.mean()


def kl_estimates(Q: np.ndarray) -> np.ndarray:
    """[K, K] ‖q_i − q_j‖² / (2N) from the centred coordinates Q [K, N]."""
    sq = (Q ** 2).sum(1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * Q @ Q.T, 0.0)
    np.fill_diagonal(d2, 0.0)
    return d2 / (2 * Q.shape[1])


def _embed(Q: np.ndarray, method: str, seed: int, perplexity: float | None) -> np.ndarray:
    k = Q.shape[0]
    if method == "pca":
        from sklearn.decomposition import PCA

        coords = PCA(n_components=min(2, k), svd_solver="full").fit_transform(Q)
    elif method == "mds":
        from sklearn.manifold import MDS

        dist = np.sqrt(np.maximum(2 * Q.shape[1] * kl_estimates(Q), 0.0))
        coords = MDS(n_components=2, metric="precomputed", metric_mds=True, init="classical_mds",
                     random_state=seed).fit_transform(dist)
    else:
        from sklearn.manifold import TSNE

        if k < 4:
            raise ValueError(f"t-SNE needs at least 4 models, got {k}; use method='pca' or 'mds'")
        perplexity = perplexity if perplexity is not None else min(30.0, (k - 1) / 3)
        if not 0 < perplexity < k:
            raise ValueError(f"perplexity must be in (0, {k}) for {k} models, got {perplexity}")
        coords = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(Q)
    if coords.shape[1] < 2:
        coords = np.pad(coords, ((0, 0), (0, 2 - coords.shape[1])))
    return coords


def _ridge_loo(Q: np.ndarray, y: np.ndarray, alpha: float) -> np.ndarray:
    """Leave-one-out ridge predictions of y from Q for the models with a score; the others are
    predicted from all scored models."""
    from sklearn.linear_model import Ridge

    known = np.flatnonzero(~np.isnan(y))
    if len(known) < 3:
        raise ValueError(f"ridge regression of scores needs at least 3 scored models, got {len(known)}")
    pred = np.full(len(y), np.nan)
    for i in known:
        rest = known[known != i]
        pred[i] = Ridge(alpha=alpha).fit(Q[rest], y[rest]).predict(Q[i:i + 1])[0]
    unknown = np.flatnonzero(np.isnan(y))
    if len(unknown):
        pred[unknown] = Ridge(alpha=alpha).fit(Q[known], y[known]).predict(Q[unknown])
    return pred


@dataclasses.dataclass(repr=False)
class ModelMap(Result):
    """``q`` [K, N] double-centred (clipped) log-likelihood vectors; ``kl`` [K, K] estimated KL
    divergences (nats per text); ``coords`` [K, 2] the 2-D map by ``method``. ``clip_value`` is the
    percentile value used (None without clipping). With scores: ``scores`` [K] (NaN = not given),
    ``predicted`` [K] leave-one-out ridge predictions, ``residual`` = scores − predicted, and
    ``flagged`` [K] (residual above ``flag_sigma`` standard deviations of the residuals)."""

    levels = (5,)
    names: list
    families: list
    q: torch.Tensor
    kl: torch.Tensor
    coords: torch.Tensor
    method: str
    clip: float | None
    clip_value: float | None
    scores: torch.Tensor | None = None
    predicted: torch.Tensor | None = None
    residual: torch.Tensor | None = None
    flagged: torch.Tensor | None = None

    @property
    def n_texts(self) -> int:
        return self.q.shape[1]

    def kl_between(self, a: str | int, b: str | int) -> float:
        """Estimated KL between two models, by label or index."""
        i, j = (self.names.index(x) if isinstance(x, str) else x for x in (a, b))
        return float(self.kl[i, j])

    def nearest(self, model: str | int, k: int = 3) -> list[tuple[str, float]]:
        """The ``k`` models closest to ``model`` by estimated KL, with their KL."""
        i = self.names.index(model) if isinstance(model, str) else model
        order = [j for j in torch.argsort(self.kl[i]).tolist() if j != i][:k]
        return [(self.names[j], float(self.kl[i, j])) for j in order]

    def show(self, texts=None, **kwargs):
        """The interactive :class:`~interp_widgets.widgets.model_map_view.ModelMapView`; ``texts``
        (the N texts of L) label the texts on which two selected models differ most."""
        from ..widgets.model_map_view import ModelMapView

        return ModelMapView(self, texts=texts, **kwargs)

    def figure(self, **kw):
        """The paper's map: models as points coloured by family, labelled; with scores, a second
        panel of predicted vs actual scores with flagged models ringed."""
        import matplotlib.pyplot as plt

        from ..figures import paper_style

        with_scores = self.scores is not None
        with paper_style():
            fig, axes = plt.subplots(1, 1 + with_scores, figsize=(kw.get("width", 4.2 * (1 + with_scores)), 3.6),
                                     squeeze=False)
            ax = axes[0, 0]
            xy = self.coords.numpy()
            cmap = plt.get_cmap("tab10")
            for f, fam in enumerate(dict.fromkeys(self.families)):
                idx = [i for i, x in enumerate(self.families) if x == fam]
                ax.scatter(xy[idx, 0], xy[idx, 1], s=22, color=cmap(f % 10), label=fam, zorder=2)
            for i, name in enumerate(self.names):
                ax.annotate(name, xy[i], xytext=(3, 3), textcoords="offset points", fontsize=6)
            ax.set_title(f"model map ({self.method.upper()}, N={self.n_texts} texts)")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.legend(frameon=False, loc="best")
            if with_scores:
                ax = axes[0, 1]
                s, p = self.scores.numpy(), self.predicted.numpy()
                ok = ~np.isnan(s)
                ax.scatter(p[ok], s[ok], s=18, zorder=2)
                flag = self.flagged.numpy() & ok
                ax.scatter(p[flag], s[flag], s=80, facecolors="none", edgecolors="C3", label="flagged")
                lo, hi = np.nanmin(np.r_[s, p]), np.nanmax(np.r_[s, p])
                ax.plot([lo, hi], [lo, hi], color="0.5", lw=0.8, ls="--")
                ax.set_xlabel("predicted score (ridge, leave-one-out)")
                ax.set_ylabel("score")
                if flag.any():
                    ax.legend(frameon=False)
            fig.tight_layout()
        return fig


def model_map(L, clip: float | None = 2.0, method: str = "tsne", scores=None, *,
              names: Sequence[str] | None = None, families: Sequence[str] | Mapping | None = None,
              alpha: float = 1.0, flag_sigma: float = 2.0, seed: int = 0,
              perplexity: float | None = None) -> ModelMap:
    """The model map of a log-likelihood matrix ``L`` [K, N] (array or :class:`LogLikelihoods`).

    ``clip``: percentile (default 2, as in the paper) below which entries are raised to it; None
    for no clipping. ``method``: ``"tsne"``, ``"mds"`` or ``"pca"``. ``scores``: benchmark scores,
    an array [K] or ``{name: score}`` (missing models get NaN) — ridge regression (``alpha``) on q
    with leave-one-out predictions; ``flag_sigma`` sets the flagging threshold. ``names`` default
    to the matrix's own labels; ``families`` (a list, or ``{name: family}``) colour the map.
    """
    if isinstance(L, LogLikelihoods):
        names = list(L.names) if names is None else list(names)
    values = np.asarray(L, dtype=np.float64)
    if values.ndim != 2 or min(values.shape) < 2:
        raise ValueError(f"L must be a [models, texts] matrix with at least 2 of each, got shape {values.shape}")
    if not np.isfinite(values).all():
        raise ValueError("L contains NaN or infinite values; check the models' scores (a text scorer "
                         "giving zero probability yields -inf)")
    k = values.shape[0]
    names = [f"model {i}" for i in range(k)] if names is None else list(names)
    if len(names) != k:
        raise ValueError(f"{len(names)} names for {k} models")
    if isinstance(families, Mapping):
        families = [families.get(n, "other") for n in names]
    families = ["models"] * k if families is None else list(families)
    if len(families) != k:
        raise ValueError(f"{len(families)} families for {k} models")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    clip_value = None
    if clip is not None:
        if not 0 <= clip < 100:
            raise ValueError(f"clip is a percentile in [0, 100), got {clip}")
        clip_value = float(np.percentile(values, clip))
        values = np.maximum(values, clip_value)
    Q = double_centre(values)
    out = ModelMap(names, families, torch.from_numpy(Q), torch.from_numpy(kl_estimates(Q)),
                   torch.from_numpy(np.asarray(_embed(Q, method, seed, perplexity), dtype=np.float64)),
                   method, clip, clip_value)
    if scores is not None:
        if isinstance(scores, Mapping):
            unknown = set(scores) - set(names)
            if unknown:
                raise ValueError(f"scores for unknown models {sorted(unknown)}; models are {names}")
            y = np.array([scores.get(n, np.nan) for n in names], dtype=np.float64)
        else:
            y = np.asarray(scores, dtype=np.float64)
            if y.shape != (k,):
                raise ValueError(f"scores must have one value per model ({k}), got shape {y.shape}")
        pred = _ridge_loo(Q, y, alpha)
        resid = y - pred
        spread = np.nanstd(resid)
        out.scores, out.predicted, out.residual = (torch.from_numpy(a) for a in (y, pred, resid))
        out.flagged = torch.from_numpy(np.nan_to_num(resid, nan=0.0) > flag_sigma * spread) if spread > 0 \
            else torch.zeros(k, dtype=torch.bool)
    return out
