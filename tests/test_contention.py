"""A reply on a busy box. The server's threads wait for each other asleep, not spinning
(kokoro_engine/threads.py): with another process holding one core, a spinning wait burns its time
slice at every step of the reply while the thread it waits for is not running, so a one-line reply
took twenty times its CPU time. Counted here as work, the CPU seconds the server spends per reply,
which a spinning wait inflates and a sleeping one does not (on an otherwise idle machine: where other
processes load it already, both waits cost alike in both runs), and as the policy OpenMP reports."""

from __future__ import annotations

import os
import subprocess
import sys

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


def test_a_busy_core_beside_the_server_costs_its_replies_no_extra_work(tmp_path_factory, monkeypatch):
    # libgomp prints what it runs with, once; unset, it reports PASSIVE but spins 300,000 rounds first
    monkeypatch.setenv("OMP_DISPLAY_ENV", "VERBOSE")
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    with server_process(tmp_path_factory, "--audio-cache-mb", "0") as (port, log, proc):
        log.seek(0)
        assert "GOMP_SPINCOUNT = '0'" in log.read()

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
    assert beside_a_busy_core < 2 * alone, (alone, beside_a_busy_core)
