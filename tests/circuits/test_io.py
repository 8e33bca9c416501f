import pytest
import torch

import interp_widgets as iw
from interp_widgets.circuits import Transcoder, TranscoderConfig, evaluate_transcoder, load_transcoder, save_transcoder
from interp_widgets.circuits.io import SHIPPED_DIR


SHIPPED_FVE_FLOOR = 0.8  # measured 0.887 (layer 3) to 0.932 (layer 0) on the text below


@pytest.mark.parametrize("cfg", [dict(activation="jumprelu"), dict(activation="topk", k=3, cross_layer=False),
                                 dict(activation="relu", model_name="some/model")])
def test_round_trip_is_identical(tmp_path, cfg):
    torch.manual_seed(0)
    tc = Transcoder(TranscoderConfig(n_layers=3, d_model=8, n_features=12, **cfg))
    with torch.no_grad():
        tc.b_dec.normal_()
    path = save_transcoder(tc, tmp_path / "tc")
    assert path == tmp_path / "tc" / "model.safetensors"
    for source in (tmp_path / "tc", path, str(path)):
        back = load_transcoder(source)
        assert back.config == tc.config
        assert back.state_dict().keys() == tc.state_dict().keys()
        for k, v in tc.state_dict().items():
            assert torch.equal(back.state_dict()[k], v), k


def test_shape_mismatch_names_both_shapes(tmp_path, causal_tokenizer):
    from tests.conftest import tiny_hf_model

    model = iw.wrap(tiny_hf_model("llama"), causal_tokenizer, name="tiny-random")
    tc = Transcoder(TranscoderConfig(n_layers=4, d_model=128, n_features=8, model_name="tiny-llama"))
    save_transcoder(tc, tmp_path)
    with pytest.raises(ValueError, match=r"n_layers=4, d_model=128.*n_layers=2, d_model=32.*trained for another"):
        load_transcoder(tmp_path, model)


def test_missing_or_foreign_files_say_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="save_transcoder.*shipped name.*train_transcoder"):
        load_transcoder(tmp_path / "nowhere")
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2)}, str(tmp_path / "model.safetensors"))
    with pytest.raises(ValueError, match="not a transcoder"):
        load_transcoder(tmp_path)


def test_shipped_clt_loads_and_reconstructs_held_out_text():
    model = iw.load("tiny-llama")
    tc = load_transcoder("tiny-llama", model)
    assert torch.equal(load_transcoder("tiny-llama-clt").W_enc, tc.W_enc)
    assert tc.config.cross_layer and tc.config.n_layers == 4 and tc.config.model_name == "tiny-llama"
    text = (SHIPPED_DIR / "heldout_sample.txt").read_text(encoding="utf-8")
    ev = evaluate_transcoder(model, tc, text, max_tokens=762)
    assert (ev.fve > SHIPPED_FVE_FLOOR).all(), ev.fve
    assert ((ev.l0 > 1) & (ev.l0 < 200)).all(), ev.l0
    assert ev.loss_original < ev.loss_replacement < ev.loss_zero_mlp
    size = sum(f.stat().st_size for f in (SHIPPED_DIR / "tiny-llama-clt").iterdir())
    assert size <= 10 * 1024 * 1024
