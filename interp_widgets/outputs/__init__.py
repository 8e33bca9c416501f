"""Final outputs and model-level statistics (level 5):

* :func:`chunk_texts`, :func:`sample_text_set` — text sets of UTF-8-safe byte chunks
* :func:`loglik_matrix` — log-likelihoods of N texts under K models, batched, with a resumable cache
* :func:`loglik_matrix_dask` — the same per-model jobs on a Dask cluster, writing to the same cache
* :func:`model_map` — model map from log-likelihood vectors (Oyama et al. 2025): double centring,
  KL estimates, t-SNE/MDS/PCA, ridge regression of benchmark scores
* :class:`NGramModel`, :class:`MarkovChain`, :func:`markov_kl` — text scorers with closed forms
* :func:`demo_zoo` — 14 small models for a demo map
* :func:`opinion_distributions`, :func:`representativeness` — whose opinions LMs reflect (Santurkar
  et al. 2023): option-letter distributions, 1-Wasserstein representativeness, steering, refusals
* :func:`political_compass` — economic/social coordinates from mask-filling, option-probability or
  generation probes (Feng et al. 2023)
* :func:`run_battery` — Likert batteries over many models with negation/order/paraphrase
  consistency and a scaling sweep (Hartmann et al. 2023; Rozado 2024)
"""

from .loglik import LogLikelihoods, loglik_matrix, model_fingerprint
from .model_map import ModelMap, double_centre, kl_estimates, model_map
from .ngram import MarkovChain, NGramModel, markov_kl
from .texts import TextSet, chunk_texts, sample_text_set, split_utf8
from .zoo import Zoo, demo_zoo, perturbed
from .battery import BatteryResult, LikertBattery, example_likert_battery, load_likert_battery, run_battery
from .compass import Battery, PoliticalCompass, example_battery, keyword_stance, load_battery, political_compass
from .distributed import loglik_matrix_dask
from .opinions import (HumanDistributions, OpinionDistributions, Question, QuestionSet, Representativeness,
                       example_human_distributions, example_questions, load_human_distributions, load_questions,
                       opinion_distributions, representativeness)

__all__ = ["Battery", "BatteryResult", "HumanDistributions", "LikertBattery", "LogLikelihoods", "MarkovChain",
           "ModelMap", "NGramModel", "OpinionDistributions", "PoliticalCompass", "Question", "QuestionSet",
           "Representativeness", "TextSet", "Zoo", "chunk_texts", "demo_zoo", "double_centre", "example_battery",
           "example_human_distributions", "example_likert_battery", "example_questions", "keyword_stance",
           "kl_estimates", "load_battery", "load_human_distributions", "load_likert_battery", "load_questions",
           "loglik_matrix", "loglik_matrix_dask", "markov_kl", "model_fingerprint", "model_map",
           "opinion_distributions", "perturbed", "political_compass", "representativeness", "run_battery",
           "sample_text_set", "split_utf8"]
