"""Attribution: which input tokens (and which layers) a prediction rests on."""

from .gradients import gradient_x_input, integrated_gradients, quadrature
from .layer_ig import layer_integrated_gradients
from .lrp import attnlrp, cp_lrp, relevance
from .results import LayerAttribution, TokenAttribution
from .targets import Target

__all__ = ["LayerAttribution", "Target", "TokenAttribution", "attnlrp", "cp_lrp", "gradient_x_input",
           "integrated_gradients", "layer_integrated_gradients", "quadrature", "relevance"]
