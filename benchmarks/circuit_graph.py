"""Attribution-graph construction: time and peak memory against prompt length.

Model: the shipped tiny-llama (4 layers, d_model 128). Transcoder: the shipped CLT
(``interp_widgets/shipped/tiny-llama-clt``) when it is there, else a random cross-layer
JumpReLU transcoder of the shipped CLT's size (512 features per layer); the table says which.
Prompts: the first n tokens (8, 16, 32, 64; ``--quick``: 8) of the shipped held-out sample.
``attribution_graph`` runs with its defaults (at most 1,024 feature nodes, 64 targets per
backward pass).

Each length runs in a fresh process so that its peak resident memory (``ru_maxrss``) is its
own: ``peak MB`` is that peak, ``extra MB`` the peak minus the resident memory just before the
graph was built (model and transcoder loaded, one warm-up graph on 4 tokens), ``adj MB`` the
dense adjacency (N² float32). ``ct s``: circuit-tracer 0.5's ``attribute`` (nnsight backend) on the
same model, transcoder (converted to its classes), token ids, logit targets and feature cap
(1,024; it picks its features by influence, ours by activation x decoder norm), one call timed
in the peer environment (``.peer-venv``, transformers 4; built by ``bash .ci/peer_env``; the
script is ``tests/peers/ct_graph.py``), and ``ratio`` = our ``min s`` / ``ct s``; without the
peer environment those columns say so.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LENGTHS = (8, 16, 32, 64)
QUICK_LENGTHS = (8,)


@dataclass
class GrowthTable:
    title: str
    rows: list[dict] = field(default_factory=list)

    def format(self) -> str:
        head = (f"{'tokens':>6} {'features':>8} {'nodes':>6} {'edges':>8} {'backward':>8} "
                f"{'median s':>9} {'min s':>7} {'peak MB':>8} {'extra MB':>8} {'adj MB':>7} {'ct s':>7} {'ratio':>6}")
        out = [self.title, head, "-" * len(head)]
        for r in self.rows:
            out.append(f"{r['tokens']:>6} {r['features']:>8} {r['nodes']:>6} {r['edges']:>8} "
                       f"{r['backward']:>8} {r['median_s']:>9.3f} {r['min_s']:>7.3f} {r['peak_mb']:>8.1f} "
                       f"{r['extra_mb']:>8.1f} {r['adj_mb']:>7.2f} " + (
                           f"{r['ct_s']:>7.3f} {r['min_s'] / r['ct_s']:>5.2f}x" if "ct_s" in r else
                           f"{'-':>7} {'-':>6}"))
        if any("ct_error" in r for r in self.rows):
            out.append("circuit-tracer: " + next(r["ct_error"] for r in self.rows if "ct_error" in r))
        return "\n".join(out)


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _transcoder(model):
    import torch

    from interp_widgets.circuits import Transcoder, TranscoderConfig, load_transcoder

    if (ROOT / "interp_widgets" / "shipped" / "tiny-llama-clt").is_dir():
        return load_transcoder("tiny-llama-clt", model), "shipped tiny-llama-clt"
    torch.manual_seed(0)
    cfg = TranscoderConfig(n_layers=model.cfg.n_layers, d_model=model.cfg.d_model, n_features=512,
                           activation="jumprelu", model_name=model.name)
    return Transcoder(cfg), "random CLT, 512 features/layer, jumprelu (the shipped CLT is not there yet)"


def measure(n_tokens: int, reps: int) -> dict:
    """One length, in this process: build the graph ``reps`` times."""
    import torch

    import interp_widgets as iw
    from interp_widgets.circuits import attribution_graph

    model = iw.load("tiny-llama")
    tc, which = _transcoder(model)
    text = (ROOT / "interp_widgets" / "shipped" / "heldout_sample.txt").read_text()
    ids = model.to_tokens(text[:4000], truncate=True)[0][:n_tokens]
    attribution_graph(model, tc, ids[:4])
    before = _rss_mb()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        graph = attribution_graph(model, tc, ids)
        times.append(time.perf_counter() - start)
    n = len(graph.node_type)
    targets = graph.node_type.count("feature") + graph.node_type.count("logit")
    return {"tokens": n_tokens, "features": graph.node_type.count("feature"), "nodes": n,
            "edges": graph.n_edges, "backward": -(-targets // 64), "median_s": statistics.median(times),
            "min_s": min(times), "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "extra_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before,
            "adj_mb": n * n * 4 / 2**20, "transcoder": which, "threads": torch.get_num_threads(),
            "ids": ids.tolist(), "logit_ids": [int(i) for t, i in zip(graph.node_type, graph.node_index) if t == "logit"]}


def circuit_tracer_seconds(row: dict, threads: int) -> float:
    """One circuit-tracer ``attribute`` call on ``row``'s token ids and logit targets (the shipped
    model and CLT), timed in the peer environment."""
    import tempfile

    import numpy as np

    peer = ROOT / ".peer-venv" / "bin" / "python"
    clt = ROOT / "interp_widgets" / "shipped" / "tiny-llama-clt" / "model.safetensors"
    if not peer.exists() or not clt.exists():
        raise RuntimeError("not run: needs the peer environment (bash .ci/peer_env) and the shipped CLT")
    with tempfile.TemporaryDirectory() as tmp:
        job, out = Path(tmp) / "job.json", Path(tmp) / "out.npz"
        job.write_text(json.dumps({"model": str(ROOT / "interp_widgets" / "shipped" / "tiny-llama"),
                                   "transcoder": str(clt), "ids": row["ids"], "logits": row["logit_ids"],
                                   "threads": threads, "batch_size": 64, "max_feature_nodes": 1024}))
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "HF_HUB_OFFLINE": "1"}
        done = subprocess.run([str(peer), str(ROOT / "tests" / "peers" / "ct_graph.py"), str(job), str(out)],
                              capture_output=True, text=True, env=env, timeout=1800)
        if done.returncode != 0:
            raise RuntimeError(f"failed in the peer environment: {done.stderr.strip()[-300:]}")
        with np.load(out) as data:
            return float(data["seconds"])


def run(quick: bool, reps: int | None, select) -> Iterator[GrowthTable]:
    import torch

    reps = reps or (1 if quick else 3)
    rows, which = [], ""
    for n in QUICK_LENGTHS if quick else LENGTHS:
        if not select(f"tiny-llama/{n}"):
            continue
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        code = (f"import torch, json; torch.set_num_threads({torch.get_num_threads()}); "
                f"from benchmarks.circuit_graph import measure; print(json.dumps(measure({n}, {reps})))")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                             cwd=ROOT, check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        which = row["transcoder"]
        try:
            row["ct_s"] = circuit_tracer_seconds(row, row["threads"])
        except RuntimeError as exc:
            row["ct_error"] = str(exc)
        rows.append(row)
    if rows:
        yield GrowthTable(f"attribution_graph on tiny-llama, {which}, {rows[0]['threads']} threads", rows)
