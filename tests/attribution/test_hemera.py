"""HEMERA-style ground truth: a small BERT classifier trained here on synthetic genotype sequences
whose label depends only on planted risk loci. Over held-out risk carriers, the loci ranked by mean
|relevance| must have the planted ones on top (top-k recall >= 0.9) for layer IG and AttnLRP, and
layer IG must also find them in every single carrier (mean per-sample top-k recall >= 0.9)."""

from __future__ import annotations

import pytest
import torch
import transformers
from tokenizers import Tokenizer, models, pre_tokenizers, processors

import interp_widgets as iw
from interp_widgets import attribution as A
from interp_widgets.attribution import Target

N_LOCI = 12
PLANTED = (2, 7, 10)  # risk loci (0-based locus index; token position = locus + 1 after [CLS])
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
GENOTYPES = ["g0", "g1", "g2"]  # copies of the risk allele


def _tokenizer():
    vocab = {t: i for i, t in enumerate(SPECIALS + GENOTYPES)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])])
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tok, cls_token="[CLS]", sep_token="[SEP]",
                                                pad_token="[PAD]", mask_token="[MASK]", unk_token="[UNK]")


def _data(n: int, generator: torch.Generator):
    """Genotypes [n, loci] in {0, 1, 2} and labels: risk-allele count over the planted loci >= 4;
    samples with a count of exactly 3 (the boundary) are left out."""
    g = torch.randint(0, 3, (n, N_LOCI), generator=generator)
    risk = g[:, list(PLANTED)].sum(1)
    keep = risk != 3
    g, risk = g[keep], risk[keep]
    ids = torch.cat([torch.full((len(g), 1), 2), g + len(SPECIALS), torch.full((len(g), 1), 3)], 1)
    return ids, (risk >= 4).long()


@pytest.fixture(scope="module")
def trained():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a model this small trains faster on one thread than on contended ones
    try:
        torch.manual_seed(0)
        config = transformers.BertConfig(vocab_size=len(SPECIALS) + 3, hidden_size=32, num_hidden_layers=2,
                                         num_attention_heads=4, intermediate_size=64,
                                         max_position_embeddings=N_LOCI + 2, hidden_dropout_prob=0.0,
                                         attention_probs_dropout_prob=0.0, num_labels=2)
        hf = transformers.BertForSequenceClassification(config)
        gen = torch.Generator().manual_seed(0)
        ids, labels = _data(4000, gen)
        opt = torch.optim.AdamW(hf.parameters(), lr=3e-3, weight_decay=0.0)
        hf.train()
        for _ in range(80):
            batch = torch.randint(0, len(ids), (64,), generator=gen)
            loss = torch.nn.functional.cross_entropy(hf(input_ids=ids[batch]).logits, labels[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
        hf.eval()
        test_ids, test_labels = _data(600, torch.Generator().manual_seed(1))
        with torch.no_grad():
            accuracy = float((hf(input_ids=test_ids).logits.argmax(-1) == test_labels).float().mean())
        yield iw.wrap(hf, _tokenizer(), name="hemera-bert"), test_ids, test_labels, accuracy
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
