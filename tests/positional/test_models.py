"""inspect() on shipped and tiny-family models, and the extrapolation machinery against
Hugging Face's own scaled-RoPE implementations."""

import matplotlib
import pytest
import torch
import transformers

import interp_widgets as iw
import interp_widgets.positional as P
from tests.conftest import tiny_hf_model

matplotlib.use("Agg")


def test_inspect_tiny_families(tiny):
    import matplotlib.pyplot as plt

    info = P.inspect(tiny)
    cfg = tiny.cfg
    assert info.scheme == cfg.positional
    if info.scheme == "learned":
        pad = tiny.adapter.pos_embedding().padding_idx  # RoBERTa numbers positions from pad + 1
        assert (pad is not None) == (cfg.model_type == "roberta")
        table = tiny.W_pos.detach().double()[0 if pad is None else pad + 1:]
        assert torch.equal(info.table, table)
        assert torch.allclose(info.similarity.diagonal(), torch.ones(len(table), dtype=torch.float64))
        centred = table - table.mean(0)
        total = centred.square().sum()
        assert torch.allclose(info.pca.square().sum(0) / total, info.explained)  # PCA variance shares
        assert (info.explained[:-1] >= info.explained[1:]).all()
        with pytest.raises(ValueError, match="no rotary positions"):
            P.inspect(tiny, "rotary")
    else:
        expected_fraction = 0.5 if cfg.family == "gpt_neox" else 1.0
        assert info.rotary_fraction == expected_fraction and info.rotary_dim == cfg.d_head * expected_fraction
        assert torch.allclose(info.inv_freq, info.theta ** (-torch.arange(0, info.rotary_dim, 2).double()
                                                             / info.rotary_dim), rtol=1e-6)
        with pytest.raises(ValueError, match="no learned positions"):
            P.inspect(tiny, "learned")
    plt.close(info.figure())
    assert "PositionalInfo(" in repr(info) and "None" not in repr(info)


@pytest.mark.parametrize("name", ["tiny-llama", "tiny-gpt2", "tiny-bert"])
def test_inspect_shipped(name, tmp_path):
    model = iw.load(name)
    info = P.inspect(model)
    back = P.PositionalInfo.load(info.save(tmp_path / "info"))
    assert repr(back) == repr(info)
    assert info.n_ctx == model.cfg.n_ctx
    if name == "tiny-llama":
        assert info.scheme == "rotary" and info.theta == model.hf.config.rope_parameters["rope_theta"]
        assert info.rope_type == "default" and info.attention_scaling == 1.0
    else:
        assert info.scheme == "learned" and info.table.shape == tuple(model.W_pos.shape)


def test_inspect_reads_scaling_config(causal_tokenizer):
    config = transformers.LlamaConfig(num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2,
                                      hidden_size=32, intermediate_size=32, max_position_embeddings=128,
                                      vocab_size=512, rope_parameters={"rope_type": "yarn", "rope_theta": 500.0,
                                                                       "factor": 4.0,
                                                                       "original_max_position_embeddings": 32})
    model = iw.wrap(transformers.LlamaForCausalLM(config), causal_tokenizer)
    info = P.inspect(model)
    yarn = P.YaRN(16, factor=4, original_max_position=32, base=500.0)
    assert info.rope_type == "yarn" and info.parameters["factor"] == 4.0
    assert torch.allclose(info.inv_freq, yarn.inv_freq, rtol=1e-5)
    assert info.attention_scaling == pytest.approx(yarn.attention_scale)


def test_inspect_bad_input():
    with pytest.raises(TypeError, match="iw.load"):
        P.inspect(torch.nn.Linear(2, 2))


def _scaled_llama(rope_parameters):
    torch.manual_seed(0)
    base = tiny_hf_model("llama", attn_implementation="eager")
    config = base.config.to_dict()
    config["rope_parameters"] = rope_parameters
    other = transformers.LlamaForCausalLM(transformers.LlamaConfig(**config)).eval()
    other.load_state_dict(base.state_dict())
    return base, other


@pytest.mark.parametrize("method, params", [
    ("linear", {"rope_type": "linear", "rope_theta": 10000.0, "factor": 2.0}),
    ("yarn", {"rope_type": "yarn", "rope_theta": 10000.0, "factor": 2.0, "original_max_position_embeddings": 64}),
])
def test_rope_scaling_matches_transformers(method, params, causal_tokenizer):
    base, reference = _scaled_llama(params)
    model = iw.wrap(base, causal_tokenizer)
    ids = torch.randint(0, 400, (1, 100))
    before = base(input_ids=ids).logits
    with P.rope_scaling(model, method, 2.0):
        ours = base(input_ids=ids).logits
    assert torch.allclose(ours, reference(input_ids=ids).logits, atol=1e-4)
    assert torch.equal(base(input_ids=ids).logits, before)  # restored


def test_extrapolation_experiment(causal_tokenizer, tmp_path):
    torch.manual_seed(0)
    model = iw.wrap(tiny_hf_model("llama"), causal_tokenizer, name="tiny-llama-random")
    text = " ".join(["The quick brown fox jumps over the lazy dog. To be, or not to be."] * 20)
    r = P.extrapolation(model, text, lengths=[32, 64, 128])
    assert r.nll.shape == (4, 3) and torch.isfinite(r.nll).all() and r.factor == 2.0
    assert torch.isnan(r.nll_beyond[:, :2]).all() and torch.isfinite(r.nll_beyond[:, 2]).all()
    ids = torch.tensor(causal_tokenizer(text, add_special_tokens=False)["input_ids"])
    windows = ids[: (len(ids) // 64) * 64].view(-1, 64)
    with torch.no_grad():
        logits = model.hf(input_ids=windows).logits.double()
    ref = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), windows[:, 1:].reshape(-1))
    assert float(r.nll[0, 1]) == pytest.approx(float(ref), rel=1e-5)
    one = P.extrapolation(model, text, lengths=[32], methods=["none"], max_windows=1)
    assert int(one.n_windows[0]) == 1
    assert "perplexity" in r.table()
    back = P.Extrapolation.load(r.save(tmp_path / "ext"))
    assert torch.equal(back.nll, r.nll) and back.methods == r.methods
    with pytest.raises(ValueError, match="methods"):
        P.extrapolation(model, text, lengths=[32], methods=["dynamic"])
    with pytest.raises(ValueError, match="lengths"):
        P.extrapolation(model, text, lengths=[10_000])
    with pytest.raises(ValueError, match=">= 1"):
        P.extrapolation(model, text, lengths=[32], factor=0.5)


def test_extrapolation_needs_rope(causal_tokenizer):
    model = iw.wrap(tiny_hf_model("gpt2"), causal_tokenizer)
    with pytest.raises(ValueError, match="no rotary"):
        P.extrapolation(model, "some text " * 20, lengths=[8])
