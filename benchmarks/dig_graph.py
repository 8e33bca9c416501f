"""DIG's vocabulary nearest-neighbour graph on a GPT-2-sized embedding matrix.

A random [50257, 768] float32 matrix (GPT-2's vocabulary and width), k = 500 neighbours per row
(DIG's default). Reference: scikit-learn's ``NearestNeighbors(algorithm="brute").kneighbors_graph``
(Euclidean; DIG's reference code builds its graph with scikit-learn); contender: ``build_graph`` of
``interp_widgets.attribution.neighbors`` (exact, chunked ``torch.cdist`` + ``topk``, never the
full V x V matrix). Before timing, the two graphs must have the same neighbour sets for a
sample of rows. Peak memory: each builder runs once more in a fresh child process, which reports
its peak resident memory above what it held before the build (the matrix included before).
``--quick`` uses a [4096, 64] matrix and k = 50 and skips the memory children.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from .timing import Table, compare

TITLE = "DIG neighbour graph"
BASELINE = "sklearn kneighbors_graph"
OURS = "iw build_graph (chunked cdist)"
ROOT = Path(__file__).resolve().parent.parent


def _matrix(vocab: int, width: int):
    import torch

    return torch.randn(vocab, width, generator=torch.Generator().manual_seed(0))


def _builders(table, k: int) -> dict[str, Callable[[], object]]:
    from sklearn.neighbors import NearestNeighbors

    from interp_widgets.attribution.neighbors import build_graph

    array = table.numpy()
    return {BASELINE: lambda: NearestNeighbors(n_neighbors=k, algorithm="brute").fit(array)
            .kneighbors_graph(mode="distance"),
            OURS: lambda: build_graph(table, k)}


def _same_neighbours(table, k: int, rows: int = 64) -> bool:
    """The contender's neighbour sets (same code path, on sampled rows) equal scikit-learn's,
    up to swaps at the k-th place between rows whose float64 distances tie within 1e-5."""
    from sklearn.neighbors import NearestNeighbors

    from interp_widgets.attribution.neighbors import nearest

    sample = np.linspace(0, len(table) - 1, rows).astype(int)
    ours = nearest(table[sample], table, k + 1)[1].numpy()
    theirs = NearestNeighbors(n_neighbors=k + 1, algorithm="brute").fit(table.numpy()).kneighbors(
        table.numpy()[sample], return_distance=False)
    full = table.numpy().astype(np.float64)
    for a, b, s in zip(ours, theirs, sample):
        differ = set(a[a != s][:k].tolist()) ^ set(b[b != s][:k].tolist())
        if differ:
            d = np.linalg.norm(full - full[s], axis=1)
            kth = np.sort(d)[k]  # d[s] = 0 is first
            if any(abs(d[i] - kth) > 1e-5 * kth for i in differ):
                return False
    return True


def _child(name: str, vocab: int, width: int, k: int) -> None:
    import torch

    torch.set_num_threads(2)
    table = _matrix(vocab, width)
    build = _builders(table, k)[name]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    build()
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"extra_peak_mib": (peak - before) / 1024, "seconds": seconds}))


def _peak(name: str, vocab: int, width: int, k: int) -> dict:
    proc = subprocess.run([sys.executable, "-m", "benchmarks.dig_graph", "--child", name, str(vocab),
                           str(width), str(k)], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(quick: bool = False, reps: int | None = None,
        select: Callable[[str], bool] = lambda case: True) -> Iterator[Table]:
    vocab, width, k = (4096, 64, 50) if quick else (50257, 768, 500)
    case = f"{vocab}x{width}/k{k}"
    if not select(case):
        return
    table = _matrix(vocab, width)
    if not _same_neighbours(table, k):
        raise AssertionError(f"{case}: neighbour sets differ from scikit-learn's")
    rows = compare(case, _builders(table, k), BASELINE, reps=reps or 1, warmup=0)
    if quick:
        note = "peak memory is measured only in the full run"
    else:
        memory = {name: _peak(name, vocab, width, k) for name in (BASELINE, OURS)}
        note = "; ".join(f"{n}: peak +{m['extra_peak_mib']:.0f} MiB in {m['seconds']:.0f} s"
                         for n, m in memory.items())
    yield Table(f"{TITLE} ({note}; neighbour sets agree on sampled rows)", repr(BASELINE), rows)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(sys.argv[2], *(int(a) for a in sys.argv[3:6]))
    else:
        for t in run(quick="--quick" in sys.argv):
            print(t.format())
