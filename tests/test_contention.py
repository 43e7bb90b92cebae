"""A reply on a busy box. The server runs each step on the cores other processes leave free
(kokoro_engine/threads.py): OpenMP's threads spin while they wait for each other, and with another
process holding one core a spinning thread burns its time slice at every step of the reply while the
thread it waits for is not running. Counted here as work: the CPU seconds the server spends per
reply, which that spinning inflates."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from wyoming.tts import Synthesize, SynthesizeVoice

from tests.server_process import server_process
from tests.wyoming_client import audio_samples, exchange, run

TEXTS = ["Turned on the kitchen lights. The oven is preheating and the dishwasher has finished its cycle.",
         "Turned off the garage heater. The front door is locked and the porch light is on.",
         "The hallway fan is on. It is twenty one degrees inside and rain is expected tonight.",
         "Turned off the office lamp. The washing machine has twelve minutes left to run.",
         "The bedroom blinds are open. Your next alarm is set for half past six tomorrow.",
         "Turned on the garden sprinkler. The soil moisture in the vegetable bed is low."]


def cpu_seconds(pid: int) -> float:
    """User and system time of every thread of the process so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_a_busy_core_beside_the_server_costs_its_replies_no_extra_work(tmp_path_factory):
    with server_process(tmp_path_factory, "--audio-cache-mb", "0") as (port, _log, proc):

        def replies(texts: list[str]) -> float:
            start = cpu_seconds(proc.pid)
            for text in texts:
                events = run(exchange(port, [Synthesize(text=text, voice=SynthesizeVoice(name="jf_alpha")).event()]))
                assert len(audio_samples(events)) > 24_000  # a second of speech at least
            return cpu_seconds(proc.pid) - start

        alone = replies(TEXTS[:3])
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            beside_a_busy_core = replies(TEXTS[3:])
        finally:
            busy.kill()
            busy.wait()
    assert beside_a_busy_core < 1.5 * alone, (alone, beside_a_busy_core)


def _spin(seconds: float) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", f"import time\nend = time.time() + {seconds}\nwhile time.time() < end: pass"])
            for _ in range(os.cpu_count() or 1)]


def test_threads_follow_the_load_while_it_lasts_not_after():
    from kokoro_engine.threads import STALE_S, CoreShare

    share = CoreShare(2)
    assert share.begin() == 2
    busy = _spin(1.0)  # every core taken
    try:
        time.sleep(0.4)
        assert share() == 1  # a look during the load: one thread
    finally:
        for p in busy:
            p.wait()
    time.sleep(STALE_S + 0.1)
    assert share.begin() == 2  # a chunk that starts after the load has gone gets every thread again
