"""A real `python -m wyoming_kokoro` process for tests, serving the offline fallback (pip-installed real
weights, five real Japanese voice packs), importing this checkout."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, log: IO[str], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            pytest.fail(f"server exited: {log.read()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"server did not listen on port {port} within {timeout:.0f} s")


def wait_ready(proc: subprocess.Popen, log: IO[str], timeout: float = 300) -> None:
    """Until the server's warm-up has ended (its log says so): /health answers 200 from then on."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log.seek(0)
        text = log.read()
        if "Warm-up done" in text or "Warm-up failed" in text:
            return
        if proc.poll() is not None:
            pytest.fail(f"server exited: {text[-2000:]}")
        time.sleep(0.2)
    pytest.fail(f"server not warmed up within {timeout:.0f} s")


@contextmanager
def spawn_server(tmp_path_factory: pytest.TempPathFactory, *extra: str,
                 wait_ports: tuple[int, ...] = ()) -> Iterator[tuple[int, IO[str]]]:
    """Start the server on a free Wyoming port with `extra` options; yields (port, log file). Waits for
    the Wyoming port, `wait_ports` and the end of warm-up; on exit checks a clean shutdown and no unretrieved task error."""
    with server_process(tmp_path_factory, *extra, wait_ports=wait_ports) as (port, log, _proc):
        yield port, log


@contextmanager
def server_process(tmp_path_factory: pytest.TempPathFactory, *extra: str,
                   wait_ports: tuple[int, ...] = ()) -> Iterator[tuple[int, IO[str], subprocess.Popen]]:
    """spawn_server, also yielding the process (for tests that signal it themselves)."""
    port = free_port()
    data = os.environ.get("WYOMING_KOKORO_TEST_DATA") or str(tmp_path_factory.mktemp("data"))
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1")
    log = open(tmp_path_factory.mktemp("log") / "server.log", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "wyoming_kokoro", "--uri", f"tcp://127.0.0.1:{port}", "--data-dir", data,
                             "--samples-per-chunk", "1024", *extra], cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        for p in (port, *wait_ports):
            wait_for_port(p, proc, log)
        wait_ready(proc, log)
        yield port, log, proc
    finally:
        proc.terminate()
        code = proc.wait(timeout=20)
    assert code == 0
    log.seek(0)
    assert "Task exception was never retrieved" not in log.read()
