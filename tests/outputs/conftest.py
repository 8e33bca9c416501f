"""Fixtures for the output statistics: tiny random causal models, built once per module."""

from __future__ import annotations

import matplotlib
import pytest

import interp_widgets as iw

matplotlib.use("Agg")


def wrap(kind, tokenizer, seed=0):
    from conftest import tiny_hf_model  # the shared fixtures module of tests/

    return iw.wrap(tiny_hf_model(kind, seed=seed), tokenizer, name=f"tiny-{kind}-{seed}")


@pytest.fixture(scope="module", params=["gpt2", "llama"])
def causal_model(request, causal_tokenizer):
    return wrap(request.param, causal_tokenizer)


def check_figure(fig) -> None:
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    assert isinstance(fig, Figure) and fig.axes
    fig.canvas.draw()
    plt.close(fig)


def write(tmp_path, name: str, text: str):
    """``text`` written to ``tmp_path / name``; returns the path."""
    path = tmp_path / name
    path.write_text(text)
    return path


def assert_record_errors(load, tmp_path, cases) -> None:
    """For each (file name, text, message pattern): ``load(path)`` of the written file raises a
    RecordError whose message (file, line, field, problem) matches the pattern."""
    from interp_widgets.outputs.records import RecordError

    for name, text, pattern in cases:
        with pytest.raises(RecordError, match=pattern):
            load(write(tmp_path, name, text))
