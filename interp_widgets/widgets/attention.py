"""AttentionView: bertviz-style head, model, heatmap, token and query/key views of one text.

Only small data travels eagerly (tokens, word grouping, per-head thumbnails [layer, head, S, S]
as uint8, per-head entropy). Everything else is fetched lazily: the browser sends
``{"type": "slice", "key": KEY}`` and the kernel answers ``{"type": "slice", "key": KEY,
"arrays": {name: {dtype, shape, scale?, offset?}}, "names": [...]}`` with one binary buffer per
array in ``names`` order, or ``{"type": "slice", "key": KEY, "error": message}``. Slice keys
are described in :mod:`.attention_slices`. A static page (:func:`save_html`) embeds the slices
the views need (all layers' edges up to :data:`COMPLETE_TOKENS` tokens; else the current layer).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import traitlets
from traitlets import TraitError

from ..analysis.attention.patterns import THUMBNAIL_SIZE, AttentionPatterns, pooled_max
from . import attention_slices as slices
from ._base import ArrayTrait, InterpWidget, check_result

VIEWS = ("head", "model", "heatmap", "token", "qk")
PAIR_FILTERS = ("all", "A>A", "B>B", "A>B", "B>A")
COMPLETE_TOKENS = 512
STATIC_EDGES_PER_ROW = 16


def thumbnails(result: AttentionPatterns, size: int = THUMBNAIL_SIZE) -> np.ndarray:
    """Block-max pooled patterns, [layer, head, s, s] with s = min(T, size) (one head at a time;
    lazy results recorded them during their forward pass)."""
    if result.thumbnails is not None and size == THUMBNAIL_SIZE:
        return result.thumbnails.float().numpy()
    return np.stack([np.stack([pooled_max(result.pattern(l, h)[0].numpy(), size)
                               for h in range(result.n_heads)]) for l in range(result.n_layers)])


class AttentionView(InterpWidget):
    """Interactive attention views of an :class:`AttentionPatterns` result.

    State synced with the browser (validated; a refused browser value is reported in
    ``error`` and shown in the view): ``view`` (one of :data:`VIEWS`), ``layer``, ``head``
    (the head of the heatmap and query/key views), ``heads`` (heads drawn in the head view),
    ``token`` (selected token, -1 none), ``threshold`` (keep the edges making up this share of
    each row's attention, exBERT-style), ``word_level``, ``hide_special``, ``pair_filter``
    (``all``, ``A>A``, ``B>B``, ``A>B``, ``B>A``), ``order`` (``layer`` or ``entropy``).
    """

    _bundle = "attention"

    tokens = traitlets.List(traitlets.Unicode()).tag(sync=True)
    words = traitlets.List(traitlets.Unicode()).tag(sync=True)
    token_to_word = traitlets.List(traitlets.Int()).tag(sync=True)
    is_special = traitlets.List(traitlets.Bool()).tag(sync=True)
    segments = traitlets.List(traitlets.Int()).tag(sync=True)
    n_layers = traitlets.Int(0).tag(sync=True)
    n_heads = traitlets.Int(0).tag(sync=True)
    causal = traitlets.Bool(False).tag(sync=True)
    has_qk = traitlets.Bool(False).tag(sync=True)
    model_name = traitlets.Unicode("").tag(sync=True)
    thumbnails = ArrayTrait(ndim=4, wire_dtype="uint8")
    entropy = ArrayTrait(ndim=2)

    view = traitlets.Enum(VIEWS, default_value="head").tag(sync=True)
    layer = traitlets.Int(0).tag(sync=True)
    head = traitlets.Int(0).tag(sync=True)
    heads = traitlets.List(traitlets.Int()).tag(sync=True)
    token = traitlets.Int(-1).tag(sync=True)
    threshold = traitlets.Float(0.9).tag(sync=True)
    word_level = traitlets.Bool(False).tag(sync=True)
    hide_special = traitlets.Bool(False).tag(sync=True)
    pair_filter = traitlets.Enum(PAIR_FILTERS, default_value="all").tag(sync=True)
    order = traitlets.Enum(("layer", "entropy"), default_value="layer").tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)

    static_slices = traitlets.Dict()  # filled only for a static page; never synced to a kernel view

    def __init__(self, result: AttentionPatterns, **kwargs: Any) -> None:
        check_result("AttentionView", result, AttentionPatterns, "iw.attention.patterns")
        self.result = result
        self.sent_bytes = 0
        info = dict(
            tokens=list(result.tokens), words=list(result.words), token_to_word=list(result.token_to_word),
            is_special=list(result.is_special), segments=list(result.segments), n_layers=result.n_layers,
            n_heads=result.n_heads, causal=result.causal, has_qk=result.queries is not None,
            model_name=result.model_name, thumbnails=thumbnails(result), entropy=result.entropy().numpy(),
        )
        kwargs.setdefault("heads", list(range(result.n_heads)))
        super().__init__(**info, **kwargs)
        self.on_msg(self._on_message)

    # -- validation --------------------------------------------------------------------------
    @traitlets.validate("layer")
    def _check_layer(self, proposal):
        return self._in_range("layer", proposal["value"], 0, max(self.n_layers, 1), " (a layer index)")

    @traitlets.validate("head")
    def _check_head(self, proposal):
        return self._in_range("head", proposal["value"], 0, max(self.n_heads, 1), " (a head index)")

    @traitlets.validate("heads")
    def _check_heads(self, proposal):
        heads = list(proposal["value"])
        for h in heads:
            self._in_range("heads", h, 0, max(self.n_heads, 1), " for each shown head")
        if len(set(heads)) != len(heads):
            raise TraitError(f"AttentionView.heads must not repeat a head, got {heads}")
        return sorted(heads)

    @traitlets.validate("token")
    def _check_token(self, proposal):
        return self._in_range("token", proposal["value"], -1, len(self.tokens), " (-1 = none)")

    @traitlets.validate("threshold")
    def _check_threshold(self, proposal):
        value = proposal["value"]
        if not 0.0 < value <= 1.0:
            raise TraitError(f"AttentionView.threshold is a share of attention in (0, 1], got {value!r}")
        return value

    def set_state(self, sync_data: dict[str, Any]) -> None:
        """Applies a browser update; a refused value is sent back corrected and explained in ``error``."""
        try:
            super().set_state(sync_data)
        except TraitError as exc:
            self.error = str(exc)
        else:
            if self.error and "error" not in sync_data:
                self.error = ""

    # -- lazy slices -------------------------------------------------------------------------
    def slice(self, key: str) -> dict[str, np.ndarray]:
        """The arrays of slice ``key`` (see :mod:`.attention_slices`)."""
        return slices.compute(self.result, key)

    def _on_message(self, widget: Any, content: Any, buffers: list) -> None:
        if not isinstance(content, dict) or content.get("type") != "slice":
            return
        key = content.get("key")
        try:
            meta, data = slices.encode(self.slice(key))
        except slices.SliceError as exc:
            self.send({"type": "slice", "key": key, "error": str(exc)})
            return
        self.sent_bytes += sum(len(b) for b in data)
        self.send({"type": "slice", "key": key, **meta}, data)

    def static_keys(self) -> list[str]:
        """Slices a static page embeds: every layer's edges up to :data:`COMPLETE_TOKENS` tokens
        (else the current layer's), the current head's matrix, query/keys and token rows."""
        T = len(self.tokens)
        layers = range(self.n_layers) if T <= COMPLETE_TOKENS else [self.layer]
        keys = [f"edges:{l}" for l in layers]
        keys.append(f"matrix:{self.layer}:{self.head}:0:{T}:0:{T}")
        if self.has_qk:
            keys += [f"qk:{self.layer}:{h}" for h in range(self.n_heads)]
        if self.token >= 0:
            keys.append(f"token:{self.layer}:{self.token}")
        return keys

    def _static_payload(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in self.static_keys():
            per_row = slices.EDGES_PER_ROW if len(self.tokens) <= 256 else STATIC_EDGES_PER_ROW
            arrays = slices.compute(self.result, key, per_row=per_row)
            out[key] = slices.embedded(arrays)
        complete = len(self.tokens) <= COMPLETE_TOKENS
        return {"complete": complete, "slices": out}

    def view_state_keys(self) -> list[str]:
        """Synced keys, plus the embedded slices when a static page is being written."""
        self.static_slices = self._static_payload()
        return super().view_state_keys() + ["static_slices"]

    def _repr_fields(self) -> list[tuple[str, str]]:
        return [("model", repr(self.model_name)), ("tokens", str(len(self.tokens))),
                ("layers", str(self.n_layers)), ("heads", str(self.n_heads)), ("view", repr(self.view)),
                ("layer", str(self.layer)), ("head", str(self.head)), ("token", str(self.token))]
