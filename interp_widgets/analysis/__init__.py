"""Pure computation: model + trace + tensors in, a :class:`Result` out (no widgets here)."""

from .result import Result

__all__ = ["Result"]
