"""Running a script in the peer reference environment (``.peer-venv``, built by ``.ci/peer_env``).

The peers (LXT, circuit-tracer) need transformers 4.x while the package runs on transformers 5,
so each check writes a JSON job, runs a script of this folder with the peer environment's
Python in a subprocess, and reads back an .npz of its results.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PEER_PYTHON = ROOT / ".peer-venv" / "bin" / "python"


def peer_python() -> Path:
    """The peer environment's interpreter; a failing test with the fix when it is missing."""
    if not PEER_PYTHON.exists():
        pytest.fail(f"the peer reference environment is missing ({PEER_PYTHON}); build it with "
                    "`bash .ci/peer_env` (needs PyPI access; a few minutes), then rerun", pytrace=False)
    return PEER_PYTHON


def run_peer(script: str, job: dict, workdir: Path, timeout: float = 600) -> dict[str, np.ndarray]:
    """Run ``tests/peers/<script>`` on ``job`` in the peer environment; its .npz as a dict."""
    job_path, out_path = workdir / f"{script}.json", workdir / f"{script}.npz"
    job_path.write_text(json.dumps(job))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false"}
    env.pop("PYTHONPATH", None)
    done = subprocess.run([str(peer_python()), str(HERE / script), str(job_path), str(out_path)],
                          capture_output=True, text=True, env=env, cwd=workdir, timeout=timeout)
    if done.returncode != 0:
        pytest.fail(f"{script} failed in the peer environment (exit {done.returncode}):\n"
                    f"{done.stderr[-4000:]}", pytrace=False)
    with np.load(out_path) as data:
        return {k: data[k] for k in data.files}
