"""A synthetic genotype task with known ground truth (the HEMERA setting): sequences of genotypes
at ``n_loci`` loci (0, 1 or 2 copies of a risk allele), labelled 1 when the risk-allele count
over a few planted loci reaches a threshold. A classifier trained on it must rest its decision
on the planted loci only, so an attribution method can be scored by whether it finds them."""

from __future__ import annotations

import dataclasses

import torch
import transformers
from tokenizers import Tokenizer, models, pre_tokenizers, processors

from ..model import Model, wrap

SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
GENOTYPES = ("g0", "g1", "g2")  # copies of the risk allele


def genotype_tokenizer() -> transformers.PreTrainedTokenizerFast:
    """Word-level tokenizer over ``g0 g1 g2`` with BERT's special tokens (``[CLS] … [SEP]``)."""
    vocab = {t: i for i, t in enumerate(SPECIALS + GENOTYPES)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])])
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tok, cls_token="[CLS]", sep_token="[SEP]",
                                                pad_token="[PAD]", mask_token="[MASK]", unk_token="[UNK]")


@dataclasses.dataclass
class Genotypes:
    """``ids`` [n, n_loci + 2] token ids (``[CLS]``, one genotype per locus, ``[SEP]``; locus i
    at position i + 1), ``labels`` [n] (1 = risk), ``planted`` (the causal loci)."""

    ids: torch.Tensor
    labels: torch.Tensor
    planted: tuple[int, ...]


def synthetic_genotypes(n: int, n_loci: int = 12, planted: tuple[int, ...] = (2, 7, 10), threshold: int = 4,
                        seed: int = 0) -> Genotypes:
    """``n`` random genotype sequences; label 1 when the risk-allele count over ``planted`` is at
    least ``threshold``. Sequences whose count is exactly ``threshold - 1`` (the boundary) are
    dropped, so fewer than ``n`` may return."""
    if not planted or min(planted) < 0 or max(planted) >= n_loci:
        raise ValueError(f"planted loci must be a non-empty subset of 0..{n_loci - 1}, got {planted}")
    if not 1 <= threshold <= 2 * len(planted):
        raise ValueError(f"threshold must be in 1..{2 * len(planted)} (two risk alleles per planted locus), "
                         f"got {threshold}")
    g = torch.randint(0, 3, (n, n_loci), generator=torch.Generator().manual_seed(seed))
    risk = g[:, list(planted)].sum(1)
    keep = risk != threshold - 1
    g, risk = g[keep], risk[keep]
    cls, sep = SPECIALS.index("[CLS]"), SPECIALS.index("[SEP]")
    ids = torch.cat([torch.full((len(g), 1), cls), g + len(SPECIALS), torch.full((len(g), 1), sep)], 1)
    return Genotypes(ids, (risk >= threshold).long(), tuple(planted))


def train_genotype_classifier(n_loci: int = 12, planted: tuple[int, ...] = (2, 7, 10), steps: int = 80,
                              seed: int = 0) -> tuple[Model, float]:
    """A 2-layer BERT sequence classifier trained on :func:`synthetic_genotypes` (a few seconds on
    a CPU); returns the wrapped model and its accuracy on 600 held-out sequences."""
    torch.manual_seed(seed)
    config = transformers.BertConfig(vocab_size=len(SPECIALS) + len(GENOTYPES), hidden_size=32, num_hidden_layers=2,
                                     num_attention_heads=4, intermediate_size=64, max_position_embeddings=n_loci + 2,
                                     hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, num_labels=2)
    hf = transformers.BertForSequenceClassification(config)
    train = synthetic_genotypes(4000, n_loci, planted, seed=seed)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(hf.parameters(), lr=3e-3, weight_decay=0.0)
    hf.train()
    for _ in range(steps):
        batch = torch.randint(0, len(train.ids), (64,), generator=gen)
        loss = torch.nn.functional.cross_entropy(hf(input_ids=train.ids[batch]).logits, train.labels[batch])
        opt.zero_grad()
        loss.backward()
        opt.step()
    hf.eval()
    test = synthetic_genotypes(600, n_loci, planted, seed=seed + 1)
    with torch.no_grad():
        accuracy = float((hf(input_ids=test.ids).logits.argmax(-1) == test.labels).float().mean())
    return wrap(hf, genotype_tokenizer(), name="genotype-bert"), accuracy
