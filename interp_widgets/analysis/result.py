"""The base of every analysis result: arrays plus metadata, a figure, a view, save and load."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch


def _to_plain(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    if isinstance(value, dict):
        return {k: _to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], torch.Tensor):
        return [_to_plain(v) for v in value]
    return value


def _describe(value: Any) -> str:
    if isinstance(value, (torch.Tensor, np.ndarray)):
        return f"[{', '.join(map(str, value.shape))}]"
    if isinstance(value, (list, tuple)):
        return f"<{len(value)} items>"
    if isinstance(value, float):
        return f"{value:.4g}"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


@dataclasses.dataclass
class Result:
    """Subclasses are dataclasses; they implement :meth:`figure` and, when they have one,
    :meth:`show` (their widget). ``levels`` lists the granularity levels covered
    (1 embeddings, 2 blocks, 3 attention, 4 layer outputs, 5 final outputs)."""

    levels: ClassVar[tuple[int, ...]] = ()

    def figure(self, **kwargs):
        """A publication-quality matplotlib figure of this result."""
        raise NotImplementedError(f"{type(self).__name__} has no figure")

    def show(self):
        """The interactive view (an anywidget) of this result."""
        raise NotImplementedError(f"{type(self).__name__} has no interactive view yet; use .figure()")

    def to_dict(self) -> dict[str, Any]:
        """Fields as numpy arrays and plain Python values."""
        return {f.name: _to_plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def save(self, path: str | Path) -> Path:
        """Arrays to ``path`` (.npz) and everything else to JSON inside it; see :meth:`load`."""
        path = Path(path).with_suffix(".npz")
        data = self.to_dict()
        arrays = {k: v for k, v in data.items() if isinstance(v, np.ndarray)}
        meta = {k: v for k, v in data.items() if k not in arrays}
        np.savez_compressed(path, __meta__=np.array(json.dumps(meta, default=_json_default)),
                            __type__=np.array(type(self).__qualname__), **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path):
        """Rebuild a result written by :meth:`save` (arrays come back as tensors)."""
        with np.load(Path(path), allow_pickle=False) as data:
            if str(data["__type__"]) != cls.__qualname__:
                raise TypeError(f"{path} holds a {data['__type__']}, not a {cls.__qualname__}")
            fields = json.loads(str(data["__meta__"]))
            fields.update({k: torch.from_numpy(data[k]) for k in data.files if not k.startswith("__")})
        return cls(**fields)

    def _repr_mimebundle_(self, include=None, exclude=None):
        try:
            return self.show()._repr_mimebundle_(include=include, exclude=exclude)
        except NotImplementedError:
            from ..figures import figure_png_bundle

            return figure_png_bundle(self.figure(), repr(self))

    def __repr__(self) -> str:
        parts = ", ".join(f"{f.name}={_describe(getattr(self, f.name))}" for f in dataclasses.fields(self)
                          if f.repr)
        return f"{type(self).__name__}({parts})"


def _json_default(value: Any):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot save a {type(value).__name__} field; convert it to an array or a plain value")
