"""The log-likelihood matrix: HF-loss identity, padding, truncation, resumable cache."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from interp_widgets.outputs import loglik_matrix, model_fingerprint, perturbed

TEXTS = ["To be, or not to be, that is the question.", "A stitch in time saves nine.",
         "Shall I compare thee to a summer's day? Thou art more lovely and more temperate.",
         "The quick brown fox.", "日本語のテキスト。"]


def _hf_scores(model, texts):
    out = []
    for t in texts:
        ids = torch.tensor([model.tokenizer(t)["input_ids"][:model.cfg.n_ctx]])
        with torch.no_grad():
            loss = model.hf(input_ids=ids, labels=ids).loss
        out.append(-float(loss) * (ids.shape[1] - 1))
    return np.array(out)


def test_equals_minus_hf_loss_times_scored_tokens(causal_model):
    L = loglik_matrix([causal_model], TEXTS, batch_size=2, progress=False)
    assert L.shape == (1, len(TEXTS)) and L.names == [causal_model.name]
    np.testing.assert_allclose(np.asarray(L)[0], _hf_scores(causal_model, TEXTS), rtol=1e-5, atol=1e-4)


def test_padding_does_not_change_scores(causal_model):
    one = np.asarray(loglik_matrix([causal_model], TEXTS, batch_size=1, progress=False))
    batched = np.asarray(loglik_matrix([causal_model], TEXTS, batch_size=len(TEXTS), progress=False))
    np.testing.assert_allclose(batched, one, rtol=1e-5, atol=1e-4)


def test_long_texts_truncated_and_said_so(causal_model):
    long = " ".join(["to be or not to be"] * 40)  # far more than the 64-token context
    with pytest.warns(UserWarning, match=rf"{causal_model.name}: 1 of 2"):
        L = loglik_matrix([causal_model], [long, TEXTS[0]], progress=False)
    assert int(L.truncated[0]) == 1 and int(L.n_tokens[0, 0]) == causal_model.cfg.n_ctx
    np.testing.assert_allclose(np.asarray(L)[0], _hf_scores(causal_model, [long, TEXTS[0]]), rtol=1e-5, atol=1e-4)


class Counting:
    """A text scorer that counts its calls: -(number of characters) · rate."""

    def __init__(self, name, rate):
        self.name, self.rate, self.calls = name, rate, 0
        self.fingerprint = f"counting:{rate}"

    def __call__(self, texts):
        self.calls += 1
        return -self.rate * np.array([len(t) for t in texts], dtype=float)


def test_cache_resumes_after_interruption_and_adds_models(tmp_path, causal_model):
    scorers = [Counting("a", 1.0), Counting("b", 2.0)]
    models = [scorers[0], causal_model, scorers[1]]
    fresh = np.asarray(loglik_matrix(models, TEXTS, progress=False))

    def stop_after_two(i, label, row):
        if i == 1:
            raise KeyboardInterrupt("stopped mid-sweep")
    for s in scorers:
        s.calls = 0
    with pytest.raises(KeyboardInterrupt):
        loglik_matrix(models, TEXTS, cache_dir=tmp_path, progress=False, callback=stop_after_two)
    assert [s.calls for s in scorers] == [1, 0]
    resumed = loglik_matrix(models, TEXTS, cache_dir=tmp_path, progress=False)
    assert resumed.cached == [True, True, False]
    assert [s.calls for s in scorers] == [1, 1]  # rows already computed were not recomputed
    np.testing.assert_array_equal(np.asarray(resumed), fresh)
    extra = Counting("c", 3.0)
    grown = loglik_matrix(models + [extra], TEXTS, cache_dir=tmp_path, progress=False)
    assert grown.cached == [True, True, True, False] and extra.calls == 1
    np.testing.assert_array_equal(np.asarray(grown)[:3], fresh)
    # another text set or dtype is another cache entry
    assert loglik_matrix(models, TEXTS[:3], cache_dir=tmp_path, progress=False).cached == [False] * 3
    assert loglik_matrix([scorers[0]], TEXTS, cache_dir=tmp_path, dtype=torch.float64,
                         progress=False).cached == [False]


KILLED_SWEEP = """
import os, signal, sys
from interp_widgets.outputs import loglik_matrix
from tests.outputs.test_loglik import TEXTS, Counting

def kill(i, label, row):
    if i == 1:
        os.kill(os.getpid(), signal.SIGKILL)

loglik_matrix([Counting("a", 1.0), Counting("b", 2.0), Counting("c", 3.0)], TEXTS, cache_dir=sys.argv[1],
              progress=False, callback=kill)
"""


def test_cache_survives_a_killed_sweep(tmp_path):
    """The sweeping process is killed (SIGKILL) after its second row: a new sweep reads the two
    stored rows, computes only the third and gives the uninterrupted matrix."""
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-c", KILLED_SWEEP, str(tmp_path)], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    models = [Counting("a", 1.0), Counting("b", 2.0), Counting("c", 3.0)]
    resumed = loglik_matrix(models, TEXTS, cache_dir=tmp_path, progress=False)
    assert resumed.cached == [True, True, False] and [m.calls for m in models] == [0, 0, 1]
    np.testing.assert_array_equal(np.asarray(resumed), np.asarray(loglik_matrix(models, TEXTS, progress=False)))
    assert not list(tmp_path.rglob("*.tmp*"))


def test_fingerprint_follows_the_weights(tmp_path, causal_model):
    copy = perturbed(causal_model, "same weights")
    assert model_fingerprint(copy) == model_fingerprint(causal_model)
    noisy = perturbed(causal_model, causal_model.name, noise=0.01)
    assert model_fingerprint(noisy) != model_fingerprint(causal_model)
    loglik_matrix([causal_model], TEXTS, cache_dir=tmp_path, progress=False)
    again = loglik_matrix({causal_model.name: noisy}, TEXTS, cache_dir=tmp_path, progress=False)
    assert again.cached == [False]  # same label, new weights: recomputed


def test_perturbed_copies(causal_model):
    before = {k: v.clone() for k, v in causal_model.hf.state_dict().items()}
    ablated = perturbed(causal_model, "ablated", ablate_layer=1)
    tr = ablated.run(TEXTS[0], names=["blocks.1.hook_attn_out", "blocks.1.hook_mlp_out"])
    assert tr["blocks.1.hook_attn_out"].abs().max() == 0 and tr["blocks.1.hook_mlp_out"].abs().max() == 0
    assert all(torch.equal(v, causal_model.hf.state_dict()[k]) for k, v in before.items())


def test_bad_input(causal_model, encoder_tokenizer):
    from .conftest import wrap

    with pytest.raises(ValueError, match="masked"):
        loglik_matrix([wrap("bert", encoder_tokenizer)], TEXTS, progress=False)
    with pytest.raises(ValueError, match="dtype"):
        loglik_matrix([causal_model], TEXTS, dtype=torch.bfloat16, progress=False)
    with pytest.raises(ValueError, match="one log-likelihood per text"):
        loglik_matrix([lambda texts: [0.0]], TEXTS, progress=False)
    with pytest.raises(ValueError, match="positive"):
        loglik_matrix([lambda texts: [1.0] * len(texts)], TEXTS, progress=False)
    with pytest.raises(ValueError, match="unique labels"):
        loglik_matrix([Counting("a", 1), Counting("a", 2)], TEXTS, progress=False)
    with pytest.raises(TypeError, match="text scorer"):
        loglik_matrix([3], TEXTS, progress=False)
    with pytest.raises(ValueError, match="non-empty"):
        loglik_matrix([causal_model], ["ok", ""], progress=False)


def test_result_round_trip_and_map_labels(tmp_path):
    from interp_widgets.outputs import LogLikelihoods, model_map

    from .conftest import check_figure

    L = loglik_matrix({f"m{r}": Counting(f"m{r}", r) for r in (1.0, 1.5, 2.0, 3.0)}, TEXTS, progress=False)
    back = LogLikelihoods.load(L.save(tmp_path / "L"))
    np.testing.assert_array_equal(np.asarray(back), np.asarray(L))
    assert back.names == L.names == ["m1.0", "m1.5", "m2.0", "m3.0"]
    assert model_map(L, method="pca").names == L.names
    check_figure(L.figure())
