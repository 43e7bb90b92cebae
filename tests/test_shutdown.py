"""SIGTERM/SIGINT while a reply is being made (issue 13): the exchange in flight ends (an error, then
audio-stop) or the connection closes within seconds, and the process exits 0."""

from __future__ import annotations

import asyncio
import signal

import pytest
from wyoming.event import Event, async_read_event, async_write_event
from wyoming.tts import Synthesize

from tests.server_process import server_process
from tests.wyoming_client import run

END_S = 5  # the exchange must end (or the connection close) this soon after the signal


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_during_synthesis(tmp_path_factory: pytest.TempPathFactory, sig: signal.Signals) -> None:
    with server_process(tmp_path_factory) as (port, log, proc):

        async def scenario() -> list[Event]:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            await async_write_event(Synthesize(text="今日はいい天気ですね。" * 100).event(), writer)
            while (ev := await asyncio.wait_for(async_read_event(reader), 240)).type != "audio-chunk":
                pass  # until the reply is under way
            proc.send_signal(sig)
            after = []
            try:
                while (ev := await asyncio.wait_for(async_read_event(reader), END_S)) is not None:
                    after.append(ev)
                    if ev.type == "audio-stop":
                        break
            except ConnectionResetError:
                pass  # closed: allowed
            writer.close()
            return after

        after = run(scenario(), timeout=300)
        assert proc.wait(timeout=20) == 0
        if after and after[-1].type == "audio-stop":  # ended rather than cut: with its error
            assert [e.data["code"] for e in after if e.type == "error"] == ["shutting-down"]
        log.seek(0)
        text = log.read()
        assert "Traceback" not in text and "terminate called" not in text
