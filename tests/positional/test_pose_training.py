"""PoSE fine-tuning: the sampled ids reach the rotary embedding with full causal attention, the
loss falls, the original model is untouched, the copy's config scaling equals inference-time
scaling, and the copy is measured by the extrapolation experiment."""

import matplotlib
import pytest
import torch
from transformers.models.llama import modeling_llama

import interp_widgets as iw
import interp_widgets.positional as P
from tests.conftest import tiny_hf_model

matplotlib.use("Agg")

TEXT = " ".join(["The quick brown fox jumps over the lazy dog. To be, or not to be, that is the question."] * 30)


@pytest.fixture
def llama(causal_tokenizer):
    return iw.wrap(tiny_hf_model("llama"), causal_tokenizer, name="tiny-llama-random")


def _state(model):
    return {k: v.clone() for k, v in model.hf.state_dict().items()}


@pytest.mark.parametrize("kind", ["llama", "gpt_neox"])
@pytest.mark.parametrize("scaling", ["linear", "ntk", "yarn"])
def test_extended_copy_equals_inference_scaling(kind, scaling, causal_tokenizer):
    model = iw.wrap(tiny_hf_model(kind), causal_tokenizer)
    before = _state(model)
    copy = P.extended_copy(model, 256, scaling, 4.0)
    assert copy.cfg.n_ctx == 256 and model.cfg.n_ctx == 64
    ids = torch.randint(0, 400, (1, 200))
    with torch.no_grad():
        with P.rope_scaling(model, scaling, 4.0):
            reference = model.hf(input_ids=ids).logits
        ours = copy.hf(input_ids=ids).logits
    assert torch.allclose(ours, reference, atol=1e-4)
    assert all(torch.equal(v, model.hf.state_dict()[k]) for k, v in before.items())


def test_pose_ids_reach_rotary_with_full_causal_attention(llama, monkeypatch):
    seen_positions, seen_masks = [], []
    rotary_forward = modeling_llama.LlamaRotaryEmbedding.forward
    attention_forward = modeling_llama.LlamaAttention.forward

    def record_rotary(self, x, position_ids, *args, **kwargs):
        seen_positions.append(position_ids.detach().cpu().clone())
        return rotary_forward(self, x, position_ids, *args, **kwargs)

    def record_attention(self, *args, **kwargs):
        seen_masks.append(kwargs.get("attention_mask"))
        return attention_forward(self, *args, **kwargs)

    monkeypatch.setattr(modeling_llama.LlamaRotaryEmbedding, "forward", record_rotary)
    monkeypatch.setattr(modeling_llama.LlamaAttention, "forward", record_attention)
    before, config = _state(llama), llama.hf.config.to_dict()
    tuned, report = P.pose_finetune(llama, TEXT, train_length=32, target_length=256, steps=6, batch_size=3,
                                    lr=1e-3, n_chunks=3, progress=False)
    assert len(seen_positions) == 6
    ids = torch.cat(seen_positions)  # [steps * batch, L_c]
    assert ids.shape == (18, 32) and (ids[:, 0] == 0).all()
    assert (ids.diff(dim=1) >= 1).all() and int(ids.max()) <= 255  # PoSE's constraints, as fed to the model
    assert (ids.diff(dim=1) > 1).any(dim=1).float().mean() > 0.5  # the skips are really there
    for mask in seen_masks:  # a skip must not be read as the start of a new (packed) sequence
        if mask is not None:
            allowed = mask.bool() if mask.dtype == torch.bool else mask == 0
            assert allowed[..., torch.ones(32, 32, dtype=torch.bool).tril()].all()
    after = llama.hf.state_dict()
    assert all(torch.equal(v, after[k]) for k, v in before.items()) and llama.hf.config.to_dict() == config
    tuned_params = dict(tuned.hf.named_parameters())
    assert any(not torch.equal(tuned_params[k], p) for k, p in llama.hf.named_parameters())
    assert all(tuned_params[k].data_ptr() != p.data_ptr() for k, p in llama.hf.named_parameters())
    assert not tuned.hf.training and report.loss.shape == (6,) and report.scaling == "none"


def test_pose_finetune_lowers_the_loss(llama):
    _, report = P.pose_finetune(llama, TEXT, train_length=32, target_length=128, steps=40, batch_size=4,
                                lr=3e-3, scaling="yarn", progress=False)
    assert float(report.loss[-5:].mean()) < 0.6 * float(report.loss[:5].mean())
    assert report.factor == 4.0 and float(report.lr.max()) == pytest.approx(3e-3)


def test_pose_model_measured_by_extrapolation(llama, tmp_path):
    import matplotlib.pyplot as plt

    tuned, report = P.pose_finetune(llama, TEXT, train_length=32, target_length=128, steps=3, batch_size=2,
                                    scaling="linear", progress=False)
    r = P.extrapolation(tuned, TEXT, lengths=[32, 128], methods=["none"], n_ctx=report.train_length)
    assert r.n_ctx == 32 and torch.isnan(r.nll_beyond[0, 0]) and torch.isfinite(r.nll_beyond[0, 1])
    ids = torch.tensor(tuned.tokenizer(TEXT, add_special_tokens=False)["input_ids"])
    windows = ids[: (len(ids) // 128) * 128].view(-1, 128)
    with torch.no_grad():
        loss = tuned.hf(input_ids=windows, labels=windows).loss
    assert float(r.nll[0, 1]) == pytest.approx(float(loss), rel=1e-5)
    with pytest.raises(ValueError, match="already uses 'linear'"):
        P.extrapolation(tuned, TEXT, lengths=[32], methods=["yarn"])
    back = P.PoseFinetune.load(report.save(tmp_path / "pose"))
    assert torch.equal(back.loss, report.loss) and back.scaling == "linear"
    plt.close(report.figure())


def test_pose_finetune_bad_input(llama, causal_tokenizer):
    run = dict(steps=1, batch_size=1, progress=False)
    with pytest.raises(ValueError, match="must be >= the training window"):
        P.pose_finetune(llama, TEXT, target_length=16, train_length=32, **run)
    with pytest.raises(ValueError, match="exceeds"):
        P.pose_finetune(llama, TEXT, target_length=256, train_length=128, **run)
    with pytest.raises(ValueError, match="not a causal RoPE"):
        P.pose_finetune(iw.wrap(tiny_hf_model("gpt2"), causal_tokenizer), TEXT, target_length=128, **run)
    with pytest.raises(ValueError, match="scaling must be one of"):
        P.pose_finetune(llama, TEXT, target_length=128, scaling="dynamic", **run)
    with pytest.raises(ValueError, match="needs a scaling"):
        P.pose_finetune(llama, TEXT, target_length=128, factor=2.0, **run)
    with pytest.raises(ValueError, match="fewer than one window"):
        P.pose_finetune(llama, "too short", target_length=128, **run)
    with pytest.raises(ValueError, match="lr > 0"):
        P.pose_finetune(llama, TEXT, target_length=128, steps=1, lr=0.0, progress=False)
    with pytest.raises(ValueError, match="n_ctx must lie"):
        P.extrapolation(llama, TEXT, lengths=[32], methods=["none"], n_ctx=1000)
