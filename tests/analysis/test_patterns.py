"""patterns(): equals the trace's attention, metadata for sentence pairs, word aggregation, figures."""

from __future__ import annotations

import matplotlib
import pytest
import torch

from interp_widgets.analysis.attention.patterns import AttentionPatterns, patterns

matplotlib.use("Agg")


def test_patterns_match_trace(tiny):
    pair = "Shall I compare thee" if not tiny.cfg.causal else None
    text = "To be, or not to be, that is the question:"
    result = patterns(tiny, text, pair=pair)
    trace = tiny.run(text, names="blocks.*.attn.hook_pattern", pair=pair)
    ref = torch.stack([trace[f"blocks.{l}.attn.hook_pattern"][0] for l in range(tiny.cfg.n_layers)])
    torch.testing.assert_close(result.patterns, ref.float())
    assert result.queries.shape[:3] == (tiny.cfg.n_layers, result.n_tokens, tiny.cfg.n_heads)
    assert result.keys.shape == result.queries.shape
    torch.testing.assert_close(result.patterns.sum(-1), torch.ones_like(result.patterns.sum(-1)))
    assert len(result.tokens) == len(result.segments) == len(result.is_special) == result.n_tokens
    if pair:
        assert result.segments[0] == 0 and result.segments[-1] == 1 and result.is_special[0]


def test_word_patterns_rows_sum_to_one(tiny):
    result = patterns(tiny, "To be, or not to be")
    words = result.word_patterns(0)
    assert words.shape == (tiny.cfg.n_heads, len(result.words), len(result.words))
    torch.testing.assert_close(words.sum(-1), torch.ones(words.shape[:2]))


@pytest.mark.parametrize("kind", ["head", "model", "heatmap"])
def test_figures_render(kind, causal_tokenizer):
    from tests.conftest import tiny_hf_model
    import interp_widgets as iw

    result = patterns(iw.wrap(tiny_hf_model("gpt2"), causal_tokenizer), "To be, or not to be")
    fig = result.figure(kind=kind, layer=1, heads=[0, 1])
    assert fig.axes
    with pytest.raises(IndexError):
        result.figure(kind=kind, layer=5)


def test_rejects_batches(causal_tokenizer):
    from tests.conftest import tiny_hf_model
    import interp_widgets as iw

    with pytest.raises(TypeError, match="one text"):
        patterns(iw.wrap(tiny_hf_model("gpt2"), causal_tokenizer), ["a", "b"])
    assert issubclass(AttentionPatterns, object)
