"""HEMERA-style ground truth: a small BERT classifier trained here on synthetic genotype sequences
whose label depends only on planted risk loci. Over held-out risk carriers, the loci ranked by mean
|relevance| must have the planted ones on top (top-k recall >= 0.9) for layer IG and AttnLRP, and
layer IG must also find them in every single carrier (mean per-sample top-k recall >= 0.9)."""

from __future__ import annotations

import pytest
import torch

from interp_widgets import attribution as A
from interp_widgets.attribution import Target
from interp_widgets.attribution import synthetic_genotypes, train_genotype_classifier
from interp_widgets.attribution.genotypes import SPECIALS

PLANTED = (2, 7, 10)  # risk loci (0-based locus index; token position = locus + 1 after [CLS])


def test_synthetic_genotypes_follow_the_rule():
    data = synthetic_genotypes(500, n_loci=12, planted=PLANTED, threshold=4, seed=3)
    genotypes = data.ids[:, 1:-1] - len(SPECIALS)
    risk = genotypes[:, list(PLANTED)].sum(1)
    assert genotypes.min() >= 0 and genotypes.max() <= 2
    assert torch.equal(data.labels, (risk >= 4).long()) and not (risk == 3).any()
    assert 0 < len(data.ids) < 500 and data.labels.float().mean().item() > 0.1
    with pytest.raises(ValueError, match="planted loci"):
        synthetic_genotypes(10, n_loci=5, planted=(7,))
    with pytest.raises(ValueError, match="threshold"):
        synthetic_genotypes(10, planted=(1,), threshold=3)


@pytest.fixture(scope="module")
def trained():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a model this small trains faster on one thread than on contended ones
    try:
        model, accuracy = train_genotype_classifier(n_loci=12, planted=PLANTED)
        test = synthetic_genotypes(600, n_loci=12, planted=PLANTED, seed=1)
        yield model, test.ids, test.labels, accuracy
    finally:
        torch.set_num_threads(threads)


def _recall(relevance: torch.Tensor) -> float:
    """Share of the planted loci among the k loci of largest ``relevance`` [loci] (k = number planted)."""
    top = set(torch.topk(relevance, len(PLANTED)).indices.tolist())
    return len(top & set(PLANTED)) / len(PLANTED)


@pytest.mark.parametrize("method", ["layer_integrated_gradients", "attnlrp"])
def test_planted_loci_are_recovered(trained, method):
    model, ids, labels, accuracy = trained
    assert accuracy >= 0.97  # the classifier learned the rule: otherwise there is nothing to recover
    carriers = ids[labels == 1][:20]
    per_locus = []
    for row in carriers:
        if method == "attnlrp":
            res = A.attnlrp(model, row, Target.class_score(1))
        else:
            res = A.layer_integrated_gradients(model, row, Target.class_score(1), baseline="pad", steps=16)
        assert res.tokens[0] == "[CLS]" and res.tokens[-1] == "[SEP]"
        per_locus.append(res.input_scores[1:-1].abs())  # [loci]: drop [CLS] and [SEP]
    per_locus = torch.stack(per_locus)
    assert _recall(per_locus.mean(0)) >= 0.9
    if method == "layer_integrated_gradients":
        recalls = [_recall(r) for r in per_locus]
        assert sum(recalls) / len(recalls) >= 0.9, recalls
