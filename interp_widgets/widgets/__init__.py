"""Views: anywidget front-ends for results, and their static HTML export."""

from ._base import (
    ArrayTrait,
    BundleMissingError,
    InterpWidget,
    array_to_payload,
    payload_to_array,
)
from .flow_view import FlowView
from .head_stats_view import HeadStatsView
from .html import save_html, to_html
from .massive_view import MassiveView
from .norm_view import NormView
from .positional_explorer import PositionalExplorer
from .token_strip import TokenStrip

__all__ = [
    "ArrayTrait",
    "BundleMissingError",
    "FlowView",
    "HeadStatsView",
    "InterpWidget",
    "MassiveView",
    "NormView",
    "PositionalExplorer",
    "TokenStrip",
    "array_to_payload",
    "payload_to_array",
    "save_html",
    "to_html",
]
