"""A voice file that is on disk but truncated (issue 13): found at its first use, the request gets an
error exchange naming the voice, describe stops advertising it, the other voices keep working."""

from __future__ import annotations

import pytest
from wyoming.info import Describe
from wyoming.tts import Synthesize, SynthesizeVoice

from tests.server_process import spawn_server
from tests.wyoming_client import exchange, run

BROKEN = "jf_nezumi"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    import torch

    from tests.realweights import voice_pack

    voices = tmp_path_factory.mktemp("broken") / "voices"
    voices.mkdir()
    path = voices / f"{BROKEN}.pt"
    torch.save(voice_pack(BROKEN).clone(), path)  # a real pack, then cut in half: wins over the bundle
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with spawn_server(tmp_path_factory, "--data-dir", str(voices.parent)) as running:
        yield running


def _advertised(port: int) -> dict[str, bool]:
    info = run(exchange(port, [Describe().event()], until="info"), timeout=30)[-1]
    return {v["name"]: v["installed"] for v in info.data["tts"][0]["voices"]}


def _say(port: int, voice: str) -> list:
    return run(exchange(port, [Synthesize(text="こんにちは。", voice=SynthesizeVoice(name=voice)).event()]))


def test_truncated_voice_fails_once_then_is_withdrawn(server) -> None:
    port, log = server
    assert _advertised(port).get(BROKEN) is True  # not read until first use
    events = _say(port, BROKEN)
    types = [e.type for e in events]
    assert "error" in types and types[-1] == "audio-stop" and "audio-chunk" not in types, types
    error = next(e for e in events if e.type == "error")
    assert BROKEN in error.data["text"] and error.data["code"] == "voice-unusable"
    # no server path and no loader message reach the client (the log has them)
    assert "/" not in error.data["text"] and ".pt" not in error.data["text"], error.data["text"]
    assert _advertised(port).get(BROKEN) is not True  # no longer offered
    again = _say(port, BROKEN)
    assert any(e.type == "error" for e in again) and again[-1].type == "audio-stop"
    fine = _say(port, "jf_alpha")  # the others keep working
    assert any(e.type == "audio-chunk" for e in fine) and not any(e.type == "error" for e in fine)
    log.seek(0)
    text = log.read()
    assert text.count(f"Voice {BROKEN} is no longer offered") == 1 and "Traceback" not in text
