"""Attribution: which input tokens (and which layers) a prediction rests on."""

from .chefer import CheferRelevance, chefer
from .compare import Comparison, compare
from .discretized_ig import dig, path_attribution, udig
from .faithfulness import Faithfulness, faithfulness
from .generation_steps import GenerationAttribution, generation_attribution
from .genotypes import Genotypes, synthetic_genotypes, train_genotype_classifier
from .gradients import gradient_x_input, integrated_gradients, quadrature
from .layer_ig import layer_integrated_gradients
from .lrp import attnlrp, cp_lrp, relevance
from .neighbors import neighbor_graph
from .results import LayerAttribution, TokenAttribution
from .sequential_ig import sig
from .targets import Target
from .token_relevance import TokenRelevance, token_relevance

__all__ = ["CheferRelevance", "Comparison", "Faithfulness", "GenerationAttribution", "Genotypes", "LayerAttribution", "Target",
           "TokenAttribution", "TokenRelevance", "attnlrp", "chefer", "compare", "cp_lrp", "dig", "faithfulness",
           "generation_attribution", "gradient_x_input", "integrated_gradients", "layer_integrated_gradients",
           "neighbor_graph", "path_attribution", "quadrature", "relevance", "sig", "synthetic_genotypes", "token_relevance",
           "train_genotype_classifier", "udig"]
