"""Downloads from a fake Hugging Face hub on 127.0.0.1 (tests/fakehub.py): resume, verification,
voices on first use, --update-voices and --local-files-only. Nothing here reaches the internet:
HF_ENDPOINT points at the fake hub, HF_HOME is a temporary folder."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from fakehub import FakeHub
from wyoming.client import AsyncTcpClient
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Describe, Info
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop, SynthesizeVoice

from tests.wyoming_client import audio_samples, exchange
from tests.wyoming_client import run as _run
from wyoming_kokoro import download
from wyoming_kokoro.download import DownloadError, RemoteFileMissing, download_file

ROOT = Path(__file__).resolve().parent.parent
MODEL = "kokoro-v1_0.pth"
MB = 1024 * 1024


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith((".incomplete", ".tmp", ".lock")))


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory):
    """The fake hub, with this process pointed at it (env and huggingface_hub's import-time constants)."""
    import huggingface_hub.constants as hf_constants

    outside: list[str] = []
    real_getaddrinfo = socket.getaddrinfo

    def local_only(host, *args, **kwargs):  # a guard: this process may only talk to 127.0.0.1
        if host not in ("127.0.0.1", "localhost", None):
            outside.append(str(host))
            raise OSError(f"test tried to reach {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    with FakeHub() as fake, pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket, "getaddrinfo", local_only)
        mp.setenv("HF_ENDPOINT", fake.url)
        mp.setenv("HF_HOME", str(tmp_path_factory.mktemp("hf-home")))
        mp.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
        mp.delenv("HF_HUB_OFFLINE", raising=False)
        mp.setattr(hf_constants, "ENDPOINT", fake.url)
        mp.setattr(hf_constants, "HF_HUB_OFFLINE", False)
        download.hub_reachable.cache_clear()
        yield fake
    download.hub_reachable.cache_clear()
    assert outside == []


# --- unit level: download_file ---------------------------------------------------------------------

def test_interrupted_transfer_is_resumed_not_restarted(hub: FakeHub, tmp_path: Path) -> None:
    data = os.urandom(25 * MB)
    sha = hub.add("voices/cut_me.pt", data)
    hub.cut_after["voices/cut_me.pt"] = 15 * MB  # the first GET breaks off after 15 MB
    path = download_file("voices/cut_me.pt", tmp_path)
    assert path == tmp_path / "voices" / "cut_me.pt" and _sha(path) == sha
    gets = hub.log("GET", "voices/cut_me.pt")
    # huggingface_hub writes in 10 MB chunks: what reached the file before the cut is kept and the
    # rest is asked for with a Range request (a restart from zero would be a second plain GET).
    assert gets[0].range is None and len(gets) == 2
    assert gets[1].range is not None and gets[1].range.startswith("bytes=") and gets[1].range != "bytes=0-"
    assert os.listdir(tmp_path / "voices") == ["cut_me.pt"]


def test_partial_file_from_an_earlier_run_is_continued(hub: FakeHub, tmp_path: Path) -> None:
    data = os.urandom(3 * MB)
    sha = hub.add("voices/half.pt", data)
    # What a killed process leaves behind: the first MB in the resumable partial file.
    (tmp_path / "voices").mkdir()
    (tmp_path / "voices" / f"half.pt.{sha[:16]}.incomplete").write_bytes(data[:MB])
    (tmp_path / "voices" / "half.pt.0123456789abcdef.incomplete").write_bytes(b"stale")  # older revision
    path = download_file("voices/half.pt", tmp_path)
    assert _sha(path) == sha
    assert [r.range for r in hub.log("GET", "voices/half.pt")] == [f"bytes={MB}-"]
    assert os.listdir(tmp_path / "voices") == ["half.pt"]


def test_corrupt_download_is_rejected(hub: FakeHub, tmp_path: Path) -> None:
    data = os.urandom(2 * MB)
    hub.add("voices/corrupt.pt", data)
    hub.announce["voices/corrupt.pt"] = hashlib.sha256(b"what the file should have been").hexdigest()
    with pytest.raises(DownloadError, match="corrupt"):
        download_file("voices/corrupt.pt", tmp_path)
    assert not (tmp_path / "voices" / "corrupt.pt").exists()
    assert _leftovers(tmp_path) == []  # nothing half-trusted kept either
    # Once the hub serves what it announces, the same call succeeds.
    del hub.announce["voices/corrupt.pt"]
    assert _sha(download_file("voices/corrupt.pt", tmp_path)) == hashlib.sha256(data).hexdigest()


def test_missing_file_and_local_only(hub: FakeHub, tmp_path: Path) -> None:
    with pytest.raises(RemoteFileMissing):
        download_file("voices/nobody.pt", tmp_path)
    assert not (tmp_path / "voices" / "nobody.pt").exists()
    hub.add("voices/local.pt", b"x" * 1000)
    hub.clear_log()
    with pytest.raises(DownloadError):
        download_file("voices/local.pt", tmp_path, local_files_only=True)
    assert hub.log() == []  # not one request


def test_update_voices_replaces_only_with_a_verified_copy(hub: FakeHub, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from wyoming_kokoro.__main__ import _update_voices
    from wyoming_kokoro.catalog import load_catalog

    catalog = load_catalog()
    voices = tmp_path / "voices"
    voices.mkdir()
    (voices / "am_adam.pt").write_bytes(b"old adam")
    (voices / "am_echo.pt").write_bytes(b"old echo")
    (voices / "am_eric.pt").write_bytes(b"same eric")
    new_adam = hub.add("voices/am_adam.pt", b"new adam" * 1000)
    hub.add("voices/am_echo.pt", b"new echo" * 1000)
    hub.announce["voices/am_echo.pt"] = "0" * 64  # corrupt transfer: keep the old file
    hub.add("voices/am_eric.pt", b"same eric")
    hub.clear_log()
    _update_voices(catalog, tmp_path)
    assert _sha(voices / "am_adam.pt") == new_adam
    assert (voices / "am_echo.pt").read_bytes() == b"old echo"
    assert (voices / "am_eric.pt").read_bytes() == b"same eric"
    assert hub.log("GET", "voices/am_eric.pt") == []  # up to date: checked by sha256, not fetched
    assert _leftovers(tmp_path) == []

    # Hub unreachable: nothing is touched, nothing deleted.
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{_free_port()}")
    download.hub_reachable.cache_clear()
    try:
        before = {p.name: p.read_bytes() for p in voices.iterdir()}
        _update_voices(catalog, tmp_path)
        assert {p.name: p.read_bytes() for p in voices.iterdir()} == before
    finally:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        download.hub_reachable.cache_clear()


# --- end to end: the real server process -----------------------------------------------------------

@pytest.fixture(scope="session")
def original_layout_pth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real Kokoro weights as the published kokoro-v1_0.pth stores them: one state dict per
    sub-module, keys with DataParallel's `module.` prefix."""
    from realweights import real_model_path
    from safetensors.torch import load_file

    flat = load_file(str(real_model_path()))
    nested: dict[str, dict[str, torch.Tensor]] = {}
    for key, tensor in flat.items():
        top, rest = key.split(".", 1)
        nested.setdefault(top, {})[f"module.{rest}"] = tensor
    assert set(nested) == {"bert", "bert_encoder", "predictor", "text_encoder", "decoder"}
    path = tmp_path_factory.mktemp("hub-files") / MODEL
    torch.save(nested, path)
    return path


def _pack_bytes(name: str) -> bytes:
    from kokoro_engine.io.voices import VoiceLibrary

    buf = io.BytesIO()
    torch.save(VoiceLibrary().get(name).tensor.clone(), buf)
    return buf.getvalue()


class Server:
    def __init__(self, data: Path, hub: FakeHub, log: Path, *extra: str) -> None:
        self.port = _free_port()
        env = {k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"}
        env.update(PYTHONPATH=str(ROOT), HF_ENDPOINT=hub.url, HF_HOME=os.environ["HF_HOME"],
                   HF_HUB_DISABLE_TELEMETRY="1")
        self.log = open(log, "w+")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "wyoming_kokoro", "--uri", f"tcp://127.0.0.1:{self.port}",
             "--data-dir", str(data), *extra], cwd=ROOT, env=env, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"server exited: {self.text()[-3000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.3)
        self.proc.kill()
        pytest.fail(f"server did not start: {self.text()[-3000:]}")

    def text(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> None:
        self.proc.terminate()
        assert self.proc.wait(timeout=30) == 0
        assert "Task exception was never retrieved" not in self.text()
        assert "Traceback" not in self.text()
        self.log.close()


@pytest.fixture(scope="module")
def e2e(hub: FakeHub, original_layout_pth: Path, tmp_path_factory: pytest.TempPathFactory):
    shas = {MODEL: hub.add(MODEL, original_layout_pth)}
    # Only the five Japanese packs exist offline, so real packs travel under English names: this
    # test is about transport (download, verification, first use), not about how af_bella sounds.
    shas["voices/af_heart.pt"] = hub.add("voices/af_heart.pt", _pack_bytes("jf_alpha"))
    shas["voices/af_bella.pt"] = hub.add("voices/af_bella.pt", _pack_bytes("jf_gongitsune"))
    shas["voices/bf_emma.pt"] = hub.add("voices/bf_emma.pt", _pack_bytes("jf_nezumi"))
    shas["voices/am_adam.pt"] = hub.add("voices/am_adam.pt", _pack_bytes("jm_kumo"))
    hub.remove("voices/af_sarah.pt")  # in the catalog, but the hub answers 404
    hub.cut_after[MODEL] = 60 * MB  # the model transfer breaks off once
    hub.clear_log()
    data = tmp_path_factory.mktemp("e2e-data")
    server = Server(data, hub, tmp_path_factory.mktemp("log") / "server.log")
    yield server, data, shas
    if server.proc.poll() is None:
        server.stop()


def run(coro):
    return _run(coro, 200)


def _installed(port: int) -> dict[str, bool]:
    info = Info.from_event(run(exchange(port, [Describe().event()], until="info"))[-1])
    return {v.name: v.installed for v in info.tts[0].voices}


def _well_formed(events: list[Event]) -> None:
    types = [e.type for e in events]
    assert types.count("audio-start") == 1 and types.count("audio-stop") == 1
    assert types.index("audio-start") < types.index("audio-stop") == len(types) - 1


def _say(voice: str, text: str = "Hello there. This is a test.") -> Event:
    return Synthesize(text=text, voice=SynthesizeVoice(name=voice)).event()


def test_e2e_first_start_downloads_model_and_default_voice(hub: FakeHub, e2e) -> None:
    server, data, shas = e2e
    assert _sha(data / MODEL) == shas[MODEL]
    assert _sha(data / "voices" / "af_heart.pt") == shas["voices/af_heart.pt"]
    assert not (data / "voices" / "af_bella.pt").exists()  # voices other than the default: on first use
    model_gets = hub.log("GET", MODEL)
    assert model_gets[0].range is None and any(r.range and r.range != "bytes=0-" for r in model_gets[1:])
    assert _leftovers(data) == []
    assert "Downloaded" in server.text()


def test_e2e_describe_advertises_downloadable_voices(e2e) -> None:
    server, _, _ = e2e
    installed = _installed(server.port)
    assert len(installed) == 54
    assert installed["af_heart"] and installed["af_bella"] and installed["af_sarah"]


def test_e2e_voice_downloaded_once_on_first_use(hub: FakeHub, e2e) -> None:
    server, data, shas = e2e
    hub.clear_log()

    async def scenario() -> tuple[list[Event], list[Event], float]:
        first = asyncio.create_task(exchange(server.port, [_say("af_bella")]))
        second = asyncio.create_task(exchange(server.port, [_say("af_bella", "Second request, same voice.")]))
        await asyncio.sleep(0.05)
        t0 = time.monotonic()  # `describe` keeps answering while the voice downloads
        async with AsyncTcpClient("127.0.0.1", server.port) as other:
            await other.write_event(Describe().event())
            ev = await asyncio.wait_for(other.read_event(), 5)
            assert ev is not None and Info.is_type(ev.type)
            describe_s = time.monotonic() - t0
        return await first, await second, describe_s

    a, b, describe_s = run(scenario())
    assert describe_s < 5
    for events in (a, b):
        _well_formed(events)
        assert not any(Error.is_type(e.type) for e in events)
        pcm = audio_samples(events)
        assert len(pcm) > 24000 * 0.5 and np.abs(pcm).max() > 1000  # real speech, not silence
    assert len(hub.log("GET", "voices/af_bella.pt")) == 1
    assert _sha(data / "voices" / "af_bella.pt") == shas["voices/af_bella.pt"]
    # Later requests use the file on disk: no more hub traffic for it.
    _well_formed(run(exchange(server.port, [_say("af_bella", "Once more.")])))
    assert len(hub.log(path="voices/af_bella.pt")) == 2  # one HEAD, one GET in all


def test_e2e_failed_voice_download_gets_error_and_end(hub: FakeHub, e2e) -> None:
    server, data, _ = e2e
    events = run(exchange(server.port, [_say("af_sarah")]))
    errors = [Error.from_event(e) for e in events if Error.is_type(e.type)]
    assert errors and errors[0].code == "voice-download-failed"
    _well_formed(events)
    assert len(audio_samples(events)) == 0
    assert not (data / "voices" / "af_sarah.pt").exists() and _leftovers(data) == []
    # still serving; the voice the hub does not have is no longer advertised
    assert _installed(server.port)["af_sarah"] is False
    events = run(exchange(server.port, [_say("af_heart", "Still here.")]))
    _well_formed(events)
    assert np.abs(audio_samples(events)).max() > 1000
    assert server.proc.poll() is None


def test_e2e_streaming_first_use_and_failure(hub: FakeHub, e2e) -> None:
    server, data, shas = e2e

    def stream(voice: str) -> list[Event]:
        evs = [SynthesizeStart(voice=SynthesizeVoice(name=voice)).event(),
               SynthesizeChunk(text="Good morning. The kettle is ").event(),
               SynthesizeChunk(text="on.").event(), SynthesizeStop().event()]
        events = run(exchange(server.port, evs, until="synthesize-stopped"))
        assert [e.type for e in events].count("synthesize-stopped") == 1
        _well_formed(events[:-1])
        return events

    hub.clear_log()
    events = stream("bf_emma")  # downloaded on first use from a streamed request too
    assert not any(Error.is_type(e.type) for e in events) and np.abs(audio_samples(events)).max() > 1000
    assert _sha(data / "voices" / "bf_emma.pt") == shas["voices/bf_emma.pt"]
    assert len(hub.log("GET", "voices/bf_emma.pt")) == 1
    events = stream("am_michael")  # in the catalog, 404 on the hub
    errors = [Error.from_event(e) for e in events if Error.is_type(e.type)]
    assert [e.code for e in errors] == ["voice-download-failed"] and len(audio_samples(events)) == 0
    assert server.proc.poll() is None


def test_e2e_ssml_span_voice_downloaded_on_first_use(hub: FakeHub, e2e) -> None:
    """`<voice name="Adam">` (a display name) downloads am_adam on first use, as a request's voice would,
    plain and from an SSML stream; the span is then spoken by it, not by the request's voice."""
    server, data, shas = e2e
    doc = '<speak>Good evening. <voice name="Adam">The kettle is on.</voice></speak>'
    assert not (data / "voices" / "am_adam.pt").exists()
    hub.clear_log()
    events = run(exchange(server.port, [Synthesize(text=doc, text_format="ssml").event()]))
    _well_formed(events)
    assert not any(Error.is_type(e.type) for e in events)
    assert _sha(data / "voices" / "am_adam.pt") == shas["voices/am_adam.pt"]
    assert len(hub.log("GET", "voices/am_adam.pt")) == 1
    spoken = len(audio_samples(events))
    same = run(exchange(server.port, [Synthesize(text=doc.replace("Adam", "am_adam"), text_format="ssml").event()]))
    assert len(audio_samples(same)) == spoken
    without = run(exchange(server.port, [Synthesize(text=doc.replace(' name="Adam"', ""), text_format="ssml").event()]))
    assert len(audio_samples(without)) != spoken  # af_heart (another pack) would say it differently
    assert "keeping the request's voice" not in server.text()
    # a streamed SSML document fetches its span voice too (am_liam: not on the hub, so a warning, and the
    # span keeps the request's voice; the exchange itself succeeds)
    evs = [SynthesizeStart(text_format="ssml").event(),
           SynthesizeChunk(text='<speak>Good evening. <voice name="Liam">The kettle').event(),
           SynthesizeChunk(text=" is on.</voice></speak>").event(), SynthesizeStop().event()]
    streamed = run(exchange(server.port, evs, until="synthesize-stopped"))
    assert not any(Error.is_type(e.type) for e in streamed)
    assert len(audio_samples(streamed)) == len(audio_samples(without))
    assert hub.log(path="voices/am_liam.pt") and "SSML <voice name='Liam'>" in server.text()


def test_e2e_restart_update_voices(hub: FakeHub, e2e, tmp_path: Path) -> None:
    server, data, shas = e2e
    server.stop()
    new_bella = hub.add("voices/af_bella.pt", _pack_bytes("jf_tebukuro"))  # a new revision on the hub
    hub.clear_log()
    again = Server(data, hub, tmp_path / "update.log", "--update-voices")
    try:
        assert _sha(data / "voices" / "af_bella.pt") == new_bella
        assert _sha(data / "voices" / "af_heart.pt") == shas["voices/af_heart.pt"]
        assert hub.log("GET", "voices/af_heart.pt") == []  # unchanged: compared by sha256, not fetched
        assert hub.log("GET", MODEL) == []  # the model is not a voice
        assert _leftovers(data) == []
        events = run(exchange(again.port, [_say("af_bella", "Updated.")]))
        _well_formed(events)
        assert np.abs(audio_samples(events)).max() > 1000
    finally:
        again.stop()


def test_e2e_restart_local_files_only(hub: FakeHub, e2e, tmp_path: Path) -> None:
    _, data, _ = e2e
    hub.clear_log()
    again = Server(data, hub, tmp_path / "local.log", "--local-files-only")
    try:
        installed = _installed(again.port)
        assert installed["af_heart"] and installed["af_bella"]  # on disk
        assert not installed["af_sarah"] and not installed["af_nicole"]  # would need a download
        events = run(exchange(again.port, [_say("af_nicole")]))
        assert any(Error.is_type(e.type) for e in events)
        _well_formed(events)
        events = run(exchange(again.port, [_say("af_bella", "From the disk.")]))
        _well_formed(events)
        assert np.abs(audio_samples(events)).max() > 1000
        assert hub.log() == []  # not a single request reached the hub
    finally:
        again.stop()
