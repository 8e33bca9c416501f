"""Base classes of the views (``InterpWidget``, ``ReportingView``), the traitlet that sends numpy arrays
as binary, and small helpers the views share.

Arrays travel to the browser as ``{"dtype", "shape", "data", "scale"?,
"offset"?}`` with ``data`` a little-endian binary buffer, never as JSON number
lists. Wire dtypes: ``float32`` (default), ``float16`` (half the bytes, about
three significant digits, |x| <= 65504) and ``uint8`` (a quarter of the bytes;
value = offset + scale * q with q in 0..255, i.e. 256 evenly spaced levels
between the minimum and the maximum).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

import anywidget
import numpy as np
import traitlets
from traitlets import TraitError

WireDType = Literal["float32", "float16", "uint8"]
WIRE_DTYPES: dict[str, str] = {"float32": "<f4", "float16": "<f2", "uint8": "u1"}
FLOAT16_MAX = 65504.0

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


class BundleMissingError(RuntimeError):
    """The built front-end bundle for a view is not in ``interp_widgets/static``."""


def bundle_path(name: str) -> Path:
    """Path of the built ES module of view ``name`` (``static/<name>.js``)."""
    return STATIC_DIR / f"{name}.js"


def read_bundle(name: str) -> str:
    """Source text of the built ES module ``name``; says how to build it if missing."""
    path = bundle_path(name)
    if not path.is_file():
        raise BundleMissingError(
            f"The front-end bundle {path} is missing, so the '{name}' view cannot be shown. "
            "Build it from the repository root with `npm ci && npm run build` "
            "(Node.js 20.19+), or reinstall with `pip install -e .`, whose build hook runs npm."
        )
    return path.read_text(encoding="utf-8")


def check_result(view: str, result: Any, cls: type, source: str) -> None:
    """Raise a TypeError naming the function that makes a ``cls`` unless ``result`` is one."""
    if not isinstance(result, cls):
        article = "an" if cls.__name__[0] in "AEIOU" else "a"
        raise TypeError(f"{view} shows {article} {cls.__name__} result (from {source}), got {type(result).__name__}")


def array_to_payload(array: Any, dtype: WireDType = "float32") -> dict[str, Any]:
    """Encodes a numeric array as the binary wire payload (see module docs)."""
    if dtype not in WIRE_DTYPES:
        raise ValueError(f"wire dtype must be one of {sorted(WIRE_DTYPES)}, got {dtype!r}")
    values = np.asarray(array, dtype=np.float64)
    payload: dict[str, Any] = {"dtype": dtype, "shape": [int(d) for d in values.shape]}
    if dtype == "uint8":
        if not np.all(np.isfinite(values)):
            raise ValueError("uint8 quantisation needs finite values; use float32 for NaN or infinity")
        lo = float(values.min()) if values.size else 0.0
        hi = float(values.max()) if values.size else 0.0
        scale = (hi - lo) / 255.0 if hi > lo else 1.0
        q = np.clip(np.rint((values - lo) / scale), 0, 255).astype(np.uint8)
        payload.update(data=q.tobytes(), scale=scale, offset=lo)
        return payload
    if dtype == "float16" and np.any(np.abs(values[np.isfinite(values)]) > FLOAT16_MAX):
        raise ValueError(f"values exceed the float16 range (|x| <= {FLOAT16_MAX:g}); use float32")
    payload["data"] = values.astype(WIRE_DTYPES[dtype]).tobytes()
    return payload


def payload_to_array(payload: Mapping[str, Any]) -> np.ndarray:
    """Decodes a wire payload back into a float32 array of its shape."""
    try:
        dtype, shape, data = payload["dtype"], payload["shape"], payload["data"]
    except (KeyError, TypeError) as exc:
        raise ValueError(f"an array payload needs 'dtype', 'shape' and 'data' keys, got {payload!r:.200}") from exc
    if dtype not in WIRE_DTYPES:
        raise ValueError(f"payload dtype must be one of {sorted(WIRE_DTYPES)}, got {dtype!r}")
    if not all(isinstance(d, int) and d >= 0 for d in shape):
        raise ValueError(f"payload shape must hold non-negative integers, got {shape!r}")
    raw = np.frombuffer(bytes(data), dtype=WIRE_DTYPES[dtype])
    count = int(np.prod(shape, dtype=np.int64))
    if raw.size != count:
        raise ValueError(f"payload of shape {list(shape)} and dtype {dtype} needs {count} values, got {raw.size}")
    values = raw.astype(np.float32)
    if dtype == "uint8":
        values = np.float32(payload.get("offset", 0.0)) + np.float32(payload.get("scale", 1.0)) * values
    return values.reshape(shape)


class ArrayTrait(traitlets.TraitType):
    """A numeric array trait, synced to the browser as a binary payload.

    Accepts numpy arrays, nested sequences and torch tensors; stores a
    read-only float32 copy. ``ndim`` / ``shape`` (``None`` = any size on that
    axis) constrain the shape; ``wire_dtype`` picks the encoding on the wire.
    """

    info_text = "a numeric array"

    def __init__(
        self,
        *,
        ndim: int | None = None,
        shape: Sequence[int | None] | None = None,
        wire_dtype: WireDType = "float32",
        allow_none: bool = False,
        **kwargs: Any,
    ) -> None:
        if wire_dtype not in WIRE_DTYPES:
            raise ValueError(f"wire_dtype must be one of {sorted(WIRE_DTYPES)}, got {wire_dtype!r}")
        if shape is not None:
            ndim = len(shape)
        self.ndim = ndim
        self.shape = None if shape is None else tuple(shape)
        self.wire_dtype = wire_dtype
        default_shape = (0,) * (ndim or 1) if shape is None else tuple(d or 0 for d in shape)
        default = np.zeros(default_shape, dtype=np.float32)
        default.setflags(write=False)
        super().__init__(default_value=default, allow_none=allow_none, **kwargs)
        self.tag(sync=True, to_json=self._to_json, from_json=self._from_json)

    def _owner(self, obj: Any) -> str:
        return f"The '{self.name}' trait of {type(obj).__name__}"

    def validate(self, obj: Any, value: Any) -> np.ndarray:
        if hasattr(value, "detach") and hasattr(value, "cpu"):
            value = value.detach().cpu().float().numpy()
        try:
            raw = np.asarray(value)
            if raw.dtype.kind not in "biuf":
                raise TypeError(f"dtype {raw.dtype}")
            array = np.array(raw, dtype=np.float32, copy=True)
        except (TypeError, ValueError) as exc:
            raise TraitError(f"{self._owner(obj)} must be a real numeric array, got {type(value).__name__} ({exc})") from None
        if self.ndim is not None and array.ndim != self.ndim:
            raise TraitError(f"{self._owner(obj)} must be a {self.ndim}-D array, got shape {array.shape}")
        if self.shape is not None and any(want is not None and want != got for want, got in zip(self.shape, array.shape)):
            want = tuple("any" if d is None else d for d in self.shape)
            raise TraitError(f"{self._owner(obj)} must have shape {want}, got {array.shape}")
        if self.wire_dtype == "uint8" and not np.all(np.isfinite(array)):
            raise TraitError(f"{self._owner(obj)} is sent as uint8 and must be finite (no NaN or infinity)")
        array.setflags(write=False)
        return array

    def _to_json(self, value: np.ndarray | None, widget: Any) -> dict[str, Any] | None:
        return None if value is None else array_to_payload(value, self.wire_dtype)

    def _from_json(self, payload: Mapping[str, Any] | None, widget: Any) -> np.ndarray | None:
        return None if payload is None else payload_to_array(payload)


_PLUMBING = frozenset(anywidget.AnyWidget.class_trait_names()) | {"_esm", "_css", "_anywidget_id"}


class InterpWidget(anywidget.AnyWidget):
    """Base of the views: loads its ES module from ``static/<_bundle>.js``.

    Subclasses set ``_bundle`` and override ``_repr_fields`` for a
    deterministic text repr.
    """

    _bundle: ClassVar[str] = ""
    _esm = traitlets.Unicode().tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        if not self._bundle:
            raise TypeError(f"{type(self).__name__} must name its front-end bundle in `_bundle`")
        super().__init__(_esm=read_bundle(self._bundle), **kwargs)

    def set_state(self, sync_data: dict[str, Any]) -> None:
        """Applies an update from the browser; a refused value is sent back corrected."""
        try:
            super().set_state(sync_data)
        except TraitError:
            self.send_state([key for key in sync_data if key in self.keys])
            raise

    def _in_range(self, name: str, value: int, low: int, stop: int, hint: str = "") -> int:
        """``value`` if it is an int in ``[low, stop)``, else a TraitError naming the trait and the range."""
        if isinstance(value, bool) or not low <= value < stop:
            raise TraitError(f"{type(self).__name__}.{name} must be in [{low}, {stop}){hint}, got {value!r}")
        return value

    def view_state_keys(self) -> list[str]:
        """Names of the synced traits the view reads (no ipywidgets plumbing)."""
        return [key for key in self.keys if key not in _PLUMBING]

    def _repr_fields(self) -> list[tuple[str, str]]:
        return [(key, repr(getattr(self, key))) for key in self.view_state_keys()]

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={text}" for name, text in self._repr_fields())
        return f"{type(self).__name__}({fields})"


class ReportingView(InterpWidget):
    """A view whose refused browser updates are explained in its ``error`` trait (and sent back
    corrected); a later accepted update clears it. Python assignments still raise."""

    error = traitlets.Unicode("").tag(sync=True)

    def set_state(self, sync_data: dict[str, Any]) -> None:
        if self.error and "error" not in sync_data:
            self.error = ""
        try:
            super().set_state(sync_data)
        except TraitError as exc:
            self.error = str(exc)


def vocabulary_index(labels: list) -> tuple[list[str], np.ndarray]:
    """Nested lists of token strings -> (unique strings in first-seen order, index array of the
    same nesting shape into them), so the strings travel once and the grid as binary."""
    vocab: dict[str, int] = {}
    index = np.array(labels, dtype=object)
    flat = np.array([vocab.setdefault(t, len(vocab)) for t in index.reshape(-1)], dtype=np.float32)
    return list(vocab), flat.reshape(index.shape)
