import dataclasses

import numpy as np
import pytest
import torch

import interp_widgets as iw
from interp_widgets.circuits import Transcoder, TranscoderConfig, TrainingReport, train_transcoder
from interp_widgets.circuits.evaluation import fraction_of_variance_explained
from interp_widgets.circuits.training import CHECKPOINT, _fold, _losses
from tests.conftest import CORPUS, tiny_hf_model


FAST = dict(n_features=24, batch_tokens=64, context=32, windows_per_buffer=6, lr=5e-3, progress=False,
            eval_tokens=256)


@pytest.fixture(scope="module")
def model(causal_tokenizer):
    return iw.wrap(tiny_hf_model("llama"), causal_tokenizer, name="tiny-llama-random")


def test_loss_falls_and_fve_rises(model):
    tc, report = train_transcoder(model, CORPUS, steps=60, sparsity=1e-3, **FAST)
    assert isinstance(report, TrainingReport) and report.loss.shape == (60,)
    assert report.loss[-10:].mean() < 0.7 * report.loss[:5].mean()
    assert report.fve_curve[-10:].mean() > report.fve_curve[:3].mean() + 0.2
    assert report.fve.shape == report.l0.shape == report.dead_fraction.shape == (2,)
    assert (report.fve > 0.2).all() and (report.l0 > 0).all()
    assert repr(report) == repr(TrainingReport(**{f.name: getattr(report, f.name) for f in dataclasses.fields(report)}))
    assert type(report.figure()).__name__ == "Figure"


def test_folded_transcoder_works_on_raw_activations():
    torch.manual_seed(1)
    tc = Transcoder(TranscoderConfig(n_layers=3, d_model=8, n_features=10, activation="relu"))
    with torch.no_grad():
        tc.b_dec.normal_()
        tc.b_enc.normal_()
    xs, ys = torch.rand(3) + 0.5, torch.rand(3) + 0.5
    raw = [torch.randn(5, 8) for _ in range(3)]
    acts, out = _fold(tc, xs, ys)(raw)
    ref_acts, ref = tc([x / s for x, s in zip(raw, xs)])
    for m in range(3):
        torch.testing.assert_close(acts[m], ref_acts[m])
        torch.testing.assert_close(out[m], ref[m] * ys[m])


def test_loss_terms_match_their_formulas():
    torch.manual_seed(2)
    tc = Transcoder(TranscoderConfig(n_layers=2, d_model=6, n_features=7, activation="jumprelu"))
    x, y = torch.randn(2, 9, 6), torch.randn(2, 9, 6)
    total, mse, pen, acts, recon = _losses(tc, x, y, lam=0.3, c=2.0, lam_pre=0.05)
    norms = tc.decoder_norms()
    pres = torch.stack([tc.pre_activation(l, x[l]) for l in range(2)])
    theta = tc.log_threshold.exp()
    ref_mse = sum(((recon[l] - y[l]) ** 2).sum(-1) for l in range(2)).mean()
    ref_pen = sum(torch.tanh(2.0 * norms[l] * acts[l]).sum(-1) for l in range(2)).mean()
    ref_pre = sum((torch.relu(theta[l] - pres[l]) * norms[l]).sum(-1) for l in range(2)).mean()
    torch.testing.assert_close(mse, ref_mse)
    torch.testing.assert_close(pen, ref_pen)
    torch.testing.assert_close(total, ref_mse + 0.3 * ref_pen + 0.05 * ref_pre)


@pytest.mark.parametrize("kw", [dict(activation="relu", cross_layer=False), dict(activation="topk", k=3),
                                dict(activation="jumprelu", pre_activation_loss=1e-3)])
def test_every_variant_trains(model, kw):
    tc, report = train_transcoder(model, CORPUS, steps=15, sparsity=1e-3, **FAST | kw)
    assert np.isfinite(report.loss).all() and report.loss[-3:].mean() < report.loss[:3].mean()
    assert tc.config.cross_layer == kw.get("cross_layer", True) and tc.config.model_name == "tiny-llama-random"
    if kw["activation"] == "topk":
        assert (report.l0 <= 3).all()


class _Stop(Exception):
    pass


def test_resume_gives_the_uninterrupted_result(model, tmp_path):
    common = dict(steps=16, sparsity=1e-2, checkpoint_every=8, seed=3, **FAST)
    full, full_report = train_transcoder(model, CORPUS, checkpoint_dir=tmp_path / "a", **common)

    def interrupt(step, metrics):
        if step == 10:                      # after the checkpoint at step 8
            raise _Stop

    with pytest.raises(_Stop):
        train_transcoder(model, CORPUS, checkpoint_dir=tmp_path / "b", callback=interrupt, **common)
    assert (tmp_path / "b" / CHECKPOINT).exists()
    resumed, report = train_transcoder(model, CORPUS, checkpoint_dir=tmp_path / "b", resume=True, **common)
    for (name, a), (_, b) in zip(full.state_dict().items(), resumed.state_dict().items()):
        assert torch.equal(a, b), name
    np.testing.assert_array_equal(report.loss, full_report.loss)
    np.testing.assert_array_equal(report.fve, full_report.fve)


def test_resume_refuses_other_settings_and_missing_folder(model, tmp_path):
    train_transcoder(model, CORPUS, steps=4, checkpoint_dir=tmp_path, checkpoint_every=2, **FAST)
    with pytest.raises(ValueError, match="other settings"):
        train_transcoder(model, CORPUS, steps=4, checkpoint_dir=tmp_path, resume=True, sparsity=0.5, **FAST)
    with pytest.raises(ValueError, match="checkpoint_dir"):
        train_transcoder(model, CORPUS, steps=4, resume=True, **FAST)


def test_fve_formula_matches_numpy():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(50, 7)) + rng.normal(size=7)
    pred = y + 0.3 * rng.normal(size=(50, 7))
    ref = 1 - ((pred - y) ** 2).sum() / ((y - y.mean(0)) ** 2).sum()
    assert fraction_of_variance_explained(torch.tensor(pred), torch.tensor(y)) == pytest.approx(ref, rel=1e-12)
    assert fraction_of_variance_explained(torch.tensor(y), torch.tensor(y)) == 1.0
    with pytest.raises(ValueError, match="no variance"):
        fraction_of_variance_explained(torch.ones(4, 3), torch.ones(4, 3))
