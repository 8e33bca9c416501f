"""Views: anywidget front-ends for results, and their static HTML export."""

from ._base import (
    ArrayTrait,
    BundleMissingError,
    InterpWidget,
    array_to_payload,
    payload_to_array,
)
from .battery_view import BatteryView
from .brain_view import BrainAlignmentView, BrainComparisonView
from .circuit_graph import CircuitGraphView
from .compass_view import CompassView
from .flow_view import FlowView
from .generation_view import GenerationView
from .head_stats_view import HeadStatsView
from .html import save_html, to_html
from .logit_lens_view import LogitLensView
from .massive_view import MassiveView
from .model_map_view import ModelMapView
from .neighbor_view import NeighborView
from .neuron_factor_view import NeuronFactorView
from .norm_view import NormView
from .opinion_view import OpinionView, RepresentativenessView
from .patching_view import PatchingView
from .positional_explorer import PositionalExplorer
from .relevance_view import RelevanceView, TokenLink, link_tokens
from .token_strip import TokenStrip

__all__ = [
    "ArrayTrait",
    "BatteryView",
    "BrainAlignmentView",
    "BrainComparisonView",
    "BundleMissingError",
    "CircuitGraphView",
    "CompassView",
    "FlowView",
    "GenerationView",
    "HeadStatsView",
    "InterpWidget",
    "LogitLensView",
    "MassiveView",
    "ModelMapView",
    "NeighborView",
    "NeuronFactorView",
    "NormView",
    "OpinionView",
    "PatchingView",
    "PositionalExplorer",
    "RelevanceView",
    "RepresentativenessView",
    "TokenLink",
    "TokenStrip",
    "array_to_payload",
    "link_tokens",
    "payload_to_array",
    "save_html",
    "to_html",
]
