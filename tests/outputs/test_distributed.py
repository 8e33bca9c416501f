"""The Dask runner for log-likelihood sweeps gives the serial matrix and shares its cache."""

from __future__ import annotations

import numpy as np
import pytest

from interp_widgets.outputs import loglik_matrix, loglik_matrix_dask

from .conftest import wrap

pytest.importorskip("distributed", reason='optional dependency: pip install "interp_widgets[distributed]"')

TEXTS = ["To be, or not to be, that is the question.", "A stitch in time saves nine.", "The quick brown fox."]


class Chars:
    """A picklable text scorer: -(number of characters) · rate."""

    def __init__(self, rate):
        self.rate, self.name, self.fingerprint = rate, f"chars{rate:g}", f"chars:{rate}"

    def __call__(self, texts):
        return -self.rate * np.array([len(t) for t in texts], dtype=float)


def test_dask_local_run_matches_serial(tmp_path, causal_tokenizer):
    models = {"gpt2": wrap("gpt2", causal_tokenizer), "llama": wrap("llama", causal_tokenizer),
              "chars": Chars(0.5)}
    serial = loglik_matrix(models, TEXTS, progress=False)
    dask = loglik_matrix_dask(models, TEXTS, cache_dir=tmp_path, n_workers=2, progress=False)
    assert dask.names == serial.names and dask.cached == [True, True, True]
    np.testing.assert_allclose(np.asarray(dask), np.asarray(serial), rtol=1e-6, atol=1e-5)
    assert len(list(tmp_path.rglob("*.npz"))) == 3
    again = loglik_matrix(models, TEXTS, cache_dir=tmp_path, progress=False)  # the serial path reads the same rows
    assert again.cached == [True, True, True]
    np.testing.assert_array_equal(np.asarray(again), np.asarray(dask))
    with pytest.raises(ValueError, match="cache_dir is required"):
        loglik_matrix_dask(models, TEXTS, cache_dir=None)
