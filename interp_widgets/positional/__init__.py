"""Positional encodings (levels 1 embeddings and 3 attention): nine schemes behind one interface
(:class:`PositionalScheme`, ``acts_on`` says where each acts), a toy attention layer that uses
them, analyses returning results with ``.figure()``, :func:`inspect` for loaded models and the
length-:func:`extrapolation` experiment for RoPE models, and :func:`pose_finetune` (PoSE
fine-tuning of a RoPE model's copy).

Schemes: :class:`Sinusoidal`, :class:`Learned` (embeddings); :class:`ShawRelative`,
:class:`TransformerXLRelative`, :class:`ALiBi` (scores); :class:`RoPE`, :class:`XPos`,
:class:`YaRN` (queries and keys); :class:`PoSE` (training positions);
:class:`RecurrentXLAttention` adds Transformer-XL's segment memory. :func:`explorer` is the
interactive view of the schemes.
"""

from .absolute import Learned, Sinusoidal, sinusoidal_table
from .alibi import ALiBi, alibi_slopes
from .analysis import (AlibiBias, DistanceProfile, PoseCoverage, PositionSimilarity, XLTerms, YarnRamp, alibi_bias,
                       distance_profile, pose_coverage, similarity, xl_terms, yarn_ramp)
from .base import ACTS_ON, PositionalScheme, ToyAttention
from .explorer import SCHEMES, ExplorerPanel, ExplorerParams, explore, explorer
from .extrapolation import Extrapolation, extrapolation, rope_scaling, scaled_rope
from .model_scheme import PositionalInfo, inspect
from .pose import PoSE
from .pose_training import PoseFinetune, extended_copy, pose_finetune
from .recurrence import RecurrentXLAttention
from .relative import ShawRelative, TransformerXLRelative, rel_shift
from .rotary import RoPE, XPos, YaRN, interleaved_to_half, rotate_pairs, yarn_mscale

__all__ = ["ACTS_ON", "ALiBi", "AlibiBias", "DistanceProfile", "ExplorerPanel", "ExplorerParams", "Extrapolation", "Learned", "PoSE", "PoseCoverage", "PoseFinetune",
           "PositionSimilarity", "PositionalInfo", "PositionalScheme", "RecurrentXLAttention", "RoPE", "SCHEMES", "ShawRelative", "Sinusoidal",
           "ToyAttention", "TransformerXLRelative", "XLTerms", "XPos", "YaRN", "YarnRamp", "alibi_bias",
           "alibi_slopes", "distance_profile", "explore", "explorer", "extended_copy", "extrapolation", "inspect", "interleaved_to_half", "pose_coverage", "pose_finetune",
           "rel_shift", "rope_scaling", "rotate_pairs", "scaled_rope", "similarity", "sinusoidal_table",
           "xl_terms", "yarn_mscale", "yarn_ramp"]
