"""Fixtures for the hidden-state analyses: one tiny model per family, built once per module."""

from __future__ import annotations

import matplotlib
import pytest

import interp_widgets as iw

matplotlib.use("Agg")

CAUSAL = ["gpt2", "gpt_neox", "gpt_neox_sequential", "llama", "qwen2", "mistral"]
ALL = CAUSAL + ["bert", "roberta"]


def wrap(kind, causal_tokenizer, encoder_tokenizer):
    from conftest import tiny_hf_model  # the shared fixtures module of tests/

    tokenizer = encoder_tokenizer if kind in ("bert", "roberta") else causal_tokenizer
    return iw.wrap(tiny_hf_model(kind), tokenizer, name=f"tiny-{kind}")


@pytest.fixture(scope="module", params=ALL)
def model(request, causal_tokenizer, encoder_tokenizer):
    """Every family; the analyses never modify the model."""
    return wrap(request.param, causal_tokenizer, encoder_tokenizer)


@pytest.fixture(scope="module", params=CAUSAL)
def causal_model(request, causal_tokenizer, encoder_tokenizer):
    return wrap(request.param, causal_tokenizer, encoder_tokenizer)


@pytest.fixture(scope="module")
def shipped_llama():
    return iw.load("tiny-llama")


def check_figure(fig) -> None:
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    assert isinstance(fig, Figure) and fig.axes
    fig.canvas.draw()
    plt.close(fig)


def native_unembed(hf, hidden):
    """Logits from a hidden state through the native final norm and head modules (independent of
    the adapters)."""
    kind = hf.config.model_type
    if kind == "gpt2":
        return hf.lm_head(hf.transformer.ln_f(hidden))
    if kind == "gpt_neox":
        return hf.get_output_embeddings()(hf.gpt_neox.final_layer_norm(hidden))
    if kind in ("llama", "qwen2", "mistral"):
        return hf.lm_head(hf.model.norm(hidden))
    if kind == "bert":
        return hf.cls(hidden)
    if kind == "roberta":
        return hf.lm_head(hidden)
    raise ValueError(kind)


def native_blocks(hf):
    """The native transformer block modules, in order."""
    kind = hf.config.model_type
    if kind == "gpt2":
        return list(hf.transformer.h)
    if kind == "gpt_neox":
        return list(hf.gpt_neox.layers)
    if kind in ("llama", "qwen2", "mistral"):
        return list(hf.model.layers)
    return list(hf.base_model.encoder.layer)
