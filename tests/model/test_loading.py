"""Loading from local folders goes through the same code as hub names."""

from __future__ import annotations

import pytest
import torch

import interp_widgets as iw
from conftest import tiny_hf_model


@pytest.mark.parametrize("kind", ["gpt2", "llama", "bert"])
def test_load_local_folder_equals_wrapped(kind, tmp_path, causal_tokenizer, encoder_tokenizer):
    tokenizer = encoder_tokenizer if kind == "bert" else causal_tokenizer
    hf = tiny_hf_model(kind)
    hf.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    loaded = iw.load(tmp_path)
    wrapped = iw.wrap(hf, tokenizer)
    assert type(loaded.hf) is type(hf)
    torch.testing.assert_close(loaded("The quick brown fox"), wrapped("The quick brown fox"))


def test_load_with_dtype(tmp_path, causal_tokenizer):
    hf = tiny_hf_model("llama")
    hf.save_pretrained(tmp_path)
    causal_tokenizer.save_pretrained(tmp_path)
    m = iw.load(tmp_path, dtype=torch.bfloat16)
    tr = m.run("The quick brown fox", names=["blocks.0.attn.hook_pattern"])
    assert m.W_E.dtype == torch.bfloat16
    assert tr["blocks.0.attn.hook_pattern"].dtype == torch.bfloat16
    assert torch.isfinite(tr.logits).all()


def test_load_with_device_map(tmp_path, causal_tokenizer):
    hf = tiny_hf_model("gpt2")
    hf.save_pretrained(tmp_path)
    causal_tokenizer.save_pretrained(tmp_path)
    m = iw.load(tmp_path, device_map="auto")  # placement through accelerate
    reference = iw.wrap(hf, causal_tokenizer)
    tr = m.run("The quick brown fox", names="blocks.*.attn.hook_pattern")
    torch.testing.assert_close(tr.logits, reference("The quick brown fox"))


def test_catalog_lists_every_mission_method_with_computed_status():
    rows = iw.catalog()
    assert len(rows) >= 30
    def exists(entry_point):
        obj = iw
        for part in entry_point.split("."):
            obj = getattr(obj, part, None)
        return obj is not None

    for r in rows:  # status follows which entry points really exist
        found = [exists(e) for e in r["entry_points"]]
        expected = "implemented" if all(found) else "partial" if any(found) else "not implemented"
        assert r["status"] == expected, r
    from interp_widgets.catalog import Method, _status

    assert _status(Method("some", (1,), ("hidden.logit_lens", "hidden.no_such_method"))) == "partial"
    assert _status(Method("none", (1,), ("no_such_module.method",))) == "not implemented"
    assert all(r["status"] in ("implemented", "partial", "not implemented") for r in rows)
    assert all(set(r["levels"]) <= {1, 2, 3, 4, 5} for r in rows)
    assert all(3 in r["levels"] for r in iw.catalog(level=3))
    with pytest.raises(ValueError, match="level must be one of"):
        iw.catalog(level=7)
    assert "implemented" in repr(rows)
