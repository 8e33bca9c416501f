"""PositionalExplorer: pick a positional scheme (and optionally a second one to compare), move
the sliders, and the kernel recomputes the matrix and curves with :func:`positional.explore`."""

from __future__ import annotations

import dataclasses
from typing import Any

import traitlets

from ..positional.explorer import SCHEMES, ExplorerPanel, ExplorerParams, explore, panels_figure
from ._base import ArrayTrait, InterpWidget

PARAMS = tuple(field.name for field in dataclasses.fields(ExplorerParams))


class PositionalExplorer(InterpWidget):
    """Traits: ``scheme`` and ``compare`` ("" = none) from ``schemes``; the parameters of
    :class:`ExplorerParams` (``dim``, ``base``, ``factor``, ``length``, ``heads``, ``head``).
    Computed, per side ``a``/``b``: ``matrix_*`` [n, n'], ``x_*`` [K], ``curves_*`` [C, K] and
    ``info_*`` (titles, axis names, curve labels); ``error`` says why the last change was refused
    (the previous panels stay); ``revision`` counts recomputations."""

    _bundle = "positional_explorer"

    schemes = traitlets.Dict().tag(sync=True)
    scheme = traitlets.Unicode("rope").tag(sync=True)
    compare = traitlets.Unicode("").tag(sync=True)
    dim = traitlets.Int(64).tag(sync=True)
    base = traitlets.Float(10000.0).tag(sync=True)
    factor = traitlets.Float(4.0).tag(sync=True)
    length = traitlets.Int(256).tag(sync=True)
    heads = traitlets.Int(8).tag(sync=True)
    head = traitlets.Int(0).tag(sync=True)

    matrix_a = ArrayTrait(ndim=2, wire_dtype="float16")
    x_a = ArrayTrait(ndim=1)
    curves_a = ArrayTrait(ndim=2)
    info_a = traitlets.Dict().tag(sync=True)
    matrix_b = ArrayTrait(ndim=2, wire_dtype="float16", allow_none=True)
    x_b = ArrayTrait(ndim=1, allow_none=True)
    curves_b = ArrayTrait(ndim=2, allow_none=True)
    info_b = traitlets.Dict().tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    revision = traitlets.Int(0).tag(sync=True)

    def __init__(self, scheme: str = "rope", compare: str | None = None, **params: Any) -> None:
        unknown = set(params) - set(PARAMS)
        if unknown:
            raise TypeError(f"unknown explorer parameters {sorted(unknown)}; the parameters are {list(PARAMS)}")
        self.panels: list[ExplorerPanel] = self._compute(scheme, compare or "", ExplorerParams(**params))
        super().__init__(schemes=dict(SCHEMES), scheme=scheme, compare=compare or "", **params,
                         **self._payload(self.panels))
        self.observe(self._recompute, names=["scheme", "compare", *PARAMS])

    @staticmethod
    def _compute(scheme: str, compare: str, params: ExplorerParams) -> list[ExplorerPanel]:
        return [explore(name, params) for name in (scheme, compare) if name]

    @staticmethod
    def _payload(panels: list[ExplorerPanel]) -> dict[str, Any]:
        out: dict[str, Any] = {"matrix_b": None, "x_b": None, "curves_b": None, "info_b": {}}
        for side, p in zip("ab", panels):
            out.update({f"matrix_{side}": p.matrix.float().numpy(), f"x_{side}": p.x.float().numpy(),
                        f"curves_{side}": p.curves.float().numpy(),
                        f"info_{side}": {"scheme": p.scheme, "title": SCHEMES[p.scheme],
                                         "matrix_title": p.matrix_title, "row_label": p.row_label,
                                         "col_label": p.col_label, "curve_labels": list(p.curve_labels),
                                         "x_label": p.x_label, "y_label": p.y_label, "log_y": p.log_y}})
        return out

    def _recompute(self, change: dict[str, Any]) -> None:
        try:
            params = ExplorerParams(**{name: getattr(self, name) for name in PARAMS})
            panels = self._compute(self.scheme, self.compare, params)
        except (ValueError, TypeError) as exc:
            self.error = f"{change['name']} = {change['new']!r} was not applied: {exc}"
            return
        self.panels = panels
        with self.hold_sync():
            for key, value in self._payload(panels).items():
                setattr(self, key, value)
            self.error = ""
            self.revision += 1

    def figure(self, **kw):
        """The current panels as a matplotlib figure (one row per scheme)."""
        return panels_figure(self.panels, **kw)

    def _repr_fields(self) -> list[tuple[str, str]]:
        return [("scheme", repr(self.scheme)), ("compare", repr(self.compare)),
                *((name, repr(getattr(self, name))) for name in PARAMS)]
