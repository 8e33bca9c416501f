"""Circuit tracing: transcoders, attribution graphs, interventions (Ameisen et al. 2025)."""

from .evaluation import TranscoderEvaluation, evaluate_transcoder
from .features import FeatureDescriptions, describe
from .graph import Graph, attribution_graph
from .intervene import generate, intervene
from .io import load_transcoder, save_transcoder
from .training import TrainingReport, train_transcoder
from .transcoder import Transcoder, TranscoderConfig

__all__ = ["FeatureDescriptions", "Graph", "TrainingReport", "Transcoder", "TranscoderConfig", "TranscoderEvaluation",
           "attribution_graph", "describe", "evaluate_transcoder", "generate", "intervene", "load_transcoder",
           "save_transcoder", "train_transcoder"]
