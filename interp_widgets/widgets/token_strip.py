"""TokenStrip: the tokens of a text, each coloured by one value (a score per token)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import traitlets
from traitlets import TraitError

from ._base import ArrayTrait, InterpWidget

_PREVIEW_TOKENS = 8


def _fmt(x: float) -> str:
    return f"{x:.4g}"


class TokenStrip(InterpWidget):
    """Tokens coloured by ``values`` (shape ``[T]``, one per token).

    ``scale`` is ``"sequential"`` (min..max, e.g. probabilities) or
    ``"diverging"`` (symmetric around zero, e.g. signed relevance). Clicking a
    token sets ``selected`` (its index; -1 for none), which Python can observe
    or link to other views. NaN values are drawn hatched.

    To change tokens and values together, use :meth:`update`.
    """

    _bundle = "token_strip"

    tokens = traitlets.List(traitlets.Unicode()).tag(sync=True)
    values = ArrayTrait(ndim=1)
    scale = traitlets.Enum(("sequential", "diverging"), default_value="sequential").tag(sync=True)
    label = traitlets.Unicode("value").tag(sync=True)
    selected = traitlets.Int(-1).tag(sync=True)

    def __init__(
        self,
        tokens: Sequence[str],
        values: Any,
        scale: str = "sequential",
        selected: int = -1,
        label: str = "value",
        **kwargs: Any,
    ) -> None:
        super().__init__(
            tokens=list(tokens), values=values, scale=scale, selected=selected, label=label, **kwargs
        )

    def update(self, tokens: Sequence[str], values: Any) -> None:
        """Replaces tokens and values at once (one message to the browser)."""
        with self.hold_sync(), self.hold_trait_notifications():
            self.tokens = list(tokens)
            self.values = values
            if self.selected >= len(self.tokens):
                self.selected = -1

    def _check_lengths(self, n_tokens: int, n_values: int) -> None:
        if n_tokens != n_values:
            raise TraitError(
                f"TokenStrip needs one value per token: got {n_tokens} tokens and {n_values} values. "
                "Change both at once with `strip.update(tokens, values)`."
            )

    @traitlets.validate("tokens")
    def _check_tokens(self, proposal: dict[str, Any]) -> list[str]:
        self._check_lengths(len(proposal["value"]), len(self.values))
        return proposal["value"]

    @traitlets.validate("values")
    def _check_values(self, proposal: dict[str, Any]) -> np.ndarray:
        self._check_lengths(len(self.tokens), len(proposal["value"]))
        return proposal["value"]

    @traitlets.validate("selected")
    def _check_selected(self, proposal: dict[str, Any]) -> int:
        return self._in_range("selected", proposal["value"], -1, len(self.tokens), " (a token index, -1 = no token)")

    def _repr_fields(self) -> list[tuple[str, str]]:
        values = np.asarray(self.values)
        finite = values[np.isfinite(values)]
        extent = f"[{_fmt(finite.min())}, {_fmt(finite.max())}]" if finite.size else "[]"
        preview = repr(self.tokens[:_PREVIEW_TOKENS])
        if len(self.tokens) > _PREVIEW_TOKENS:
            preview = preview[:-1] + ", ...]"
        return [
            ("n_tokens", str(len(self.tokens))),
            ("scale", repr(self.scale)),
            ("values", extent),
            ("selected", str(self.selected)),
            ("tokens", preview),
        ]
