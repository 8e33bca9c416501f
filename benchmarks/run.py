"""Run the benchmarks and print tables of ratios measured side by side in this process.

    python benchmarks/run.py [--quick] [--only NAME] [--case GLOB] [--reps N]

Each benchmark is a module of this folder with ``run(quick, reps, select)`` yielding tables
(``benchmarks/timing.py``) as its cases finish; ``select(case)`` says which cases to run.
Register a new one in :data:`BENCHMARKS`. Ratios, not seconds, are the result: every contender runs in
the same process, interleaved round by round with its peers (see ``benchmarks/timing.py``).
"""

from __future__ import annotations

import argparse
import datetime
import fnmatch
import importlib
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0]).resolve() == ROOT / "benchmarks":
    sys.path[0] = str(ROOT)  # import this folder as the package ``benchmarks``, not its modules
elif str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BENCHMARKS = {  # name -> module under benchmarks/
    "trace_capture": "benchmarks.trace_capture",
    "attention_flow": "benchmarks.attention_flow",
    "dig_graph": "benchmarks.dig_graph",
    "attention_views": "benchmarks.attention_views",
    "circuit_graph": "benchmarks.circuit_graph",
    "lxt_peer": "benchmarks.lxt_peer",
    "ig_captum": "benchmarks.ig_captum",
}
THREADS = 2


def environment() -> str:
    import torch
    import transformers

    from benchmarks import tl_peer

    return (f"{datetime.date.today().isoformat()}  python {platform.python_version()}  "
            f"torch {torch.__version__} ({torch.get_num_threads()} threads, {os.cpu_count()} CPUs)  "
            f"transformers {transformers.__version__}  "
            f"transformer-lens {tl_peer.version() or 'not installed'}  "
            f"load average {os.getloadavg()[0]:.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny models, 1 timed round: checks that everything runs (<1 min)")
    parser.add_argument("--only", choices=sorted(BENCHMARKS), action="append",
                        help="run only this benchmark (repeatable)")
    parser.add_argument("--case", action="append",
                        help="run only cases matching this glob, e.g. 'gpt2-small/*' (repeatable)")
    parser.add_argument("--threads", type=int, default=THREADS,
                        help=f"torch threads (default {THREADS}, the reference setting)")
    parser.add_argument("--reps", type=int, default=None,
                        help="timed rounds per case (default: 1 with --quick, else 5)")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)

    def select(case: str) -> bool:
        return not args.case or any(fnmatch.fnmatch(case, pattern) for pattern in args.case)

    print(environment(), flush=True)
    for name in args.only or list(BENCHMARKS):
        start = time.perf_counter()
        module = importlib.import_module(BENCHMARKS[name])
        for table in module.run(quick=args.quick, reps=args.reps, select=select):
            print()
            print(table.format(), flush=True)
        print(f"\n[{name}: {time.perf_counter() - start:.0f} s]", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
