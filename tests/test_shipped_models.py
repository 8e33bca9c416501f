"""Semantic tests for the small models shipped in ``interp_widgets/shipped``.

They use plain ``transformers`` (no interp_widgets code), offline, and check that
the models load as a user would load them and that they really learned:

* held-out perplexity far below the best unigram model of the same text (for the
  masked LM: on [MASK] positions),
* greedy generations made of real words.

The held-out text is ``interp_widgets/shipped/heldout_sample.txt``, taken from a
work that neither the tokenizers nor the models saw during training (see
``scripts/train_tiny_models.py``).
"""
from __future__ import annotations

import math
import os
import re
from collections import Counter
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402
import torch  # noqa: E402

transformers = pytest.importorskip("transformers")
from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForMaskedLM, AutoTokenizer  # noqa: E402

SHIPPED = Path(__file__).resolve().parent.parent / "interp_widgets" / "shipped"
CAUSAL = ["tiny-llama", "tiny-gpt2"]
ALL = CAUSAL + ["tiny-bert"]
ARCH = {"tiny-llama": "LlamaForCausalLM", "tiny-gpt2": "GPT2LMHeadModel", "tiny-bert": "BertForMaskedLM"}
MAX_BYTES = 10 * 1024 * 1024


def _load(name):
    folder = SHIPPED / name
    tok = AutoTokenizer.from_pretrained(folder)
    auto = AutoModelForMaskedLM if name == "tiny-bert" else AutoModelForCausalLM
    # eager attention so that output_attentions returns the attention weights
    model = auto.from_pretrained(folder, attn_implementation="eager")
    model.eval()
    return tok, model


_CACHE: dict = {}


@pytest.fixture(scope="module")
def loaded():
    torch.manual_seed(0)

    def get(name):
        if name not in _CACHE:
            _CACHE[name] = _load(name)
        return _CACHE[name]

    return get


@pytest.fixture(scope="module")
def heldout_text():
    return (SHIPPED / "heldout_sample.txt").read_text(encoding="utf-8")


# ---------------------------------------------------------------------------
# Files, size, loading
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ALL)
def test_folder_files_and_size(name):
    folder = SHIPPED / name
    required = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "README.md"]
    if name in CAUSAL:
        required.append("generation_config.json")
    for f in required:
        assert (folder / f).is_file(), f"{name}: missing {f}"
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert size <= MAX_BYTES, f"{name}: {size} bytes"
    assert not list(folder.glob("*.py")), "no code in model folders"
    card = (folder / "README.md").read_text(encoding="utf-8")
    for needle in ("public domain", "Project Gutenberg", "held-out", "perplexity", "python scripts/train_tiny_models.py"):
        assert needle.lower() in card.lower(), f"{name} card lacks {needle!r}"


@pytest.mark.parametrize("name", ALL)
def test_loads_offline_with_plain_transformers(name, loaded):
    cfg = AutoConfig.from_pretrained(SHIPPED / name)
    assert cfg.architectures == [ARCH[name]]
    assert cfg.vocab_size == 4096 or 3500 <= cfg.vocab_size <= 5000
    tok, model = loaded(name)
    assert type(model).__name__ == ARCH[name]
    assert len(tok) == cfg.vocab_size
    n_pos = getattr(cfg, "max_position_embeddings", None) or cfg.n_positions
    assert n_pos == 512
    # the tied embeddings really are shared
    assert model.get_input_embeddings().weight.data_ptr() == model.get_output_embeddings().weight.data_ptr()
    # a full-length input runs and gives finite logits
    ids = torch.randint(10, cfg.vocab_size, (1, 512), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        logits = model(ids).logits
    assert logits.shape == (1, 512, cfg.vocab_size)
    assert torch.isfinite(logits).all()


def test_llama_architecture_and_tokenizer(loaded):
    tok, model = loaded("tiny-llama")
    cfg = model.config
    assert cfg.num_hidden_layers >= 4
    assert cfg.num_key_value_heads < cfg.num_attention_heads  # grouped-query attention
    assert cfg.hidden_act == "silu" and cfg.tie_word_embeddings
    theta = (cfg.rope_parameters or {}).get("rope_theta", getattr(cfg, "rope_theta", None))
    assert theta == 10000
    assert (tok.bos_token, tok.eos_token, tok.pad_token, tok.unk_token) == ("<s>", "</s>", "<pad>", "<unk>")
    enc = tok("To be, or not to be")["input_ids"]
    assert enc[0] == tok.bos_token_id
    assert tok.convert_ids_to_tokens(enc[1]).startswith("▁")
    # byte fallback: any Unicode text is encodable without <unk> and round-trips
    for text in ["吾輩は猫である。名前はまだ無い。", "naïve café 🙂"]:
        ids = tok(text, add_special_tokens=False)["input_ids"]
        assert tok.unk_token_id not in ids
        assert tok.decode(ids) == text
    ja = tok.convert_ids_to_tokens(tok("猫", add_special_tokens=False)["input_ids"])
    assert any(re.fullmatch(r"<0x[0-9A-F]{2}>", t) for t in ja), ja


def test_gpt2_architecture_and_tokenizer(loaded):
    tok, model = loaded("tiny-gpt2")
    assert model.config.n_layer >= 4
    assert tok.bos_token == tok.eos_token == "<|endoftext|>"
    assert tok.pad_token_id is not None
    toks = tok.tokenize("To be, or not to be")
    assert any(t.startswith("Ġ") for t in toks)
    text = "吾輩は猫である — naïve café"
    assert tok.decode(tok(text)["input_ids"]) == text  # byte-level: lossless


def test_bert_architecture_and_tokenizer(loaded):
    tok, model = loaded("tiny-bert")
    assert model.config.type_vocab_size == 2 and model.config.num_hidden_layers >= 4
    for attr, val in [("cls_token", "[CLS]"), ("sep_token", "[SEP]"), ("mask_token", "[MASK]"),
                      ("pad_token", "[PAD]"), ("unk_token", "[UNK]")]:
        assert getattr(tok, attr) == val
    ids = tok("To BE, or not")["input_ids"]
    assert ids[0] == tok.cls_token_id and ids[-1] == tok.sep_token_id
    assert tok.tokenize("To BE") == tok.tokenize("to be")  # uncased


# ---------------------------------------------------------------------------
# Held-out perplexity vs unigram
# ---------------------------------------------------------------------------

def _windows(ids, n):
    return [ids[i:i + n] for i in range(0, len(ids), n) if len(ids[i:i + n]) >= 8]


@pytest.mark.parametrize("name", CAUSAL)
def test_heldout_perplexity_far_below_unigram(name, loaded, heldout_text):
    """Model perplexity on the held-out sample < 1/2 of the unigram perplexity.

    Unigram baseline, formulated so that it needs nothing but the shipped sample
    and is as strong as a unigram model can be: the maximum-likelihood unigram
    distribution *of the evaluated text itself* (token frequencies counted on the
    very targets being scored).  No unigram model -- whatever corpus it is
    estimated on -- reaches a lower perplexity on this text, so beating it by 2x
    is a conservative test (measured: tiny-llama 229 vs 532, tiny-gpt2 107 vs
    251; against the model card's baseline, add-one unigram estimated on the
    training tokens, the models are 5-8x below).  Both are scored on exactly the same
    target tokens: every token of the sample, in 256-token windows (tiny-llama:
    each window starts with <s>, so its first text token is scored too; tiny-gpt2:
    the first token of each window has no context and is not scored).
    """
    tok, model = loaded(name)
    ids = tok(heldout_text, add_special_tokens=False)["input_ids"]
    assert len(ids) > 1000
    bos = tok.bos_token_id if name == "tiny-llama" else None
    nll, targets = 0.0, []
    with torch.no_grad():
        for w in _windows(ids, 255 if bos is not None else 256):
            x = torch.tensor([([bos] if bos is not None else []) + w])
            lp = torch.log_softmax(model(x).logits[0, :-1].double(), -1)
            t = x[0, 1:]
            nll += -lp.gather(-1, t[:, None]).sum().item()
            targets += t.tolist()
    ppl = math.exp(nll / len(targets))
    counts = Counter(targets)
    n = len(targets)
    uni_ppl = math.exp(-sum(c * math.log(c / n) for c in counts.values()) / n)
    print(f"{name}: held-out ppl {ppl:.1f}, in-sample ML unigram ppl {uni_ppl:.1f}, tokens {n}")
    assert ppl < uni_ppl / 2, (ppl, uni_ppl)


def test_bert_fills_masks_far_better_than_unigram(loaded, heldout_text):
    """Every token of the held-out sample replaced by [MASK] once (one in 7 per pass, in
    126-token windows): perplexity < 1/2 and accuracy > 2x those of the in-sample
    maximum-likelihood unigram model (the best any unigram model can do on this text).
    Measured: perplexity 63 vs 249, accuracy 0.27 vs 0.06."""
    tok, model = loaded("tiny-bert")
    ids = tok(heldout_text, add_special_tokens=False)["input_ids"]
    nll, hits, targets = 0.0, 0, []
    with torch.no_grad():
        for w in _windows(ids, 126):
            x = torch.tensor([tok.cls_token_id, *w, tok.sep_token_id])
            for r in range(7):
                pos = torch.arange(1, len(w) + 1)[torch.arange(len(w)) % 7 == r]
                masked = x.clone()
                masked[pos] = tok.mask_token_id
                lp = torch.log_softmax(model(masked[None]).logits[0, pos].double(), -1)
                nll += -lp.gather(-1, x[pos, None]).sum().item()
                hits += (lp.argmax(-1) == x[pos]).sum().item()
                targets += x[pos].tolist()
    n = len(targets)
    ppl, accuracy = math.exp(nll / n), hits / n
    counts = Counter(targets)
    uni_ppl = math.exp(-sum(c * math.log(c / n) for c in counts.values()) / n)
    uni_accuracy = max(counts.values()) / n
    print(f"tiny-bert: [MASK] ppl {ppl:.1f} vs unigram {uni_ppl:.1f}, accuracy {accuracy:.3f} vs "
          f"{uni_accuracy:.3f}, tokens {n}")
    assert ppl < uni_ppl / 2 and accuracy > 2 * uni_accuracy, (ppl, uni_ppl, accuracy, uni_accuracy)


# ---------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------

def _lexicon(heldout_text):
    """English words: whole-word entries of tiny-bert's WordPiece vocabulary plus
    the words of the held-out sample (an independent word list)."""
    vocab = (SHIPPED / "tiny-bert" / "tokenizer.json")
    import json
    wp = json.loads(vocab.read_text(encoding="utf-8"))["model"]["vocab"]
    words = {w for w in wp if w.isalpha()}
    words |= set(re.findall(r"[a-z]+", heldout_text.lower()))
    return words


@pytest.mark.parametrize("name", CAUSAL)
def test_greedy_generation_is_mostly_real_words(name, loaded, heldout_text):
    tok, model = loaded(name)
    lex = _lexicon(heldout_text)
    total, known, distinct = 0, 0, set()
    for prompt in ["My lord, I", "The king is", "O, what a"]:
        enc = tok(prompt, return_tensors="pt")
        with torch.no_grad():
            out = model.generate(**enc, max_new_tokens=30, do_sample=False, pad_token_id=tok.pad_token_id)
        text = tok.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True)
        words = re.findall(r"[a-z]+", text.lower())
        total += len(words)
        known += sum(w in lex for w in words)
        distinct |= set(words)
        print(f"{name}: {prompt!r} -> {text!r}")
    assert total >= 20
    assert known / total >= 0.8, (known, total)
    assert len(distinct) >= 8



# ---------------------------------------------------------------------------
# Induction
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", CAUSAL)
def test_copies_repeated_random_tokens_through_an_induction_head(name, loaded):
    """Induction (Olsson et al. 2022): 16 sequences of 50 uniformly random tokens, each repeated
    once (after <s> for tiny-llama; a seed the training script's evaluation does not use).

    * the loss on the repeat is below 1/4 of the loss on the first occurrence (measured: tiny-llama
      0.05, tiny-gpt2 0.015),
    * one head attends, on average, more than half of its weight from each repeated token to
      the token after its earlier occurrence (measured: 0.96 and 0.97, both layer 2 head 0).
    """
    tok, model = loaded(name)
    n, period = 16, 50
    g = torch.Generator().manual_seed(2024)
    first = max(tok.all_special_ids) + 1  # no special tokens among the random ones
    r = torch.randint(first, model.config.vocab_size, (n, period), generator=g)
    bos = [torch.full((n, 1), tok.bos_token_id)] if name == "tiny-llama" else []
    x = torch.cat([*bos, r, r], 1)
    off = len(bos)  # position of the first random token
    with torch.no_grad():
        out = model(x, output_attentions=True)
    nll = -torch.log_softmax(out.logits[:, :-1].double(), -1).gather(-1, x[:, 1:, None])[..., 0]  # token j + 1
    loss_first = nll[:, off:off + period - 1].mean().item()  # the first occurrence after its first token
    loss_repeat = nll[:, off + period:off + 2 * period - 1].mean().item()  # the repeat after its first token
    q = torch.arange(off + period, off + 2 * period)  # repeated tokens
    scores = torch.stack([a[:, :, q, q - period + 1].mean(dim=(0, 2)) for a in out.attentions])  # [layer, head]
    print(f"{name}: loss first {loss_first:.2f}, repeat {loss_repeat:.2f}; induction scores\n{scores}")
    assert loss_repeat < loss_first / 4, (loss_first, loss_repeat)
    assert scores.max() > 0.5, scores
