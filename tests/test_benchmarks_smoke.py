"""The benchmark runner runs end to end in quick mode (no timing is asserted; see benchmarks/)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROWS = ["hf eager + outputs", "hf sdpa, no outputs (floor)", "iw run, all hooks",
        "iw run, all hooks, results read", "iw run, no hook_result", "tl HookedTransformer", "tl HookedTransformer +attn_result",
        "tl TransformerBridge", "iw run, no hook_result / tl TransformerBridge",
        "iw attnlrp", "lxt attnlrp (peer)", "iw / lxt (own floors)"]


def test_quick_run_prints_every_row():
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick"],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for case in ("gpt2-toy/32", "llama-toy/32"):
        for row in ROWS:
            # measured ("1.03x") or skipped with its reason (TransformerLens is optional)
            line = rf"^{re.escape(case)}\s+{re.escape(row)}\s+(\d+\.\d\dx|skipped: \S)"
            assert re.search(line, proc.stdout, re.MULTILINE), f"no row {row!r} for {case}:\n{proc.stdout}"
    assert re.search(r"^attribution_graph on tiny-llama, .*\n.*ct s\s+ratio", proc.stdout, re.MULTILINE), proc.stdout
