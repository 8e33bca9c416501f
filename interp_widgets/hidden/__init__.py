"""Hidden-state analyses (levels 3 attention heads, 4 layer outputs, 5 final outputs):

* :func:`logit_lens` — final norm + unembedding of every intermediate residual
* :func:`direct_logit_attribution` — each head's, MLP's and embedding's share of a logit (difference)
* :func:`activation_patching` — clean/corrupted patching by position, layer output and head
* :func:`generate` — generation recording each step's probability, alternatives and entropy
* :func:`cka` — linear centred kernel alignment between layers of one model or of two
"""

from .cka import CKA, cka, linear_cka
from .generation import Generation, generate
from .logit_attribution import LogitAttribution, direct_logit_attribution
from .logit_lens import LogitLens, logit_lens
from .patching import ActivationPatching, activation_patching, logit_diff

__all__ = ["CKA", "ActivationPatching", "Generation", "LogitAttribution", "LogitLens", "activation_patching", "cka",
           "direct_logit_attribution", "generate", "linear_cka", "logit_diff", "logit_lens"]
