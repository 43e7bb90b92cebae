"""Stopping the server while it is still starting: a container's `docker stop` during the first
start's weight import. As PID 1 a signal without a handler is ignored (then SIGKILL, exit 137), so
the server must catch SIGTERM from the moment it parses its arguments, and stop with exit code 0."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.server_process import ROOT, free_port


def _catches(pid: int, sig: signal.Signals) -> bool:
    """Whether the process has a handler for `sig` (Linux: SigCgt in /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (sig - 1) & 1)
    return False


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="needs Linux /proc")
def test_sigterm_before_serving_exits_cleanly(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    # The lexicon is a FIFO that we hold open and never write: startup blocks reading it, after the
    # model has loaded and before `serve` installs its own handlers, however fast or slow this machine.
    fifo = tmp_path / "lexicon.yaml"
    os.mkfifo(fifo)
    holder = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
    data = os.environ.get("WYOMING_KOKORO_TEST_DATA") or str(tmp_path_factory.mktemp("data"))
    log_path = tmp_path / "server.log"
    with open(log_path, "w+") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "wyoming_kokoro", "--uri", f"tcp://127.0.0.1:{free_port()}",
             "--data-dir", data, "--lexicon", str(fifo)],
            cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1"), stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 120
            while not _catches(proc.pid, signal.SIGTERM):
                assert proc.poll() is None, f"server exited: {log_path.read_text()[-2000:]}"
                assert time.monotonic() < deadline, "the server never installed a SIGTERM handler"
                time.sleep(0.2)
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            os.close(holder)
    text = log_path.read_text()
    assert code == 0, text[-2000:]
    assert "Stopped by SIGTERM before serving" in text
    assert "Ready on" not in text
