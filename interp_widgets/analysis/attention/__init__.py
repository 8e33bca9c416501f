"""Attention-level analyses (granularity level 3, some also level 4):

* :func:`patterns` — attention patterns and their views (bertviz-style head, model, neuron views)
* :func:`head_stats` — What does BERT look at? (Clark et al. 2019)
* :func:`norms` — norm-based analysis and mixing ratios (Kobayashi et al. 2020, 2021)
* :func:`rollout`, :func:`flow` — attention rollout and flow (Abnar & Zuidema 2020)
* :func:`massive_values`, :func:`disrupt_massive`, :func:`passkey_probe` — massive values (Jin et al. 2025)
* :func:`compare_flows` — attention tracing and model comparison (DeRose et al. 2020)
"""

from ._maxflow import layered_max_flow
from .compare_flows import FlowComparison, compare_flows, trace_attention
from .head_stats import HeadStats, head_stats, merge_words
from .massive_values import (MassiveValues, PasskeyResult, disrupt_massive, frequency_bands, massive_values,
                             passkey_probe, rope_frequencies)
from .norms import AttentionNorms, decompose, ln_after_attention, norms
from .patterns import AttentionPatterns, patterns
from .rollout import AttentionFlow, Rollout, augment, flow, flow_from, rollout, rollout_from

__all__ = ["AttentionFlow", "AttentionNorms", "AttentionPatterns", "FlowComparison", "HeadStats", "MassiveValues", "PasskeyResult",
           "Rollout", "augment", "compare_flows", "decompose", "disrupt_massive", "flow", "flow_from",
           "frequency_bands", "head_stats", "layered_max_flow", "ln_after_attention", "massive_values",
           "merge_words", "norms", "passkey_probe", "patterns", "rollout", "rollout_from", "rope_frequencies",
           "trace_attention"]
