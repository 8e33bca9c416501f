"""A demo zoo of small models for the model map, built offline from what the package ships."""

from __future__ import annotations

import copy
import dataclasses

import torch

from ..model import Model, load
from .ngram import NGramModel
from .texts import TextSet, sample_text_set


@dataclasses.dataclass
class Zoo:
    """``models`` {label: iw Model or text scorer}, ``families`` {label: family},
    ``descriptions`` {label: what it is}, ``texts`` the text set to score, ``fit_texts`` what the
    n-gram models were fitted on (disjoint from ``texts``)."""

    models: dict
    families: dict
    descriptions: dict
    texts: TextSet
    fit_texts: TextSet

    def __len__(self) -> int:
        return len(self.models)

    def table(self) -> str:
        width = max(map(len, self.models))
        return "\n".join(f"{name:<{width}}  {self.families[name]:<12} {self.descriptions[name]}" for name in self.models)


def perturbed(model: Model, name: str, noise: float = 0.0, ablate_layer: int | None = None, seed: int = 0) -> Model:
    """A copy of ``model`` with Gaussian noise of ``noise`` × each weight tensor's standard deviation
    added (seeded), and/or block ``ablate_layer``'s attention and MLP outputs zeroed (its parameters
    set to 0, so the block passes the residual stream through). The original is unchanged."""
    hf = copy.deepcopy(model.hf)
    copy_ = Model(hf, model.tokenizer, name=name)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        if noise:
            for p in hf.parameters():
                if p.numel() > 1:
                    p.add_(noise * p.std() * torch.randn(p.shape, generator=gen, dtype=p.dtype))
        if ablate_layer is not None:
            if not 0 <= ablate_layer < copy_.cfg.n_layers:
                raise ValueError(f"ablate_layer must be in [0, {copy_.cfg.n_layers}), got {ablate_layer}")
            sites = copy_._registry.site_of
            for hook in ("hook_attn_out", "hook_mlp_out"):
                for p in sites[f"blocks.{ablate_layer}.{hook}"].module.parameters():
                    p.zero_()
    return copy_


def demo_zoo(fit_text: str | list[str] | None = None) -> Zoo:
    """14 small models with known relations, for :func:`loglik_matrix` and :func:`model_map`:

    * the shipped causal models ``tiny-llama`` and ``tiny-gpt2`` (``tiny-bert`` is a masked LM, to
      which the method does not apply);
    * per shipped model, three perturbed copies: weight noise of 5 % and 20 % of each tensor's
      standard deviation, and its layer 1 ablated (no training checkpoints are shipped);
    * per shipped tokenizer, three n-gram models: unigram (add-one), bigram (add-0.01) and trigram
      (interpolated, λ = 0.2/0.4/0.4), fitted on ``fit_text`` — by default the first third of the
      shipped Shakespeare sample (``sample_text_set("fit")``); pass the training corpus if you have
      it. The texts to score are ``sample_text_set("map")``, disjoint from the default fit text.
    """
    texts = sample_text_set("map")
    fit = sample_text_set("fit") if fit_text is None else TextSet(
        (fit_text,) if isinstance(fit_text, str) else tuple(fit_text), description="user fit text")
    models, families, desc = {}, {}, {}

    def add(name, model, family, what):
        models[name], families[name], desc[name] = model, family, what

    for base_name, family in (("tiny-llama", "llama"), ("tiny-gpt2", "gpt2")):
        base = load(base_name)
        add(base_name, base, family, "shipped model")
        for noise in (0.05, 0.2):
            name = f"{base_name}+noise{noise:g}"
            add(name, perturbed(base, name, noise=noise, seed=1), family,
                f"weights + N(0, ({noise:g}·std)²) per tensor")
        name = f"{base_name}-layer1"
        add(name, perturbed(base, name, ablate_layer=1), family, "block 1 attention and MLP zeroed")
        tok = base.tokenizer
        for model in (NGramModel(tok, 1, "add-k", k=1.0, name=f"unigram/{family}-tok"),
                      NGramModel(tok, 2, "add-k", k=0.01, name=f"bigram/{family}-tok"),
                      NGramModel(tok, 3, "interpolated", k=1.0, lambdas=(0.2, 0.4, 0.4), name=f"trigram/{family}-tok")):
            model.fit(list(fit))
            add(model.name, model, "n-gram", f"{model.order}-gram, {model.smoothing}, fitted on {len(fit)} texts "
                                               f"with the {base_name} tokenizer")
    return Zoo(models, families, desc, texts, fit)
