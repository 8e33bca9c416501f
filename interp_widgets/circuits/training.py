"""Training transcoders on activations streamed from a model (Ameisen et al. 2025).

Data: windows of ``context`` tokens drawn at random from the corpus (see ``activations``); every
``refill`` steps the activations of fresh windows (``resid_mid`` inputs, ``mlp_out`` targets of
every layer, recorded without gradients) fill a buffer that is shuffled and cut into batches of
``batch_tokens`` positions. The windows and the shuffle of buffer ``b`` depend only on
``(seed, b)``, so a run resumed from a checkpoint sees exactly the batches of an uninterrupted one.

Normalisation: inputs and targets of layer l are divided by their mean norms m_x^l, m_y^l
(estimated on the first buffer), so every layer has unit mean norm during training. At the end
the scales are folded into the weights (W_enc^l / m_x^l; W_dec^{l->m}, b_dec^m times m_y^m):
the returned transcoder works on raw activations.

Loss per token, in normalised units (x̃ = x / m_x, ỹ = y / m_y), summed over layers l and features i:

    Σ_l ‖ŷ^l − ỹ^l‖²  +  λ_t Σ_{l,i} tanh(c · ‖W_dec,i^l‖ · a_i^l)
                      +  λ_p Σ_{l,i} ReLU(θ_i^l − h_i^l) · ‖W_dec,i^l‖

with ‖W_dec,i^l‖ the norm of feature i's decoder vectors over all its target layers, h the
pre-activations, θ the JumpReLU threshold (0 for ReLU/TopK) and λ_t rising linearly from 0 to λ
over the first ``sparsity_warmup`` share of the steps. The pre-activation term pushes features
that never fire towards their threshold. Adam; the learning rate decays linearly to 0 over the
last ``lr_decay`` share of the steps; gradients clipped at norm 1.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import torch

from ..analysis.result import Result
from . import activations as A
from .transcoder import Transcoder, TranscoderConfig

CHECKPOINT = "checkpoint.safetensors"
OPTIMIZER = "optimizer.pt"


@dataclasses.dataclass(repr=False)
class TrainingReport(Result):
    """How a transcoder trained. ``fve`` [layer] fraction of variance of each MLP output explained,
    ``l0`` [layer] mean active features per token and ``dead_fraction`` [layer] share of features that
    never fired over the last ``dead_window`` steps, all measured at the end on ``eval_tokens`` held-out
    (or training) tokens; per-step curves ``loss``, ``mse``, ``sparsity`` (penalty before λ), batch
    ``fve_curve`` and ``l0_curve`` (means over layers)."""

    config: dict
    steps: int
    tokens_seen: int
    fve: np.ndarray
    l0: np.ndarray
    dead_fraction: np.ndarray
    loss: np.ndarray
    mse: np.ndarray
    sparsity: np.ndarray
    fve_curve: np.ndarray
    l0_curve: np.ndarray
    eval_tokens: int
    dead_window: int
    settings: dict = dataclasses.field(default_factory=dict)
    wall_time_s: float = dataclasses.field(default=0.0, repr=False)

    def figure(self, **kw):
        """Loss and batch FVE over steps; final FVE and L0 per layer."""
        import matplotlib.pyplot as plt

        from ..figures import paper_style

        steps = np.arange(1, len(self.loss) + 1)
        with paper_style():
            fig, ax = plt.subplots(1, 3, figsize=(kw.get("width", 9.5), 2.8))
            ax[0].plot(steps, self.loss, lw=0.8, label="total")
            ax[0].plot(steps, self.mse, lw=0.8, label="reconstruction")
            ax[0].set(xlabel="step", ylabel="loss (normalised units)", yscale="log", title="Training loss")
            ax[0].legend(frameon=False)
            ax[1].plot(steps, self.fve_curve, lw=0.8, color="C2")
            ax[1].set(xlabel="step", ylabel="FVE (batch, mean over layers)", ylim=(min(0, self.fve_curve.min()), 1),
                      title="Variance explained")
            layers = np.arange(len(self.fve))
            ax[2].bar(layers - 0.2, self.fve, 0.4, color="C2", label="FVE")
            ax[2].set(xlabel="layer", ylabel="FVE", ylim=(0, 1), xticks=layers, title="Final, per layer")
            twin = ax[2].twinx()
            twin.bar(layers + 0.2, self.l0, 0.4, color="C1", label="L0")
            twin.set_ylabel("L0 (active features / token)")
            twin.spines["right"].set_visible(True)
            ax[2].legend(handles=ax[2].patches[:1] + twin.patches[:1], labels=["FVE", "L0"], frameon=False,
                         loc="lower left")
            fig.tight_layout()
        return fig


def _settings_key(settings: dict) -> str:
    return json.dumps(settings, sort_keys=True)


def _lr_at(step: int, steps: int, lr: float, decay: float) -> float:
    start = int(steps * (1 - decay))
    return lr if step < start else lr * (steps - step) / max(1, steps - start)


def _fold(tc: Transcoder, x_scale: torch.Tensor, y_scale: torch.Tensor) -> Transcoder:
    """A copy working on raw activations: see the module docstring."""
    out = Transcoder(tc.config).to(x_scale.device)
    with torch.no_grad():
        out.load_state_dict(tc.state_dict())
        out.W_enc.div_(x_scale[:, None, None])
        out.b_dec.mul_(y_scale[:, None])
        for l, w in enumerate(out.W_dec):
            w.mul_(y_scale[l:l + tc.n_targets(l)][None, :, None])
    return out


def _save_checkpoint(folder: Path, tc, x_scale, y_scale, opt, step, history, last_fired, settings):
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in tc.state_dict().items()}
    tensors |= {"x_scale": x_scale.cpu(), "y_scale": y_scale.cpu()}
    meta = {"settings": _settings_key(settings), "step": str(step)}
    tmp = folder / (CHECKPOINT + ".tmp")
    save_file(tensors, str(tmp), metadata=meta)
    torch.save({"optimizer": opt.state_dict(), "step": step, "last_fired": last_fired.cpu(),
                "history": {k: torch.tensor(v, dtype=torch.float64) for k, v in history.items()}},
               folder / (OPTIMIZER + ".tmp"))
    (folder / (OPTIMIZER + ".tmp")).replace(folder / OPTIMIZER)
    tmp.replace(folder / CHECKPOINT)


def _load_checkpoint(folder: Path, tc, opt, settings, device):
    from safetensors import safe_open

    with safe_open(str(folder / CHECKPOINT), framework="pt") as f:
        meta = f.metadata()
        if meta.get("settings") != _settings_key(settings):
            raise ValueError(f"the checkpoint in {folder} was written with other settings "
                             f"({meta.get('settings')}); resume with the same arguments or use a new "
                             "checkpoint_dir")
        tensors = {k: f.get_tensor(k).to(device) for k in f.keys()}
    x_scale, y_scale = tensors.pop("x_scale"), tensors.pop("y_scale")
    tc.load_state_dict(tensors)
    state = torch.load(folder / OPTIMIZER, map_location=device, weights_only=True)
    if state["step"] != int(meta["step"]):
        raise ValueError(f"{folder}: weights (step {meta['step']}) and optimizer (step {state['step']}) "
                         "disagree; delete the folder and train again")
    opt.load_state_dict(state["optimizer"])
    history = {k: v.tolist() for k, v in state["history"].items()}
    return state["step"], x_scale, y_scale, history, state["last_fired"].to(device)


class _Buffers:
    """Shuffled activation buffers; buffer ``b`` is a pure function of ``(seed, b)``."""

    def __init__(self, model, stream, context, windows_per_buffer, batch_tokens, seed):
        self.model, self.stream, self.context = model, stream, context
        self.windows, self.batch_tokens, self.seed = windows_per_buffer, batch_tokens, seed
        self.skip = A.first_position(model)
        self.per_buffer = max(1, windows_per_buffer * (context - self.skip) // batch_tokens)
        self._index, self._data = -1, None

    def buffer(self, b: int):
        if b != self._index:
            rng = np.random.default_rng([self.seed, b])
            starts = A.random_starts(rng, self.stream, self.windows, self.context, self.model)
            ids = A.windows(self.model, self.stream, starts, self.context)
            x, y = A.record(self.model, ids)                    # [L, B, T, d]
            x, y = (t[:, :, self.skip:].flatten(1, 2) for t in (x, y))
            order = torch.from_numpy(rng.permutation(x.shape[1])).to(x.device)
            self._data, self._index = (x[:, order], y[:, order]), b
        return self._data

    def batch(self, step: int):
        x, y = self.buffer(step // self.per_buffer)
        i = (step % self.per_buffer) * self.batch_tokens
        return x[:, i:i + self.batch_tokens], y[:, i:i + self.batch_tokens]


def _losses(tc, x, y, lam, c, lam_pre):
    """x, y [L, N, d] (normalised) -> (total, mse, sparsity penalty, acts [L, N, F], recon [L, N, d])."""
    L = tc.config.n_layers
    pres = [tc.pre_activation(l, x[l]) for l in range(L)]
    acts = [tc.activate(l, pres[l]) for l in range(L)]
    recon = torch.stack(tc.decode(acts))
    mse = (recon - y).pow(2).sum(-1).sum(0).mean()
    norms = tc.decoder_norms()                                   # [L, F]
    a = torch.stack(acts)
    sparsity = torch.tanh(c * norms[:, None] * a).sum((0, 2)).mean()
    total = mse + lam * sparsity
    if lam_pre:
        theta = tc.log_threshold.exp()[:, None] if tc.config.activation == "jumprelu" else 0.0
        pre = torch.relu(theta - torch.stack(pres)) * norms[:, None]
        total = total + lam_pre * pre.sum((0, 2)).mean()
    return total, mse, sparsity, a, recon


def _fve_l0(tc, x, y, skip):
    """FVE and L0 per layer on raw activations x, y [L, B, T, d] (positions from ``skip``)."""
    from .evaluation import fraction_of_variance_explained

    x, y = (t[:, :, skip:].flatten(1, 2) for t in (x, y))
    with torch.no_grad():
        acts, recon = tc([x[l] for l in range(len(x))])
    fve = np.array([fraction_of_variance_explained(r, t) for r, t in zip(recon, y)])
    l0 = np.array([float((a > 0).sum(-1).double().mean()) for a in acts])
    return fve, l0


def train_transcoder(model, texts, n_features: int = 512, cross_layer: bool = True,
                     activation: str = "jumprelu", k: int = 0, steps: int = 1000, batch_tokens: int = 1024,
                     lr: float = 1e-3, sparsity: float = 1e-3, sparsity_c: float = 1.0,
                     pre_activation_loss: float = 0.0, checkpoint_dir=None, resume: bool = False,
                     progress: bool = True, seed: int = 0, *, context: int = 128,
                     windows_per_buffer: int = 64, sparsity_warmup: float = 0.2, lr_decay: float = 0.2,
                     checkpoint_every: int = 500, bandwidth: float = 0.1, init_threshold: float = 0.03,
                     eval_texts=None, eval_tokens: int = 8192, callback=None) -> tuple[Transcoder, TrainingReport]:
    """Train a (cross-layer) transcoder of ``model`` on ``texts`` (list of strings).

    ``n_features`` per layer; ``activation`` relu / jumprelu / topk (``k`` active features);
    ``sparsity`` λ and ``sparsity_c`` c of the tanh penalty, ``pre_activation_loss`` λ_p (see the
    module docstring). Each step uses ``batch_tokens`` positions. With ``checkpoint_dir`` the
    weights (safetensors) and optimizer state are written every ``checkpoint_every`` steps and at
    the end; ``resume=True`` continues from the checkpoint there (same arguments required) and
    gives the same transcoder as an uninterrupted run. The final FVE / L0 are measured on up to
    ``eval_tokens`` tokens of ``eval_texts`` (default: windows of ``texts``). ``callback(step, metrics)``
    runs after every step. Returns the transcoder (on raw activations) and a :class:`TrainingReport`.
    """
    if steps < 1 or batch_tokens < 1 or n_features < 1:
        raise ValueError("steps, batch_tokens and n_features must be positive")
    if resume and checkpoint_dir is None:
        raise ValueError("resume=True needs the checkpoint_dir of the interrupted run")
    cfg = model.cfg
    device = model.adapter.device
    config = TranscoderConfig(n_layers=cfg.n_layers, d_model=cfg.d_model, n_features=n_features,
                              cross_layer=cross_layer, activation=activation, k=k, bandwidth=bandwidth,
                              model_name=model.name)
    stream = A.token_stream(model, texts)
    context = A.check_context(model, context, stream)
    settings = {"config": dataclasses.asdict(config), "steps": steps, "batch_tokens": batch_tokens, "lr": lr,
                "sparsity": sparsity, "sparsity_c": sparsity_c, "pre_activation_loss": pre_activation_loss,
                "seed": seed, "context": context, "windows_per_buffer": windows_per_buffer,
                "sparsity_warmup": sparsity_warmup, "lr_decay": lr_decay, "init_threshold": init_threshold,
                "n_corpus_tokens": len(stream)}
    torch.manual_seed(seed)
    tc = Transcoder(config, init_threshold=init_threshold).to(device)
    opt = torch.optim.Adam(tc.parameters(), lr=lr)
    buffers = _Buffers(model, stream, context, windows_per_buffer, batch_tokens, seed)
    folder = None if checkpoint_dir is None else Path(checkpoint_dir)
    history = {k: [] for k in ("loss", "mse", "sparsity", "fve", "l0")}
    last_fired = torch.zeros(cfg.n_layers, n_features, dtype=torch.long, device=device)
    start = 0
    if resume and (folder / CHECKPOINT).exists():
        start, x_scale, y_scale, history, last_fired = _load_checkpoint(folder, tc, opt, settings, device)
    else:
        x0, y0 = buffers.buffer(0)
        x_scale, y_scale = x0.norm(dim=-1).mean(1), y0.norm(dim=-1).mean(1)      # [L]
        with torch.no_grad():
            tc.b_dec.copy_((y0 / y_scale[:, None, None]).mean(1))
    t0 = time.time()
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, initial=start, desc="transcoder", unit="step")
    for step in range(start, steps):
        x, y = buffers.batch(step)
        x, y = x / x_scale[:, None, None], y / y_scale[:, None, None]
        for g in opt.param_groups:
            g["lr"] = _lr_at(step, steps, lr, lr_decay)
        lam = sparsity * min(1.0, (step + 1) / max(1, sparsity_warmup * steps))
        total, mse, pen, acts, recon = _losses(tc, x, y, lam, sparsity_c, pre_activation_loss)
        opt.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(tc.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            fired = (acts > 0).any(1)
            last_fired[fired] = step + 1
            var = (y - y.mean(1, keepdim=True)).pow(2).sum((1, 2))
            fve = float((1 - (recon - y).pow(2).sum((1, 2)) / var).mean())
            l0 = float((acts > 0).sum(-1).double().mean())
        for key, v in zip(history, (total.item(), mse.item(), pen.item(), fve, l0)):
            history[key].append(v)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{total.item():.4f}", fve=f"{fve:.3f}", l0=f"{l0:.1f}", refresh=False)
        if folder is not None and ((step + 1) % checkpoint_every == 0 or step + 1 == steps):
            _save_checkpoint(folder, tc, x_scale, y_scale, opt, step + 1, history, last_fired, settings)
        if callback is not None:
            callback(step, {k: v[-1] for k, v in history.items()})
    if bar is not None:
        bar.close()
    tc.eval()
    out = _fold(tc, x_scale, y_scale)
    dead_window = max(1, steps // 10)
    dead = (last_fired <= steps - dead_window).double().mean(1).cpu().numpy()
    estream = stream if eval_texts is None else A.token_stream(model, eval_texts)
    econtext = A.check_context(model, context, estream)
    body = econtext - A.first_position(model)
    starts = A.tiled_starts(estream, econtext, model)[:max(1, eval_tokens // body)]
    x, y = A.record(model, A.windows(model, estream, starts, econtext))
    fve, l0 = _fve_l0(out, x, y, A.first_position(model))
    report = TrainingReport(
        config=dataclasses.asdict(config), steps=steps, tokens_seen=steps * batch_tokens, fve=fve, l0=l0,
        dead_fraction=dead, loss=np.array(history["loss"]), mse=np.array(history["mse"]),
        sparsity=np.array(history["sparsity"]), fve_curve=np.array(history["fve"]),
        l0_curve=np.array(history["l0"]), eval_tokens=len(starts) * body, dead_window=dead_window,
        settings=settings, wall_time_s=time.time() - t0)
    return out, report
