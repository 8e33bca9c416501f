"""One adapter per architecture family; adding a family = one module here + its test fixture."""

from __future__ import annotations

from .base import Adapter, BlockParts, ModelConfig
from .bert import BertAdapter
from .gpt2 import GPT2Adapter
from .gpt_neox import GPTNeoXAdapter
from .llama import LlamaAdapter

ADAPTERS: tuple[type[Adapter], ...] = (GPT2Adapter, GPTNeoXAdapter, LlamaAdapter, BertAdapter)


def supported_model_types() -> list[str]:
    return [t for a in ADAPTERS for t in a.model_types]


def adapter_class(model_type: str | None) -> type[Adapter]:
    """The adapter class for a ``config.model_type``, or a clear error naming the supported ones."""
    for cls in ADAPTERS:
        if model_type in cls.model_types:
            return cls
    families = ", ".join(f"{a.family} ({'/'.join(a.model_types)})" for a in ADAPTERS)
    raise NotImplementedError(
        f"architecture {model_type!r} is not supported yet. Supported families: {families}. "
        "To add one, write an adapter in interp_widgets/model/adapters/ (a subclass of Adapter "
        "mapping the native modules to BlockParts) and register it in ADAPTERS."
    )


def adapter_for(hf_model) -> Adapter:
    """The adapter instance for a loaded Hugging Face model."""
    return adapter_class(getattr(hf_model.config, "model_type", None))(hf_model)


__all__ = ["ADAPTERS", "Adapter", "BlockParts", "ModelConfig", "adapter_class", "adapter_for", "supported_model_types"]
