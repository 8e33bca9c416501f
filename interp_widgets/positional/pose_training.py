"""PoSE fine-tuning of a RoPE language model (Zhu et al., arXiv 2309.10400, Sec. 3.2; levels 1
and 3): a copy of the model is trained on windows of L_c tokens whose position ids come from
:class:`~interp_widgets.positional.PoSE`, so relative distances up to the target L_t are seen
without ever running L_t tokens. Optionally combined, as in the paper, with linear, NTK or YaRN
interpolation at scale s = L_t / L_c, written into the copy's config (the copy stays a
self-consistent Hugging Face model with ``max_position_embeddings = L_t``)."""

from __future__ import annotations

import copy
import dataclasses
import math
from pathlib import Path

import torch

from ..analysis.result import Result
from ..model import Model
from .pose import PoSE
from .rotary import _check_factor

SCALINGS = (None, "linear", "ntk", "yarn")
TRAIN_SAMPLE = Path(__file__).resolve().parent / "data" / "train_sample.txt"


@dataclasses.dataclass(repr=False)
class PoseFinetune(Result):
    """The fine-tuning run: ``loss`` [steps] mean next-token loss of each batch, ``lr`` [steps];
    ``train_length`` L_c (tokens per window), ``target_length`` L_t (position ids < L_t),
    ``scaling`` ("none", "linear", "ntk", "yarn") and ``factor`` s used in and after training."""

    levels = (1, 3)
    model: str
    loss: torch.Tensor
    lr: torch.Tensor
    train_length: int
    target_length: int
    scaling: str
    factor: float
    n_chunks: int
    batch_size: int
    seed: int
    n_text_tokens: int

    def figure(self, **kw):
        import matplotlib.pyplot as plt

        from ..figures import paper_style

        with paper_style():
            fig, ax = plt.subplots(figsize=(kw.get("width", 3.4), 2.4))
            ax.plot(torch.arange(1, len(self.loss) + 1).numpy(), self.loss.numpy(), lw=1)
            ax.set_xlabel("step")
            ax.set_ylabel("training loss (nats/token)")
            ax.set_title(f"PoSE {self.train_length} → {self.target_length}, scaling {self.scaling}")
            fig.tight_layout()
        return fig


def extended_copy(model: Model, target_length: int, scaling: str | None = None, factor: float = 1.0) -> Model:
    """A new Hugging Face model with ``model``'s weights whose config allows ``target_length``
    positions and whose rotary embedding uses ``scaling`` at ``factor`` (NTK as the enlarged base
    θ·s^(r/(r−2)) of a default RoPE). ``model`` is left untouched."""
    rot = model.rotary
    if rot is None or not model.cfg.causal or model.W_U is None:
        raise ValueError(f"{model.name} ({model.cfg.family}) is not a causal RoPE language model; PoSE "
                         "fine-tuning needs one (Llama-family or GPT-NeoX, loaded with iw.load)")
    if rot["rope_type"] != "default":
        raise ValueError(f"{model.name} already uses {rot['rope_type']!r} RoPE; PoSE starts from default RoPE")
    if scaling not in SCALINGS:
        raise ValueError(f"scaling must be one of {SCALINGS}, got {scaling!r}")
    factor = _check_factor(factor)
    config = copy.deepcopy(model.hf.config)
    params = dict(rot["parameters"]) or {"rope_type": "default", "rope_theta": rot["theta"]}
    r, theta = int(rot["rotary_dim"]), float(rot["theta"])
    if scaling == "ntk":
        params["rope_theta"] = theta * factor ** (r / (r - 2))
    elif scaling is not None:
        params.update(rope_type=scaling, factor=factor)
        if scaling == "yarn":
            params["original_max_position_embeddings"] = model.cfg.n_ctx
    config.rope_parameters = params
    config.max_position_embeddings = max(target_length, model.cfg.n_ctx)
    hf = type(model.hf)(config)
    hf.load_state_dict(model.hf.state_dict())
    hf.to(device=model.adapter.device, dtype=next(model.hf.parameters()).dtype).eval()
    label = "" if scaling is None else f" + {scaling} s={factor:g}"
    return Model(hf, model.tokenizer, name=f"{model.name} PoSE {target_length}{label}")


def _token_stream(model: Model, texts) -> torch.Tensor:
    texts = [TRAIN_SAMPLE.read_text()] if texts is None else [texts] if isinstance(texts, str) else list(texts)
    if not texts or not all(isinstance(t, str) for t in texts):
        raise TypeError("texts must be a string or a non-empty list of strings")
    ids = [i for t in texts for i in model.tokenizer(t, add_special_tokens=False, verbose=False)["input_ids"]]
    return torch.tensor(ids, dtype=torch.long)


def _lr_at(step: int, steps: int, lr: float) -> float:
    """Linear warm-up over the first 10 % of steps, then cosine decay to 10 % of ``lr``."""
    warm = max(1, steps // 10)
    if step < warm:
        return lr * (step + 1) / warm
    p = (step - warm) / max(1, steps - warm)
    return lr * (0.1 + 0.45 * (1 + math.cos(math.pi * p)))


def pose_finetune(model: Model, texts=None, *, target_length: int, train_length: int | None = None,
                  steps: int = 100, lr: float = 3e-4, batch_size: int = 4, scaling: str | None = None,
                  factor: float | None = None, n_chunks: int = 2, seed: int = 0,
                  progress: bool = True) -> tuple[Model, PoseFinetune]:
    """Fine-tune a copy of the causal RoPE ``model`` with PoSE position ids.

    Each step draws ``batch_size`` windows of ``train_length`` L_c tokens (default: the model's
    context; BOS first when the tokenizer has one) from ``texts`` (default: the shipped sample of
    the tiny models' training works, ``data/train_sample.txt``) and feeds them with position ids
    [batch, L_c] sampled by ``PoSE(L_c, target_length, n_chunks)``. ``scaling`` None, "linear",
    "ntk" or "yarn" at ``factor`` (default L_t / L_c) is applied in training and kept in the copy.
    AdamW (betas 0.9/0.95, no weight decay), warm-up then cosine decay of ``lr``, gradient
    clipping 1.0. Returns the fine-tuned copy (in eval mode) and a :class:`PoseFinetune` with the
    loss curve; ``model`` is not modified. Measure it with :func:`extrapolation` (``n_ctx=L_c``).
    """
    from tqdm.auto import tqdm

    train_length = model.cfg.n_ctx if train_length is None else train_length
    scheme = PoSE(train_length, target_length, n_chunks)  # checks L_t >= L_c
    if train_length > model.cfg.n_ctx:
        raise ValueError(f"train_length={train_length} exceeds {model.name}'s context of {model.cfg.n_ctx}; "
                         "PoSE trains on windows no longer than the original context")
    if steps < 1 or batch_size < 1 or not lr > 0:
        raise ValueError(f"steps and batch_size must be >= 1 and lr > 0, got {steps}, {batch_size}, {lr}")
    if scaling is None and factor is not None:
        raise ValueError(f"factor={factor} needs a scaling ('linear', 'ntk' or 'yarn')")
    factor = target_length / train_length if factor is None else factor
    tuned = extended_copy(model, target_length, scaling, factor if scaling is not None else 1.0)
    stream = _token_stream(model, texts)
    bos = model.tokenizer.bos_token_id
    body = train_length - (bos is not None)
    if len(stream) < body:
        raise ValueError(f"the texts have {len(stream)} tokens, fewer than one window of {body}; pass more text")
    hf, device = tuned.hf, tuned.adapter.device
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    opt = torch.optim.AdamW(hf.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.0)
    losses, rates = torch.zeros(steps), torch.zeros(steps)
    hf.train()
    bar = tqdm(range(steps), desc="PoSE fine-tuning", disable=not progress, leave=False)
    for step in bar:
        starts = torch.randint(0, len(stream) - body + 1, (batch_size,), generator=gen)
        x = torch.stack([stream[s:s + body] for s in starts.tolist()])
        if bos is not None:
            x = torch.cat([torch.full((batch_size, 1), bos, dtype=torch.long), x], 1)
        positions = torch.stack([scheme.positions(generator=gen) for _ in range(batch_size)])
        x, positions = x.to(device), positions.to(device)
        for group in opt.param_groups:
            group["lr"] = rates[step] = _lr_at(step, steps, lr)
        # an explicit mask: without one, transformers reads the skips in position_ids as packed sequences
        out = hf(input_ids=x, position_ids=positions, attention_mask=torch.ones_like(x), labels=x, use_cache=False)
        opt.zero_grad(set_to_none=True)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(hf.parameters(), 1.0)
        opt.step()
        losses[step] = out.loss.detach().float().cpu()
        bar.set_postfix(loss=f"{float(losses[step]):.3f}")
    hf.eval()
    report = PoseFinetune(model=str(model.name), loss=losses, lr=rates, train_length=train_length,
                          target_length=target_length, scaling=scaling or "none",
                          factor=float(factor) if scaling is not None else 1.0, n_chunks=n_chunks,
                          batch_size=batch_size, seed=seed, n_text_tokens=len(stream))
    return tuned, report
