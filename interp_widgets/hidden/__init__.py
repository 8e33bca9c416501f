"""Hidden-state analyses (levels 3 attention heads, 4 layer outputs, 5 final outputs):

* :func:`logit_lens` — final norm + unembedding of every intermediate residual
* :func:`direct_logit_attribution` — each head's, MLP's and embedding's share of a logit (difference)
* :func:`activation_patching` — clean/corrupted patching by position, layer output and head
* :func:`generate` — generation recording each step's probability, alternatives and entropy
* :func:`cka` — linear centred kernel alignment between layers of one model or of two
* :func:`neuron_factors` — NMF of MLP neuron activations over a text (ecco), top tokens per neuron
* :class:`NeighborIndex` — exBERT corpus search by layer embedding or per-head context vector
* :func:`brain_alignment` — ridge encoding of brain recordings from word-level layer activations
  (Raugel et al.), with :func:`synthetic_recordings` for planted layer → lag data
"""

from .brain_alignment import BrainAlignment, BrainComparison, brain_alignment, word_activations
from .cka import CKA, cka, linear_cka
from .generation import Generation, generate
from .logit_attribution import LogitAttribution, direct_logit_attribution
from .logit_lens import LogitLens, logit_lens
from .neighbor_index import NeighborIndex, Neighbors
from .neuron_factors import NeuronFactors, neuron_factors
from .patching import ActivationPatching, activation_patching, logit_diff
from .synthetic_brain import SyntheticRecordings, synthetic_recordings

__all__ = ["ActivationPatching", "BrainAlignment", "BrainComparison", "CKA", "Generation", "LogitAttribution",
           "LogitLens", "NeighborIndex", "Neighbors", "NeuronFactors", "SyntheticRecordings", "activation_patching",
           "brain_alignment", "cka", "direct_logit_attribution", "generate", "linear_cka", "logit_diff", "logit_lens",
           "neuron_factors", "synthetic_recordings", "word_activations"]
