"""The README's main job: a headless, self-contained HTML report on the shipped models."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import torch
import transformers

import interp_widgets as iw
from interp_widgets.model.loading import SHIPPED, SHIPPED_DIR


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_loads_through_the_same_path_as_plain_transformers(name):
    m = iw.load(name)
    folder = SHIPPED_DIR / name
    auto = transformers.AutoModelForMaskedLM if name == "tiny-bert" else transformers.AutoModelForCausalLM
    plain = auto.from_pretrained(folder).eval()
    text = "Shall I compare thee to a summer's day?"
    with torch.no_grad():
        expected = plain(**transformers.AutoTokenizer.from_pretrained(folder)(text, return_tensors="pt")).logits
    torch.testing.assert_close(m(text), expected, atol=1e-5, rtol=0)


def test_report_command_writes_one_offline_page(tmp_path):
    out = tmp_path / "report.html"
    done = subprocess.run([sys.executable, "-m", "interp_widgets", "report", "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    page = out.read_text(encoding="utf-8")
    for name in iw.shipped_models():
        assert f"<h2>{name}</h2>" in page
    assert page.count("data:image/png;base64,") >= len(SHIPPED)
    assert not re.search(r"""(src|href)=["']?https?://""", page)  # nothing loads from the network
