"""Neuron factors (ecco, Alammar 2021): NMF of MLP neuron activations over the tokens of a text. Level 4.

The activations ``blocks.{l}.mlp.hook_post`` (after the non-linearity; for gated MLPs
act(gate) · up, the input of the down projection) of the chosen layers are stacked into
A [pos, neurons]. NMF needs A ≥ 0, but GELU and SiLU output small negative values and gated MLPs
large ones of either sign:

* ``negative="clip"`` (ecco's choice) keeps max(A, 0): negative activity is dropped;
* ``negative="split"`` keeps both signs as separate non-negative features
  [max(A, 0), max(−A, 0)], so a neuron appears twice (``+`` and ``-``).

scikit-learn's NMF (NNDSVDa initialisation from a seeded randomised SVD) factorises A ≈ W H with W [pos, factor]
(each factor's strength at each token: the sparklines) and H [factor, feature] (each factor's
neuron loadings); ``reconstruction_error`` is ‖A − W H‖_F.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np
import torch

from ..analysis.attention._common import check_layers
from ..analysis.result import Result
from ._common import encode_one

NEGATIVE = ("clip", "split")


@dataclasses.dataclass(repr=False)
class NeuronFactors(Result):
    """NMF factors of one text's MLP neuron activations.

    ``activations`` [pos, feature] the non-negative matrix that was factorised; ``factors``
    [factor, pos] (Wᵀ) and ``loadings`` [factor, feature] (H); ``feature_labels`` name each
    feature ``L{layer}.N{neuron}`` (with ``+``/``-`` under ``negative="split"``);
    ``top_positions``/``top_values`` [neuron, k] the positions where each neuron (signed, raw
    activation) fires most; ``reconstruction_error`` ‖A − W H‖_F and ``relative_error`` that
    divided by ‖A‖_F.
    """

    levels: ClassVar[tuple[int, ...]] = (4,)

    tokens: list[str]
    layers: list[int]
    n_factors: int
    negative: str
    activations: torch.Tensor
    factors: torch.Tensor
    loadings: torch.Tensor
    feature_labels: list[str] = dataclasses.field(repr=False)
    top_positions: torch.Tensor
    top_values: torch.Tensor
    reconstruction_error: float
    relative_error: float
    model_name: str

    def reconstruction(self) -> torch.Tensor:
        """W H [pos, feature]: the activations rebuilt from the factors."""
        return self.factors.T @ self.loadings

    def top_tokens(self, neuron: int | str) -> list[tuple[str, float]]:
        """(token, activation) pairs where one neuron fires most; ``neuron`` is a flat index over
        the chosen layers' neurons or a label ``"L{layer}.N{i}"``."""
        index = self._neuron_index(neuron)
        return [(self.tokens[p], v) for p, v in zip(self.top_positions[index].tolist(),
                                                    self.top_values[index].tolist())]

    def top_neurons(self, factor: int, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` features with the largest loadings on ``factor``: (label, loading)."""
        if not 0 <= factor < self.n_factors:
            raise IndexError(f"factor {factor} is out of range (0 to {self.n_factors - 1})")
        values, idx = self.loadings[factor].topk(min(k, self.loadings.shape[1]))
        return [(self.feature_labels[i], v) for i, v in zip(idx.tolist(), values.tolist())]

    def factor_tokens(self, factor: int, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` tokens where ``factor`` is strongest: (token, strength)."""
        values, idx = self.factors[factor].topk(min(k, self.factors.shape[1]))
        return [(self.tokens[i], v) for i, v in zip(idx.tolist(), values.tolist())]

    def _neuron_index(self, neuron) -> int:
        n = self.top_positions.shape[0]
        if isinstance(neuron, str):
            labels = [f"L{layer}.N{i}" for layer in self.layers for i in range(n // len(self.layers))]
            if neuron not in labels:
                raise KeyError(f"no neuron {neuron!r}; labels look like {labels[0]!r} (layers {self.layers})")
            return labels.index(neuron)
        if not 0 <= neuron < n:
            raise IndexError(f"neuron {neuron} is out of range (0 to {n - 1})")
        return neuron

    def show(self, **kwargs):
        """The interactive :class:`~interp_widgets.widgets.neuron_factor_view.NeuronFactorView`."""
        from ..widgets.neuron_factor_view import NeuronFactorView

        return NeuronFactorView(self, **kwargs)

    def figure(self, max_tokens: int = 60, **kw):
        """One sparkline per factor over the tokens (shared token axis), each labelled with the
        tokens where it peaks."""
        import matplotlib.pyplot as plt

        from ..figures import paper_style

        data = self.factors.float().numpy()[:, :max_tokens]
        n_factor, n_pos = data.shape
        with paper_style():
            fig, axes = plt.subplots(n_factor, 1, sharex=True, squeeze=False,
                                     figsize=(kw.get("width", 1.6 + 0.16 * n_pos),
                                              kw.get("height", 0.6 + 0.42 * n_factor)))
            colours = plt.get_cmap("tab10")
            for f in range(n_factor):
                ax = axes[f, 0]
                ax.fill_between(range(n_pos), data[f], color=colours(f % 10), alpha=0.35, lw=0)
                ax.plot(range(n_pos), data[f], color=colours(f % 10), lw=0.9)
                ax.set_ylim(0, max(float(data[f].max()), 1e-12) * 1.1)
                ax.set_yticks([])
                ax.set_ylabel(f"F{f}", rotation=0, ha="right", va="center")
                ax.spines["left"].set_visible(False)
                peaks = ", ".join(repr(t) for t, _ in self.factor_tokens(f, 3))
                ax.text(1.01, 0.5, peaks, transform=ax.transAxes, fontsize=6, va="center")
            axes[-1, 0].set_xticks(range(n_pos), self.tokens[:n_pos], rotation=90, fontsize=6)
            axes[0, 0].set_title(f"NMF of MLP activations ({self.model_name}, layers {self.layers})\n"
                                 f"{self.n_factors} factors, relative error {self.relative_error:.3f}")
            fig.tight_layout()
        return fig


def mlp_activations(model, text, layers=None) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """Raw ``mlp.hook_post`` activations of one text: ([pos, layer·d_mlp], token ids [pos], layers)."""
    layers = check_layers(model, layers)
    ids = encode_one(model, text)
    names = [f"blocks.{layer}.mlp.hook_post" for layer in layers]
    trace = model.run(ids, names=names)
    acts = torch.cat([trace[n][0].double().cpu() for n in names], dim=-1)
    return acts, ids, layers


def neuron_factors(model, text, n_factors: int = 10, layers=None, negative: str = "clip", top_k: int = 5,
                   max_iter: int = 1000) -> NeuronFactors:
    """Factorise the MLP neuron activations of ``text`` with NMF (level 4; ecco's neuron factors).

    ``layers``: int, list, or None for all; ``n_factors`` from 1 to the number of non-negative
    features (neurons, twice that with ``negative="split"``); it is capped at the token count
    (NMF cannot find more factors than tokens), and the result's ``n_factors`` says how many were
    fitted. See the module docstring for ``negative``.
    """
    from sklearn.decomposition import NMF

    if negative not in NEGATIVE:
        raise ValueError(f"negative must be one of {NEGATIVE}, got {negative!r}")
    acts, ids, layers = mlp_activations(model, text, layers)
    n_pos, n_neurons = acts.shape
    matrix = acts.clamp(min=0) if negative == "clip" else torch.cat([acts.clamp(min=0), (-acts).clamp(min=0)], -1)
    n_features = matrix.shape[1]
    if isinstance(n_factors, bool) or not isinstance(n_factors, int) or not 1 <= n_factors <= n_features:
        raise ValueError(f"n_factors must be an int from 1 to the number of features ({n_features}: "
                         f"{n_neurons} neurons over layers {layers}"
                         f"{', both signs' if negative == 'split' else ''}), got {n_factors!r}")
    if not isinstance(top_k, int) or top_k < 1:
        raise ValueError(f"top_k must be a positive int, got {top_k!r}")
    if not matrix.any():
        raise ValueError("every activation is ≤ 0 after handling negatives, so there is nothing to factorise; "
                         "try negative='split' or other layers")
    n_fit = min(n_factors, n_pos)
    a = matrix.numpy()
    nmf = NMF(n_components=n_fit, init="nndsvda", random_state=0, max_iter=max_iter, tol=1e-6)
    w = nmf.fit_transform(a)
    h = nmf.components_
    error = float(np.linalg.norm(a - w @ h))
    top_values, top_positions = acts.T.topk(min(top_k, n_pos), dim=-1)
    d_mlp = n_neurons // len(layers)
    labels = [f"L{layer}.N{i}" for layer in layers for i in range(d_mlp)]
    if negative == "split":
        labels = [f"{label}+" for label in labels] + [f"{label}-" for label in labels]
    return NeuronFactors(tokens=model.to_str_tokens(ids), layers=layers, n_factors=n_fit, negative=negative,
                         activations=matrix.float(), factors=torch.from_numpy(w.T).float(),
                         loadings=torch.from_numpy(h).float(), feature_labels=labels,
                         top_positions=top_positions, top_values=top_values.float(),
                         reconstruction_error=error, relative_error=error / float(np.linalg.norm(a)),
                         model_name=model.name)


__all__ = ["NEGATIVE", "NeuronFactors", "mlp_activations", "neuron_factors"]
