"""AttnLRP and CP-LRP against LXT 2.1 (the authors' library) on the shipped GPT-2 and Llama
models: same weights, same token ids, same explained value; LXT runs in the peer environment.

Compared: the logits (both sides ran the same model), the word-embedding relevance of every
token and the relevance of the residual stream entering block 0 and leaving every block.

One rule differs by design: LXT's CP-LRP holds the gate of a gated MLP constant (all relevance
through the up projection), while ``iw.attribution.cp_lrp`` keeps AttnLRP's uniform rule there
(half to each factor) and holds only the attention pattern constant. On tiny-llama the stock
LXT CP-LRP therefore differs from ours (input-relevance correlation ~0.998, max |diff| ~0.2-0.4
against relevances of ~4); the Llama CP-LRP case below runs LXT's CP-LRP patches with LXT's own
AttnLRP gated-MLP patch in place of its CP one, which isolates everything else.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import interp_widgets as iw
from interp_widgets import attribution as A
from interp_widgets.attribution import Target

from .peer import ROOT, run_peer

SHIPPED = ROOT / "interp_widgets" / "shipped"
TEXTS = ["The king said to the queen that", "Once upon a time there was a"]
CASES = [  # (text, target: None = top prediction, position, contrast)
    (0, None, -1, None),
    (1, 300, 3, None),
    (0, None, -1, "mean"),
]
RUNS = [("tiny-llama", "attnlrp"), ("tiny-gpt2", "attnlrp"), ("tiny-gpt2", "cp_lrp"),
        ("tiny-llama", "cp_lrp")]


@pytest.fixture(scope="module", params=RUNS, ids=lambda r: "-".join(r))
def compared(request, tmp_path_factory):
    """(ours [LayerAttribution per case], LXT's .npz) for one model and variant."""
    name, variant = request.param
    torch.set_num_threads(1)
    model = iw.load(name)
    cases, ours = [], []
    for text, target, pos, contrast in CASES:
        ids = model.to_tokens(TEXTS[text])[0]
        if target is None:
            with torch.no_grad():
                target = int(model.run(ids, names=[]).logits[0, pos].argmax())
        cases.append({"ids": ids.tolist(), "target": target, "pos": pos % len(ids), "contrast": contrast})
        ours.append(getattr(A, variant)(model, ids, Target.logit(target, pos=pos), contrast=contrast))
    job = {"model": str(SHIPPED / name), "variant": variant, "cases": cases,
           "uniform_gate": name == "tiny-llama" and variant == "cp_lrp"}
    theirs = run_peer("lxt_relevance.py", job, tmp_path_factory.mktemp(f"lxt-{name}-{variant}"))
    with torch.no_grad():
        logits = [model.run(torch.tensor(c["ids"]), names=[]).logits[0].numpy() for c in cases]
    return ours, theirs, logits


@pytest.mark.parametrize("case", range(len(CASES)))
def test_same_model_and_value(compared, case):
    ours, theirs, logits = compared
    assert np.abs(logits[case] - theirs[f"logits_{case}"]).max() <= 1e-4
    assert ours[case].target_value == pytest.approx(float(theirs[f"value_{case}"]), abs=1e-4)


@pytest.mark.parametrize("case", range(len(CASES)))
def test_input_relevance_matches_lxt(compared, case):
    ours, theirs, _ = compared
    mine, ref = ours[case].input_scores.double().numpy(), theirs[f"input_{case}"]
    assert np.corrcoef(mine, ref)[0, 1] >= 0.99
    assert np.abs(mine - ref).max() <= 1e-5 * np.abs(ref).max()


@pytest.mark.parametrize("case", range(len(CASES)))
def test_layer_relevance_matches_lxt(compared, case):
    """Rows: the stream entering block 0, then after each block (HF's hidden-state points)."""
    ours, theirs, _ = compared
    mine, ref = ours[case].scores[1:].double().numpy(), theirs[f"hidden_{case}"]
    assert mine.shape == ref.shape
    assert np.abs(mine - ref).max() <= 1e-5 * np.abs(ref).max()
