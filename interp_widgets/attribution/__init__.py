"""Attribution: which input tokens (and which layers) a prediction rests on."""

from .chefer import CheferRelevance, chefer
from .discretized_ig import dig, path_attribution, udig
from .faithfulness import Faithfulness, faithfulness
from .gradients import gradient_x_input, integrated_gradients, quadrature
from .layer_ig import layer_integrated_gradients
from .lrp import attnlrp, cp_lrp, relevance
from .neighbors import neighbor_graph
from .results import LayerAttribution, TokenAttribution
from .sequential_ig import sig
from .targets import Target
from .token_relevance import TokenRelevance, token_relevance

__all__ = ["CheferRelevance", "Faithfulness", "LayerAttribution", "Target", "TokenAttribution", "TokenRelevance",
           "attnlrp", "chefer", "cp_lrp", "dig", "faithfulness", "gradient_x_input", "integrated_gradients",
           "layer_integrated_gradients", "neighbor_graph", "path_attribution", "quadrature", "relevance", "sig",
           "token_relevance", "udig"]
