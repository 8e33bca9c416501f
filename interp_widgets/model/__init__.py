"""Model access: one vocabulary of hook names over native Hugging Face models."""

from .adapters import ModelConfig, supported_model_types
from .loading import load, shipped_models, wrap
from .model import Model
from .trace import Trace

__all__ = ["Model", "ModelConfig", "Trace", "load", "shipped_models", "supported_model_types", "wrap"]
