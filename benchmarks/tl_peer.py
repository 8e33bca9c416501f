"""TransformerLens as an optional peer: ``run_with_cache`` on same-shaped models, built offline.

Two TransformerLens entry points are measured when importable:

- ``HookedTransformer`` built from a ``HookedTransformerConfig`` of the same shape (random
  init, its own implementation). TransformerLens 4.0 removed it; 3.x still has it.
- ``TransformerBridge.boot_transformers(name, hf_model=...)``: TransformerLens's wrapper around
  a Hugging Face model (3.x and 4.x), given a copy of the very model the other contenders run.

Every function raises :class:`Unavailable` with a reason instead of failing, so the runner
prints "skipped: <reason>" when TransformerLens is missing or an entry point is gone.
"""

from __future__ import annotations

import copy
import importlib.metadata
import logging
import tempfile
import warnings
from collections.abc import Callable

import torch
import transformers


_TOKENIZER_FOLDERS: dict[int, tempfile.TemporaryDirectory] = {}  # removed at exit


class Unavailable(Exception):
    """A peer that cannot run here; the message is the reason shown in the table."""


def version() -> str | None:
    try:
        return importlib.metadata.version("transformer-lens")
    except importlib.metadata.PackageNotFoundError:
        return None


def _import():
    try:
        import transformer_lens
    except Exception as exc:  # any import failure means: peer not available
        raise Unavailable(f"transformer_lens not importable ({type(exc).__name__}); run with the "
                          "venv described in benchmarks/README.md") from None
    logging.getLogger("transformers").setLevel(logging.ERROR)
    return transformer_lens


def hooked_transformer(cfg, *, attn_result: bool, seed: int = 0) -> Callable[[torch.Tensor], object]:
    """``HookedTransformer`` of the shape of ``cfg`` (an interp_widgets ``ModelConfig``);
    ``attn_result`` turns on the per-head ``hook_result`` (``use_attn_result``)."""
    tl = _import()
    try:
        hooked, hooked_config = tl.HookedTransformer, tl.HookedTransformerConfig
    except (ImportError, AttributeError):
        raise Unavailable(f"HookedTransformer was removed in TransformerLens 4.0 (installed "
                          f"{version()}); TransformerLens 3.x still has it") from None
    kw = dict(n_layers=cfg.n_layers, d_model=cfg.d_model, n_heads=cfg.n_heads, d_head=cfg.d_head,
              d_mlp=cfg.d_mlp, d_vocab=cfg.d_vocab, n_ctx=cfg.n_ctx, act_fn=cfg.act_fn,
              normalization_type="RMS" if cfg.normalization == "rmsnorm" else "LN",
              use_attn_result=attn_result, seed=seed, device="cpu")
    if cfg.positional == "rotary":
        kw.update(positional_embedding_type="rotary", rotary_dim=cfg.rotary_dim,
                  rotary_base=cfg.rope_theta, final_rms=True)
    if cfg.gated_mlp:
        kw["gated_mlp"] = True
    if cfg.n_kv_heads != cfg.n_heads:
        kw["n_key_value_heads"] = cfg.n_kv_heads
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = hooked(hooked_config(**kw)).eval()

    def run(ids: torch.Tensor):
        with torch.no_grad():
            return model.run_with_cache(ids)
    return run


def bridge(hf_model, tokenizer) -> Callable[[torch.Tensor], object]:
    """``TransformerBridge`` around a deep copy of ``hf_model`` (the bridge switches its model
    to eager attention and wraps its modules, so the original is left alone)."""
    _import()
    try:
        from transformer_lens.model_bridge import TransformerBridge
    except ImportError:
        raise Unavailable(f"TransformerBridge not in TransformerLens {version()} (added in 3.0)") from None
    # TL 3.x reloads the tokenizer from its ``name_or_path``: give it a folder that outlives boot
    folder = _TOKENIZER_FOLDERS.setdefault(id(tokenizer), tempfile.TemporaryDirectory()).name
    tokenizer.save_pretrained(folder)
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model = TransformerBridge.boot_transformers(
                f"local-{hf_model.config.model_type}", hf_model=copy.deepcopy(hf_model),
                tokenizer=tokenizer, device="cpu")
        except Exception as exc:
            raise Unavailable(f"TransformerBridge could not wrap the model offline "
                              f"({type(exc).__name__}: {str(exc)[:80]})") from None

    def run(ids: torch.Tensor):
        with torch.no_grad():
            return model.run_with_cache(ids)
    return run
