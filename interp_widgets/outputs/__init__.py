"""Final outputs and model-level statistics (level 5):

* :func:`chunk_texts`, :func:`sample_text_set` — text sets of UTF-8-safe byte chunks
* :func:`loglik_matrix` — log-likelihoods of N texts under K models, batched, with a resumable cache
* :func:`model_map` — model map from log-likelihood vectors (Oyama et al. 2025): double centring,
  KL estimates, t-SNE/MDS/PCA, ridge regression of benchmark scores
* :class:`NGramModel`, :class:`MarkovChain`, :func:`markov_kl` — text scorers with closed forms
* :func:`demo_zoo` — 14 small models for a demo map
"""

from .loglik import LogLikelihoods, loglik_matrix, model_fingerprint
from .model_map import ModelMap, double_centre, kl_estimates, model_map
from .ngram import MarkovChain, NGramModel, markov_kl
from .texts import TextSet, chunk_texts, sample_text_set, split_utf8
from .zoo import Zoo, demo_zoo, perturbed

__all__ = ["LogLikelihoods", "MarkovChain", "ModelMap", "NGramModel", "TextSet", "Zoo", "chunk_texts", "demo_zoo",
           "double_centre", "kl_estimates", "loglik_matrix", "markov_kl", "model_fingerprint", "model_map",
           "perturbed", "sample_text_set", "split_utf8"]
