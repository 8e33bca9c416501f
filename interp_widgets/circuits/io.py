"""Saving and loading transcoders: one safetensors file, the config as JSON in its metadata."""

from __future__ import annotations

import json
from pathlib import Path

from .transcoder import Transcoder, TranscoderConfig

WEIGHTS = "model.safetensors"
FORMAT = "interp_widgets.transcoder"
SHIPPED_DIR = Path(__file__).resolve().parent.parent / "shipped"
# shipped transcoder folder by model name (and by its own name)
SHIPPED = {"tiny-llama": "tiny-llama-clt", "tiny-llama-clt": "tiny-llama-clt"}


def _weights_path(path: Path) -> Path:
    return path / WEIGHTS if path.suffix != ".safetensors" else path


def save_transcoder(tc: Transcoder, folder) -> Path:
    """Write ``tc`` to ``folder/model.safetensors`` (or to ``folder`` itself when it ends in
    ``.safetensors``); returns the file written."""
    from safetensors.torch import save_file

    path = _weights_path(Path(folder))
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in tc.state_dict().items()}
    save_file(tensors, str(path), metadata={"format": FORMAT, "config": json.dumps(tc.config_dict())})
    path.chmod(0o644)
    return path


def _resolve(path_or_name) -> Path:
    name = str(path_or_name)
    if name in SHIPPED and not Path(name).exists():
        path = SHIPPED_DIR / SHIPPED[name] / WEIGHTS
        if not path.exists():
            raise FileNotFoundError(f"the shipped transcoder {name!r} is missing from {path.parent}; reinstall "
                                    "the package or train it with `python scripts/train_transcoder.py`")
        return path
    path = _weights_path(Path(name))
    if not path.exists():
        raise FileNotFoundError(
            f"no transcoder at {path}: pass a folder written by iw.circuits.save_transcoder, its "
            f"{WEIGHTS} file, or a shipped name ({', '.join(sorted(SHIPPED))}); train one with "
            "iw.circuits.train_transcoder")
    return path


def load_transcoder(path_or_name, model=None, device=None) -> Transcoder:
    """A transcoder from a folder or file written by :func:`save_transcoder`, or a shipped name
    (``"tiny-llama"`` / ``"tiny-llama-clt"``). With ``model``, its layer count and width must match
    (else ``ValueError``) and the transcoder moves to the model's device unless ``device`` is given."""
    from safetensors import safe_open

    path = _resolve(path_or_name)
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
        if meta.get("format") != FORMAT or "config" not in meta:
            raise ValueError(f"{path} is not a transcoder written by iw.circuits.save_transcoder "
                             "(its metadata has no transcoder config)")
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    tc = Transcoder(TranscoderConfig(**json.loads(meta["config"])))
    tc.load_state_dict(tensors)
    tc.eval()
    if model is not None:
        from .activations import check_model

        check_model(model, tc)
        device = device or model.adapter.device
    return tc.to(device) if device is not None else tc
