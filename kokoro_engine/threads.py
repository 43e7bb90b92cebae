"""How many threads a synthesis step runs on: the cores other processes leave free.

PyTorch runs each operator's loop on OpenMP threads (GNU libgomp in its CPU wheels), which spin at the
end of every parallel region until all of them have arrived; a reply runs thousands of such regions.
When another process holds one of the cores (Home Assistant itself, another add-on), a waiting
thread spins through its time slice while the thread it waits for is not running, region after
region. Sleeping instead of spinning (`OMP_WAIT_POLICY=PASSIVE`) costs a wake-up per region, which
on an idle box made two threads as slow as one. So the thread count follows the load instead: at the
start of each chunk and at each of the forward pass's pre-emption points (`kokoro_engine.preempt`),
`CoreShare` reads how much CPU time other processes took since it last looked, on the CPUs this
process may run on (a container's cpuset), and the work goes on on the cores they left (figures:
docs/PERFORMANCE.md).

Only a request without a seed follows the load. The thread count changes how PyTorch splits some
sums (a matrix product of few rows is split along its inner dimension), so a seeded request, which
promises the same audio every time, always runs on every thread: beside a busy core it is as slow as
a fixed count makes it.
"""

from __future__ import annotations

import itertools
import os
import time

# A core counts as free while others use less than this much of it: a box's background (Home
# Assistant's own timers, a shell) is not a process that holds a core.
SLACK = 0.3
# Ticks of all CPUs together that a look must span to say anything; shorter, the last answer stands.
MIN_TICKS = 10
# A look older than this says nothing of now: the load before a request (a speech-to-text add-on
# that has just finished, a benchmark's own work) is gone by the time it comes.
STALE_S = 0.25


def _allowed_cpus() -> frozenset[int] | None:
    """The CPUs this process may run on (a container's or `taskset`'s cpuset); None where unknown."""
    try:
        return frozenset(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return None


def _cpu_ticks(cpus: frozenset[int] | None) -> tuple[int, int]:
    """(busy, total) clock ticks since boot of `cpus` (None: all of the machine's), from /proc/stat;
    steal counts as busy: a hypervisor running other guests takes the core as surely as a process.
    Only the CPUs this process may use count: load elsewhere on the host leaves them free."""
    busy = total = 0
    with open("/proc/stat") as stat:
        # The machine's line comes first, then one per CPU, then the rest (not read).
        lines = [stat.readline()] if cpus is None else itertools.takewhile(lambda line: line.startswith("cpu"), stat)
        for line in lines:
            name, *values = line.split()
            if cpus is not None and (name == "cpu" or int(name[3:]) not in cpus):
                continue
            user, nice, system, idle, iowait, irq, softirq, steal = (int(v) for v in values[:8])
            used = user + nice + system + irq + softirq + steal
            busy, total = busy + used, total + used + idle + iowait
    return busy, total


def _own_ticks() -> int:
    """User and system clock ticks of this process, all its threads."""
    with open("/proc/self/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def _sample(cpus: frozenset[int] | None) -> tuple[int, int, int] | None:
    try:
        return (*_cpu_ticks(cpus), _own_ticks())
    except (OSError, ValueError):
        return None


class CoreShare:
    """The threads to run on: `most` (PyTorch's own count, the ceiling), less the cores other
    processes took while this process was working. `begin()` at the start of a chunk, then a look
    at each pre-emption point of the forward pass (`__call__`), each over the time since the last
    one: the load is measured while it matters, not before. Always `most` where /proc cannot be read."""

    def __init__(self, most: int) -> None:
        self.most = max(1, most)
        allowed = _allowed_cpus()
        # Every CPU: the machine-wide line, whatever CPUs are online.
        self._cpus = None if allowed is None or len(allowed) >= (os.cpu_count() or 1) else allowed
        self.cpus = len(allowed) if allowed else os.cpu_count() or 1
        self.threads = self.most
        self._last = _sample(self._cpus)
        self._last_time = time.monotonic()

    def begin(self) -> int:
        """At a chunk's start: after a pause, start again from `most` and look afresh; straight after
        another chunk, go on looking."""
        if time.monotonic() - self._last_time > STALE_S:
            self._last, self._last_time = _sample(self._cpus), time.monotonic()
            self.threads = self.most
            return self.threads
        return self()

    def __call__(self) -> int:
        if self._last is None or (now := _sample(self._cpus)) is None:
            return self.threads
        busy, total, own = (b - a for a, b in zip(self._last, now, strict=True))
        if total >= MIN_TICKS:
            others = max(busy - own, 0) / total * self.cpus
            self.threads = max(1, min(self.most, int(self.cpus - others + SLACK)))
            self._last, self._last_time = now, time.monotonic()
        return self.threads
