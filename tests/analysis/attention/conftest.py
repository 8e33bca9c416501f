"""Fixtures for the attention analyses: CoNLL-U parses, a longer-context RoPE model, figures."""

from __future__ import annotations

import matplotlib
import pytest
import torch
import transformers

import interp_widgets as iw

matplotlib.use("Agg")

PARSES = """# sent_id = 1
# text = The quick brown fox jumps over the lazy dog.
1	The	the	DET	DT	_	4	det	_	_
2	quick	quick	ADJ	JJ	_	4	amod	_	_
3	brown	brown	ADJ	JJ	_	4	amod	_	_
4	fox	fox	NOUN	NN	_	5	nsubj	_	_
5	jumps	jump	VERB	VBZ	_	0	root	_	_
6	over	over	ADP	IN	_	9	case	_	_
7	the	the	DET	DT	_	9	det	_	_
8	lazy	lazy	ADJ	JJ	_	9	amod	_	_
9	dog	dog	NOUN	NN	_	5	obl	_	_
10	.	.	PUNCT	.	_	5	punct	_	_

# sent_id = 2
# text = Don't compare thee to a summer's day.
1-2	Don't	_	_	_	_	_	_	_	_
1	Do	do	AUX	VBP	_	3	aux	_	_
2	n't	not	PART	RB	_	3	advmod	_	_
3	compare	compare	VERB	VB	_	0	root	_	_
4	thee	thee	PRON	PRP	_	3	obj	_	_
5	to	to	ADP	IN	_	9	case	_	_
6	a	a	DET	DT	_	7	det	_	_
7	summer	summer	NOUN	NN	_	9	nmod:poss	_	_
8	's	's	PART	POS	_	7	case	_	_
9	day	day	NOUN	NN	_	3	obl	_	_
10	.	.	PUNCT	.	_	3	punct	_	_

"""


@pytest.fixture
def parses() -> str:
    return PARSES


@pytest.fixture(scope="module")
def long_llama(causal_tokenizer):
    """A tiny random Llama with a 1024-token context, for the passkey probe's mechanics."""
    torch.manual_seed(0)
    config = transformers.LlamaConfig(num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                      hidden_size=32, intermediate_size=64, max_position_embeddings=1024,
                                      vocab_size=512)
    return iw.wrap(transformers.LlamaForCausalLM(config).eval(), causal_tokenizer, name="tiny-llama-1k")


def check_figure(fig) -> None:
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    assert isinstance(fig, Figure) and fig.axes
    fig.canvas.draw()
    plt.close(fig)


FIGURE_FAMILIES = ["gpt2", "gpt_neox", "llama", "bert"]


def _wrap(kind, causal_tokenizer, encoder_tokenizer):
    from conftest import tiny_hf_model  # the shared fixtures module of tests/

    tokenizer = encoder_tokenizer if kind in ("bert", "roberta") else causal_tokenizer
    return iw.wrap(tiny_hf_model(kind), tokenizer, name=f"tiny-{kind}")


@pytest.fixture(scope="module", params=["gpt2", "gpt_neox", "gpt_neox_sequential", "llama", "qwen2", "mistral",
                                        "bert", "roberta"])
def model(request, causal_tokenizer, encoder_tokenizer):
    """Like ``tiny`` (every family), built once per test module: the analyses never modify it."""
    return _wrap(request.param, causal_tokenizer, encoder_tokenizer)


@pytest.fixture(scope="module", params=["gpt_neox", "gpt_neox_sequential", "llama", "qwen2", "mistral"])
def rope_model(request, causal_tokenizer, encoder_tokenizer):
    """The rotary families only."""
    return _wrap(request.param, causal_tokenizer, encoder_tokenizer)


@pytest.fixture(scope="module", params=FIGURE_FAMILIES)
def figure_model(request, causal_tokenizer, encoder_tokenizer):
    """One model per kind of figure path (learned/rotary/partial+parallel/post-LN)."""
    return _wrap(request.param, causal_tokenizer, encoder_tokenizer)
