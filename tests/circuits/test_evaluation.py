import numpy as np
import pytest
import torch
import torch.nn.functional as F

import interp_widgets as iw
from interp_widgets.circuits import Transcoder, TranscoderConfig, TranscoderEvaluation, evaluate_transcoder
from interp_widgets.circuits import activations as A
from interp_widgets.circuits.evaluation import replacement_patches
from tests.conftest import CORPUS, tiny_hf_model


@pytest.fixture(scope="module")
def model(causal_tokenizer):
    return iw.wrap(tiny_hf_model("llama"), causal_tokenizer, name="tiny-llama-random")


def _tc(model, seed=0, **kw):
    torch.manual_seed(seed)
    cfg = dict(n_layers=2, d_model=32, n_features=40, activation="relu") | kw
    tc = Transcoder(TranscoderConfig(**cfg))
    with torch.no_grad():
        tc.b_enc.normal_(0, 0.5)
    return tc


def _windows(model, context=24):
    stream = A.token_stream(model, CORPUS)
    return A.windows(model, stream, A.tiled_starts(stream, context, model), context)


def test_statistics_match_a_direct_computation(model):
    tc = _tc(model)
    ev = evaluate_transcoder(model, tc, CORPUS, context=24)
    ids = _windows(model)
    x, y = A.record(model, ids)
    x, y = x[:, :, 1:].flatten(1, 2).double(), y[:, :, 1:].flatten(1, 2).double()
    acts, recon = tc.double()([x[l] for l in range(2)])
    for l in range(2):
        yl, rl = y[l].numpy(), recon[l].detach().numpy()
        fve = 1 - ((rl - yl) ** 2).sum() / ((yl - yl.mean(0)) ** 2).sum()
        assert ev.fve[l] == pytest.approx(fve, rel=1e-5)
        assert ev.l0[l] == pytest.approx(float((acts[l] > 0).sum(-1).double().mean()), abs=1e-9)
    logits = model.hf(input_ids=ids).logits
    ref = F.cross_entropy(logits[:, 1:-1].flatten(0, 1), ids[:, 2:].flatten()).item()
    assert ev.loss_original == pytest.approx(ref, rel=1e-5)
    assert ev.n_tokens == x.shape[1]


def test_a_model_whose_mlps_are_the_transcoder_is_reproduced_exactly(model):
    """Inside ``replacement_patches`` the MLP outputs *are* the transcoder's: FVE 1, same loss."""
    tc = _tc(model, seed=1)
    with torch.no_grad(), model.patch(replacement_patches(model, tc)):
        ev = evaluate_transcoder(model, tc, CORPUS, context=24)
    np.testing.assert_allclose(ev.fve, 1.0, atol=1e-6)
    assert ev.loss_replacement == pytest.approx(ev.loss_original, abs=1e-6)


def test_an_empty_transcoder_equals_zero_ablation(model):
    tc = _tc(model)
    with torch.no_grad():
        for w in tc.W_dec:
            w.zero_()
        tc.b_dec.zero_()
    ev = evaluate_transcoder(model, tc, CORPUS, context=24)
    assert ev.loss_replacement == ev.loss_zero_mlp
    assert ev.loss_recovered == 0.0
    assert isinstance(ev, TranscoderEvaluation) and "loss_original=" in repr(ev)
    assert type(ev.figure()).__name__ == "Figure"


def test_bad_inputs(model):
    with pytest.raises(ValueError, match="n_layers=3, d_model=32.*n_layers=2, d_model=32"):
        evaluate_transcoder(model, _tc(model, n_layers=3), CORPUS)
    with pytest.raises(ValueError, match="exceeds the model's context"):
        evaluate_transcoder(model, _tc(model), CORPUS, context=10_000)
    with pytest.raises(TypeError, match="list of strings"):
        evaluate_transcoder(model, _tc(model), [1, 2])
