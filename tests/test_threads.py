"""A reply on a busy box: a request without a seed runs on the cores other processes leave free
(kokoro_engine/threads.py); a seeded one keeps every thread, so its audio stays the same."""

from __future__ import annotations

import logging
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
import torch

from kokoro_engine import preempt
from kokoro_engine.threads import STALE_S, CoreShare, _cpu_ticks

pytestmark = pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: there is no thread count to change")


def spin(seconds: float) -> list[str]:
    """The command line of a process that keeps one core busy for `seconds`."""
    return [sys.executable, "-c", f"import time\nend = time.time() + {seconds}\nwhile time.time() < end: pass"]


@contextmanager
def every_core_busy(seconds: float) -> Iterator[None]:
    """One busy process per core, for `seconds` at most (killed when the block ends)."""
    busy = [subprocess.Popen(spin(seconds)) for _ in range(os.cpu_count() or 1)]
    try:
        time.sleep(0.3)  # the processes are up and spinning
        yield
    finally:
        for process in busy:
            process.kill()
            process.wait()


def test_threads_follow_the_load_while_it_lasts_not_after():
    share = CoreShare(2)
    assert share.begin() == 2
    with every_core_busy(1.0):
        time.sleep(0.1)
        assert share() == 1  # a look during the load: one thread
        time.sleep(0.4)
    time.sleep(STALE_S + 0.1)
    # A chunk that starts after the load has gone gets every thread again: the look since the last
    # one would still see the load's last half second.
    assert share.begin() == 2


def test_only_the_cpus_this_process_may_use_are_looked_at():
    """A container pinned to some of the host's cores (a cpuset) is not slowed by load on the others:
    a core's busy time comes from that core's own line of /proc/stat."""
    cpus = sorted(os.sched_getaffinity(0))
    pinned = cpus[-1]
    before = _cpu_ticks(frozenset({pinned})), _cpu_ticks(None)
    spent = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(["taskset", "-c", str(pinned), *spin(1.0)], check=True)
    child = resource.getrusage(resource.RUSAGE_CHILDREN)
    after = _cpu_ticks(frozenset({pinned})), _cpu_ticks(None)
    child_ticks = (child.ru_utime + child.ru_stime - spent.ru_utime - spent.ru_stime) * os.sysconf("SC_CLK_TCK")
    (busy, total), (_, machine_total) = ((a[0] - b[0], a[1] - b[1]) for a, b in zip(after, before, strict=True))
    assert busy >= 0.8 * child_ticks  # the pinned process's time is on its core's line
    assert total <= 1.5 * machine_total / (os.cpu_count() or 1)  # one core's ticks, not the machine's


def test_an_interrupted_pass_goes_on_with_its_own_thread_count():
    """A chunk that jumps in at a pre-emption point sets its own count; the pass it interrupted
    paces itself after it, so a seeded pass resumes on every thread."""
    torch.set_num_threads(2)
    preempt.install(lambda: torch.set_num_threads(1))  # the chunk that jumped in ran on one thread
    outer = preempt.pace(lambda: torch.set_num_threads(2))
    try:
        preempt.point("cpu")
        assert torch.get_num_threads() == 2
    finally:
        preempt.pace(outer)
        preempt.install(None)
        torch.set_num_threads(2)


def _threads_of_chunks(records: list[logging.LogRecord]) -> list[int]:
    return [int(r.getMessage().rsplit(" on ", 1)[1].split()[0]) for r in records if "thread(s)" in r.getMessage()]


@pytest.mark.slow
def test_a_busy_box_costs_an_unseeded_reply_a_thread_and_a_seeded_one_nothing(caplog):
    from kokoro_engine.pipeline import KokoroEngine
    from tests.realweights import real_model_path

    torch.set_num_threads(2)
    engine = KokoroEngine.load(real_model_path(), device="cpu")
    text = "The hallway fan is on. It is twenty one degrees inside and rain is expected tonight."

    def seeded() -> np.ndarray:
        return np.concatenate([c.audio for c in engine.synthesize(text, "jf_alpha", lang="a", seed=7)])

    quiet = seeded()
    caplog.set_level(logging.DEBUG, logger="kokoro_engine.pipeline")
    with every_core_busy(60):
        caplog.clear()
        unseeded = list(engine.synthesize(text, "jf_alpha", lang="a"))
        unseeded_threads = _threads_of_chunks(caplog.records)
        caplog.clear()
        busy = seeded()
        seeded_threads = _threads_of_chunks(caplog.records)
    assert len(unseeded_threads) == len(unseeded) == 2
    assert unseeded_threads[-1] == 1  # by its end the reply runs on the core the others leave
    assert seeded_threads == [2, 2]
    assert np.array_equal(busy, quiet)  # the thread count changes sums' rounding: the seed's audio holds
    assert torch.get_num_threads() == 2
