"""Views: anywidget front-ends for results, and their static HTML export."""

from ._base import (
    ArrayTrait,
    BundleMissingError,
    InterpWidget,
    array_to_payload,
    payload_to_array,
)
from .html import save_html, to_html
from .token_strip import TokenStrip

__all__ = [
    "ArrayTrait",
    "BundleMissingError",
    "InterpWidget",
    "TokenStrip",
    "array_to_payload",
    "payload_to_array",
    "save_html",
    "to_html",
]
