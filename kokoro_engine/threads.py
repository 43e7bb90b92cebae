"""How many threads a synthesis step runs on: the cores other processes leave free.

PyTorch runs each operator's loop on OpenMP threads (GNU libgomp in its CPU wheels), which spin at the
end of every parallel region until all of them have arrived; a reply runs thousands of such regions.
When another process holds one of the cores (Home Assistant itself, another add-on), a waiting
thread spins through its time slice while the thread it waits for is not running, region after
region. Sleeping instead of spinning (`OMP_WAIT_POLICY=PASSIVE`) costs a wake-up per region, which
on an idle box made two threads as slow as one. So the thread count follows the load instead: before
each chunk, `CoreShare` reads how much CPU time other processes took since it last looked, and the
step runs on the cores they left (figures: docs/PERFORMANCE.md).
"""

from __future__ import annotations

import os

# A core counts as free while others use less than this much of it: a box's background (Home
# Assistant's own timers, a shell) is not a process that holds a core.
SLACK = 0.3
# Ticks of all CPUs together that a look must span to say anything; shorter, the last answer stands.
MIN_TICKS = 20


def _cpu_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of all CPUs since boot, from /proc/stat; steal counts as busy: a
    hypervisor running other guests takes the core as surely as a process."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = fields
    busy = user + nice + system + irq + softirq + steal
    return busy, busy + idle + iowait


def _own_ticks() -> int:
    """User and system clock ticks of this process, all its threads."""
    with open("/proc/self/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


class CoreShare:
    """The threads to run on now: `most` (PyTorch's own count, the ceiling), less the cores other
    processes used since the previous call. Always `most` where /proc cannot be read."""

    def __init__(self, most: int) -> None:
        self.most = max(1, most)
        self.cpus = os.cpu_count() or 1
        self.threads = self.most
        try:
            self._last: tuple[int, int, int] | None = (*_cpu_ticks(), _own_ticks())
        except (OSError, ValueError):
            self._last = None

    def others(self, now: tuple[int, int, int]) -> float | None:
        """Cores' worth of CPU time other processes took since the last look, or None if too soon."""
        assert self._last is not None
        busy, total, own = (b - a for a, b in zip(self._last, now, strict=True))
        if total < MIN_TICKS:
            return None
        return max(busy - own, 0) / total * self.cpus

    def __call__(self) -> int:
        if self._last is None:
            return self.most
        try:
            now = (*_cpu_ticks(), _own_ticks())
        except (OSError, ValueError):
            return self.threads
        others = self.others(now)
        if others is not None:
            self._last = now
            self.threads = max(1, min(self.most, int(self.cpus - others + SLACK)))
        return self.threads
