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
