"""interp_widgets: interactive views and figures of transformer internals, at every level."""

from . import attribution, circuits, hidden, outputs, positional, widgets
from .analysis import attention
from .catalog import catalog
from .model import Model, Trace, load, shipped_models, wrap
from .widgets.relevance_view import link_tokens

__version__ = "0.1.0"

__all__ = ["Model", "Trace", "attention", "attribution", "catalog", "circuits", "hidden", "link_tokens", "load",
           "outputs", "positional", "shipped_models", "widgets", "wrap"]
