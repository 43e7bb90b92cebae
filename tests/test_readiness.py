"""Readiness: a real server process answers `/health` with 503 "starting" until its warm-up has ended,
then 200 "ok" for good; Wyoming `describe` is answered at once meanwhile (Home Assistant's discovery
must not wait for a warm-up)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from wyoming.client import AsyncClient
from wyoming.info import Describe, Info

from tests.server_process import ROOT, free_port
from wyoming_kokoro.health_check import check

pytestmark = pytest.mark.slow


def health(port: int) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


async def describe(port: int) -> Info:
    async with AsyncClient.from_uri(f"tcp://127.0.0.1:{port}") as client:
        await client.write_event(Describe().event())
        while True:
            event = await asyncio.wait_for(client.read_event(), 10)
            assert event is not None
            if Info.is_type(event.type):
                return Info.from_event(event)


def test_health_is_starting_until_warm_up_ends_and_describe_answers_meanwhile(tmp_path) -> None:
    wy_port, http_port = free_port(), free_port()
    log = open(tmp_path / "server.log", "w+")
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1")
    proc = subprocess.Popen([sys.executable, "-m", "wyoming_kokoro", "--uri", f"tcp://127.0.0.1:{wy_port}",
                             "--http", f"tcp://127.0.0.1:{http_port}", "--data-dir", str(tmp_path / "data")],
                            cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        # The HTTP port listens before the warm-up is queued, and the warm-up's first model call takes
        # seconds: the first answer, asked for the moment the port accepts, is "starting".
        deadline = time.monotonic() + 300
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, "server did not listen"
            try:
                socket.create_connection(("127.0.0.1", http_port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.01)
        status, body = health(http_port)
        assert (status, body["status"]) == (503, "starting"), body
        assert body["jobs"] >= 1  # the warm-up is on the worker
        info = asyncio.run(describe(wy_port))
        assert any(v.installed for p in info.tts for v in p.voices)
        wyoming, http = f"tcp://127.0.0.1:{wy_port}", f"tcp://127.0.0.1:{http_port}"
        # the image's HEALTHCHECK (compose): not healthy while starting, though describe answers
        assert asyncio.run(check(wyoming, 10)) and not asyncio.run(check(wyoming, 10, http))
        status, body = health(http_port)
        assert (status, body["status"]) == (503, "starting"), "describe waited for the warm-up"
        log.seek(0)
        assert "Warm-up done" not in log.read()
        while status == 503:
            assert time.monotonic() < deadline, "never ready"
            time.sleep(0.05)
            status, body = health(http_port)
        assert (status, body["status"]) == (200, "ok")
        log.seek(0)
        assert "Warm-up done" in log.read()  # ready only once the warm-up has ended
        for _ in range(5):  # and for good
            assert health(http_port)[0] == 200
        assert asyncio.run(check(wyoming, 10, http))
    finally:
        proc.terminate()
        assert proc.wait(timeout=20) == 0
