import numpy as np
import pytest
import torch

import interp_widgets as iw
from interp_widgets.circuits import FeatureDescriptions, Transcoder, TranscoderConfig, describe
from interp_widgets.circuits import activations as A
from interp_widgets.circuits.features import AFTER, output_logits
from tests.conftest import CORPUS, tiny_hf_model


SETTINGS = dict(n_contexts=3, n_logits=5, context=16, snippet=6, batch_windows=3)


@pytest.fixture(scope="module")
def model(causal_tokenizer):
    return iw.wrap(tiny_hf_model("llama"), causal_tokenizer, name="tiny-llama-random")


@pytest.fixture(scope="module")
def tc():
    torch.manual_seed(0)
    tc = Transcoder(TranscoderConfig(n_layers=2, d_model=32, n_features=10, activation="relu"))
    with torch.no_grad():
        tc.W_enc.mul_(30)
        tc.b_enc.normal_(-0.5, 0.5)
    return tc


@pytest.fixture(scope="module")
def described(model, tc, tmp_path_factory):
    return describe(model, tc, CORPUS, cache_dir=tmp_path_factory.mktemp("features"), **SETTINGS)


def _brute_force(model, tc):
    """acts [window, layer, pos, feature] from one separate forward pass per window."""
    stream = A.token_stream(model, CORPUS)
    ids = A.windows(model, stream, A.tiled_starts(stream, 16, model), 16)
    out = []
    for row in ids:
        names = [f"blocks.{l}.hook_resid_mid" for l in range(2)]
        tr = model.run(row[None], names=names)
        with torch.no_grad():
            out.append(torch.stack([tc.encode(l, tr[f"blocks.{l}.hook_resid_mid"][0]) for l in range(2)]))
    return ids, torch.stack(out)


def test_top_contexts_are_the_argmax_activations(model, tc, described):
    ids, acts = _brute_force(model, tc)
    acts[:, :, 0] = 0                                   # the BOS position is never scored
    maxima, where = acts.max(2)                         # [window, layer, feature]
    n_active_features = 0
    for l in range(2):
        for f in range(10):
            order = sorted(range(len(ids)), key=lambda w: -float(maxima[w, l, f]))[:3]
            order = [w for w in order if maxima[w, l, f] > 0]
            d = described.for_feature(l, f)
            assert len(d["top_contexts"]) == len(order)
            n_active_features += bool(order)
            for r, (w, ctx) in enumerate(zip(order, d["top_contexts"])):
                assert ctx["max"] == pytest.approx(float(maxima[w, l, f]), rel=1e-5)
                assert int(described.top_window[l, f, r]) == w
                p = int(where[w, l, f])
                assert int(described.top_position[l, f, r]) == p
                lo, hi = max(1, p - (6 - 1 - AFTER)), min(16, p + AFTER + 1)
                np.testing.assert_allclose(ctx["values"], acts[w, l, lo:hi, f].numpy(), rtol=1e-4, atol=1e-6)
                assert ctx["tokens"] == [described.vocab[i] for i in ids[w, lo:hi].tolist()]
                assert max(ctx["values"]) == pytest.approx(ctx["max"], rel=1e-4)
            freq = float((acts[:, l, 1:, f] > 0).double().mean())
            assert d["frequency"] == pytest.approx(freq, rel=1e-5)
    assert n_active_features >= 10                      # the check is not vacuous


def test_output_logits_are_the_decoder_through_norm_weight_and_unembedding(model, tc, described):
    gamma = model.hf.model.norm.weight.detach()
    W_U = model.hf.lm_head.weight.detach().T
    with torch.no_grad():
        ref = torch.stack([(tc.decoder(0, 0) + tc.decoder(0, 1)) * gamma @ W_U, tc.decoder(1, 1) * gamma @ W_U])
    torch.testing.assert_close(output_logits(model, tc), ref)
    d = described.for_feature(1, 4)
    top = ref[1, 4].topk(5)
    assert [t for t, _ in d["top_logits"]] == [described.vocab[i] for i in top.indices.tolist()]
    np.testing.assert_allclose([w for _, w in d["top_logits"]], top.values.numpy(), atol=1e-5)
    assert [w for _, w in d["bottom_logits"]] == sorted(w for _, w in d["bottom_logits"])


def test_cache_hit_returns_identical_data_without_recomputation(model, tc, described, monkeypatch, tmp_path):
    def boom(*a, **k):
        raise AssertionError("recomputed")

    folder = tmp_path / "cache"
    first = describe(model, tc, CORPUS, cache_dir=folder, **SETTINGS)
    monkeypatch.setattr(A, "record", boom)
    again = describe(model, tc, CORPUS, cache_dir=folder, **SETTINGS)
    assert isinstance(again, FeatureDescriptions) and again.key == first.key
    for name in ("top_values", "top_window", "snippet_ids", "snippet_acts", "logit_ids", "frequency"):
        assert torch.equal(torch.as_tensor(getattr(again, name)), torch.as_tensor(getattr(first, name)))
    assert again.for_feature(0, 3) == first.for_feature(0, 3) == described.for_feature(0, 3)
    with pytest.raises(AssertionError, match="recomputed"):    # other texts: another key
        describe(model, tc, CORPUS[:2], cache_dir=folder, **SETTINGS)


def test_bad_feature_index_is_a_clear_error(described):
    with pytest.raises(IndexError, match=r"feature must be an int in 0\.\.9"):
        described.for_feature(0, 10)
    with pytest.raises(IndexError, match=r"layer must be an int in 0\.\.1"):
        described.for_feature(-1, 0)
    assert "top_values=[2, 10, 3]" in repr(described)
    assert type(described.figure(0, 1)).__name__ == "Figure"
