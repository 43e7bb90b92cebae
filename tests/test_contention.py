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

TEXTS = ["Turned on the kitchen lights.", "Turned off the garage heater.", "The hallway fan is on.",
         "Turned off the office lamp.", "The bedroom blinds are open.", "Turned on the garden sprinkler."]


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
        time.sleep(1)  # the server looks at the load of the time since its last step
        try:
            beside_a_busy_core = replies(TEXTS[3:])
        finally:
            busy.kill()
            busy.wait()
    assert beside_a_busy_core < 1.5 * alone, (alone, beside_a_busy_core)
