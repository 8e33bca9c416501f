"""interp_widgets: interactive views and figures of transformer internals, at every level."""

from . import attribution, hidden, outputs, positional, widgets
from .analysis import attention
from .catalog import catalog
from .model import Model, Trace, load, shipped_models, wrap

__version__ = "0.1.0"

__all__ = ["Model", "Trace", "attention", "attribution", "catalog", "hidden", "load", "outputs", "positional",
           "shipped_models", "widgets", "wrap"]
