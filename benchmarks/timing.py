"""Side-by-side timing: interleaved rounds, each contender's time divided by a reference's.

Every round runs each contender once, in an order rotated from round to round so no contender
always runs right after another. A round gives one paired ratio ``t_contender / t_reference``;
pairing within a round cancels the slow drift of a shared machine's load. A row reports:

- ``ratio``: the median paired wall-clock ratio (``time.perf_counter``), with its [min, max];
- ``min/min``: the fastest call over the reference's fastest; contention only ever adds time,
  so on a busy machine this is the least disturbed estimate;
- ``cpu``: the median paired ratio of process CPU time (``time.process_time``, all threads),
  which ignores time spent descheduled but still counts threads spinning at barriers;
- ``median s`` / ``min s``: the contender's own wall-clock seconds per call.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Row:
    """One contender of one case: wall and CPU seconds per round, its reference's the same
    rounds; ``skipped`` holds the reason when it could not run."""

    case: str
    name: str
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    ref_wall: list[float] = field(default_factory=list)
    ref_cpu: list[float] = field(default_factory=list)
    target: float | None = None
    skipped: str | None = None
    show_seconds: bool = True

    @property
    def ratios(self) -> list[float]:
        return [t / r for t, r in zip(self.wall, self.ref_wall)]

    @property
    def median(self) -> float:
        return statistics.median(self.ratios)

    @property
    def min_ratio(self) -> float:
        return min(self.wall) / min(self.ref_wall)

    @property
    def cpu_ratio(self) -> float:
        return statistics.median(t / r for t, r in zip(self.cpu, self.ref_cpu))

    def against(self, other: Row, name: str) -> Row:
        """This row's samples with ``other``'s as the reference (a head-to-head row)."""
        return Row(self.case, name, self.wall, self.cpu, other.wall, other.cpu, show_seconds=False)

    def status(self) -> str:
        if self.skipped is not None or self.target is None:
            return ""
        return "ok" if round(self.median, 2) <= self.target else "OVER"  # as printed


def _timed(fn: Callable[[], object]) -> tuple[float, float]:
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    del out  # freed outside the timed region
    return wall, cpu


def compare(case: str, contenders: dict[str, Callable[[], object]], reference: str, *, reps: int,
            warmup: int = 1, targets: dict[str, float] | None = None) -> list[Row]:
    """Time ``contenders`` (name -> zero-argument call) side by side against ``reference``
    (one of them). Returns one :class:`Row` per contender, in the given order."""
    names = list(contenders)
    for _ in range(warmup):
        for name in names:
            _timed(contenders[name])
    wall: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    for r in range(reps):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            w, c = _timed(contenders[name])
            wall[name].append(w)
            cpu[name].append(c)
    targets = targets or {}
    return [Row(case, n, wall[n], cpu[n], wall[reference], cpu[reference], targets.get(n))
            for n in names]


@dataclass
class Table:
    """Rows sharing one reference (e.g. "hf eager + outputs")."""

    title: str
    reference: str
    rows: list[Row]

    def format(self) -> str:
        """Plain text: one line per row; skipped rows give their reason."""
        w = max([len(r.name) for r in self.rows] + [10])
        head = (f"{'case':<16} {'contender':<{w}} {'ratio':>7} {'[min, max]':>14} {'min/min':>7} "
                f"{'cpu':>6} {'median s':>9} {'min s':>8} {'target':>7}")
        lines = [f"{self.title} (time / time of {self.reference})", head, "-" * len(head)]
        for row in self.rows:
            if row.skipped is not None:
                lines.append(f"{row.case:<16} {row.name:<{w}} skipped: {row.skipped}")
                continue
            spread = f"[{min(row.ratios):.2f}, {max(row.ratios):.2f}]"
            seconds = (f"{statistics.median(row.wall):>9.3f} {min(row.wall):>8.3f}"
                       if row.show_seconds else f"{'':>9} {'':>8}")
            target = f"<={row.target:.2f}" if row.target is not None else ""
            lines.append(f"{row.case:<16} {row.name:<{w}} {row.median:>6.2f}x {spread:>14} "
                         f"{row.min_ratio:>6.2f}x {row.cpu_ratio:>5.2f}x {seconds} {target:>7} "
                         f"{row.status()}".rstrip())
        return "\n".join(lines)
