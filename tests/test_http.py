"""The HTTP face through real clients: the official `openai` client, plain HTTP, and Debian's chromium
driven by Selenium, against a real server process (real weights, offline fallback voices)."""

from __future__ import annotations

import io
import json
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from tests.server_process import ROOT, free_port, spawn_server

openai = pytest.importorskip("openai")
sf = pytest.importorskip("soundfile")

KEY = "test-key-15"
RATE = 24000
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def http(tmp_path_factory: pytest.TempPathFactory):
    port = free_port()
    with spawn_server(tmp_path_factory, "--http", f"tcp://127.0.0.1:{port}", "--api-key", KEY, "--debug",
                      wait_ports=(port,)) as (wy_port, log):
        yield port, wy_port, log


def client(port: int, key: str = KEY):
    return openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=key, max_retries=0, timeout=280)


def decode(data: bytes, fmt: str) -> np.ndarray:
    if fmt == "pcm":
        return np.frombuffer(data, "<i2").astype(np.float32) / 32768.0
    audio, rate = sf.read(io.BytesIO(data), dtype="float32")
    assert rate == RATE
    return audio


def get_json(port: int, path: str, key: str | None = KEY) -> dict:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                 headers={"Authorization": f"Bearer {key}"} if key else {})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


TEXT = "Good morning. The kitchen lights are on, and the coffee is ready."


def test_speech_every_format_decodes_to_the_same_speech(http) -> None:
    port, _, _ = http
    c = client(port)
    # pcm first: later formats are the same rendering (the engine's audio cache), so they must decode to it
    ref = decode(c.audio.speech.create(model="tts-1", voice="jf_alpha", input=TEXT, response_format="pcm").read(),
                 "pcm")
    assert 2.0 < len(ref) / RATE < 8.0 and np.abs(ref).max() > 0.1
    assert np.mean(np.abs(ref) > 0.02) > 0.3  # mostly voiced, not silence with a click
    for fmt in ("wav", "flac", "opus", "mp3"):
        resp = c.audio.speech.with_raw_response.create(model="kokoro", voice="jf_alpha", input=TEXT,
                                                       response_format=fmt)
        audio = decode(resp.content, fmt)
        if fmt in ("wav", "flac"):  # lossless: the very samples
            assert len(audio) == len(ref) and np.abs(audio - ref).max() < 1e-3, fmt
        else:  # lossy: same length (MP3 adds up to two frames of encoder delay), same loudness
            assert len(ref) <= len(audio) <= len(ref) + 2 * 1152, (fmt, len(audio), len(ref))
            assert abs(np.sqrt(np.mean(audio ** 2)) / np.sqrt(np.mean(ref ** 2)) - 1) < 0.2, fmt
        assert resp.headers["x-kokoro-voice"] == "jf_alpha"


def test_streaming_sends_audio_before_synthesis_ends(http) -> None:
    port, _, log = http
    sentences = [f"This is sentence number {n}, spoken to fill some time." for n in
                 ("one", "two", "three", "four", "five", "six", "seven", "eight")]
    log.seek(0, 2)
    with client(port).audio.speech.with_streaming_response.create(
            model="tts-1", voice="jm_kumo", input=" ".join(sentences), response_format="pcm") as resp:
        assert resp.headers.get("transfer-encoding") == "chunked"
        pieces = resp.iter_bytes()
        first = next(pieces)
        done_at_first = log.read().count(" tokens → ")  # chunks the engine had finished by then
        total = len(first) + sum(len(p) for p in pieces)
    assert first and done_at_first < len(sentences)
    log.seek(0)
    assert total / 2 / RATE > 8 * 1.5  # eight sentences of speech arrived in the end


def test_openai_voice_names_speed_and_blends(http) -> None:
    port, _, _ = http
    c = client(port)
    resp = c.audio.speech.with_raw_response.create(model="tts-1", voice="alloy", input="Hello there.",
                                                   response_format="pcm")
    assert resp.headers["x-kokoro-voice"] == "jf_alpha"  # af_alloy is not installed: the default voice
    blend = c.audio.speech.with_raw_response.create(model="tts-1", voice="Kumo:0.6+jf_alpha:0.4",
                                                    input="Hello there.", response_format="pcm")
    assert blend.headers["x-kokoro-voice"] == "jm_kumo:0.6+jf_alpha:0.4"
    text = "The front door is locked and the alarm is set."
    lengths = {s: len(decode(c.audio.speech.create(model="tts-1", voice="jf_alpha", input=text,
                                                   response_format="pcm", speed=s).read(), "pcm"))
               for s in (1.0, 2.0, 4.0)}
    assert 0.4 < lengths[2.0] / lengths[1.0] < 0.65
    assert abs(lengths[4.0] / lengths[2.0] - 1) < 0.1  # 4.0 is spoken at the clamp, 2.0


@pytest.mark.parametrize("kwargs,error,status", [
    ({"voice": "xx_nobody"}, "NotFoundError", 404),
    ({"input": ""}, "BadRequestError", 400),
    ({"input": "?!..."}, "BadRequestError", 400),
    ({"input": "a" * 100_001}, "APIStatusError", 413),
    ({"response_format": "aac"}, "BadRequestError", 400),
    ({"speed": 5.0}, "BadRequestError", 400),
    ({"model": "gpt-4o-mini-tts"}, "BadRequestError", 400),
], ids=["unknown-voice", "empty", "punctuation", "too-long", "format", "speed", "model"])
def test_errors_in_openai_shape(http, kwargs, error, status) -> None:
    port, _, _ = http
    args = {"model": "tts-1", "voice": "jf_alpha", "input": "Hello.", **kwargs}
    with pytest.raises(getattr(openai, error)) as info:
        client(port).audio.speech.create(**args)
    assert info.value.status_code == status
    assert isinstance(info.value.body, dict) and info.value.body["message"]


def test_api_key_required(http) -> None:
    port, _, _ = http
    for key in ("wrong", ""):
        with pytest.raises(openai.AuthenticationError) as info:
            client(port, key=key or "x").audio.speech.create(model="tts-1", voice="jf_alpha", input="Hi.")
        assert info.value.status_code == 401
    with pytest.raises(urllib.error.HTTPError) as missing:
        get_json(port, "/v1/models", key=None)
    assert missing.value.code == 401
    assert get_json(port, "/health", key=None)["auth"] is True  # health stays open for probes


def test_authorization_header_that_is_not_utf8_gets_401(http) -> None:
    import asyncio

    from tests.http_shapes import exchange, speech

    port, _, _ = http
    for value in (b"Bearer \xff\xfe\xfd", b"\xc3\x28 " + KEY.encode(), b"Bearer " + KEY.encode() + b"\x80"):
        request = speech()
        request.headers["Authorization"] = value
        status, _, body = asyncio.run(exchange(port, request))
        assert status == 401 and json.loads(body)["error"]["code"] == "unauthorized", (value, body[:300])
    request = speech()
    request.headers["Authorization"] = b"Bearer " + KEY.encode()
    assert asyncio.run(exchange(port, request))[0] == 200  # the same path with the key: served


def test_listings(http) -> None:
    port, _, _ = http
    assert {m.id for m in client(port).models.list()} == {"kokoro", "tts-1", "tts-1-hd"}
    voices = get_json(port, "/v1/audio/voices")["voices"]
    assert len(voices) == 54
    installed = {v["name"] for v in voices if v["installed"]}
    assert {"jf_alpha", "jm_kumo"} <= installed
    alpha = next(v for v in voices if v["name"] == "jf_alpha")
    assert (alpha["language"], alpha["gender"]) == ("ja_JP", "female") and alpha["grade"]
    health = get_json(port, "/health")
    assert health["status"] == "ok" and health["device"] == "cpu" and "mp3" in health["formats"]


def test_describe_fast_while_http_synthesizes(http) -> None:
    from wyoming.client import AsyncTcpClient
    from wyoming.info import Describe, Info

    from tests.wyoming_client import run

    port, wy_port, _ = http
    text = " ".join(["This sentence keeps the synthesizer busy for a little while."] * 10)
    with client(port).audio.speech.with_streaming_response.create(
            model="tts-1", voice="jf_alpha", input=text, response_format="pcm") as resp:
        next(resp.iter_bytes())

        async def describe() -> float:
            t0 = time.monotonic()
            async with AsyncTcpClient("127.0.0.1", wy_port) as c:
                await c.write_event(Describe().event())
                ev = await c.read_event()
                assert ev is not None and Info.is_type(ev.type)
            return time.monotonic() - t0

        assert run(describe()) < 1.0
    # left mid-stream: the server still answers
    assert len(client(port).audio.speech.create(model="tts-1", voice="jf_alpha", input="Still here.",
                                                response_format="pcm").read()) > RATE


# --- the page in a real browser -----------------------------------------------------------------------

def _chromium() -> tuple[str, str]:
    def found() -> tuple[str | None, str | None]:
        return shutil.which("chromium"), shutil.which("chromedriver") or (
            "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None)

    browser, driver = found()
    if not (browser and driver):
        pytest.skip("chromium/chromedriver missing: run script/setup-browser (installs Debian's chromium)")
    return browser, driver


def _chrome():
    """Headless Debian chromium under Selenium, allowed to play audio without a click."""
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    browser, driver_path = _chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1000,1400",
                "--autoplay-policy=no-user-gesture-required"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(driver_path), options=options)


def test_page_in_chromium(http) -> None:
    pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    port, _, _ = http
    drv = _chrome()
    artifacts = ROOT / "tests" / "artifacts"
    artifacts.mkdir(exist_ok=True)
    try:
        wait = WebDriverWait(drv, 240)
        drv.get(f"http://127.0.0.1:{port}/")
        key = drv.find_element(By.ID, "api-key")
        wait.until(lambda d: key.is_displayed())
        key.send_keys(KEY)
        drv.execute_script("document.getElementById('api-key').dispatchEvent(new Event('change'))")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "input[name=voice][value=jm_kumo]"))
        radios = drv.find_elements(By.CSS_SELECTOR, "input[name=voice]")
        enabled = {r.get_attribute("value") for r in radios if r.is_enabled()}
        assert {"jf_alpha", "jm_kumo", "jf_nezumi"} <= enabled and len(radios) == 54
        drv.find_element(By.CSS_SELECTOR, "input[name=voice][value=jm_kumo]").click()
        drv.find_element(By.ID, "play").click()
        duration = "return document.getElementById('player').duration"
        wait.until(lambda d: (d.execute_script(duration) or 0) > 0)
        assert drv.execute_script(duration) > 1.0
        assert "Error" not in drv.find_element(By.ID, "status").text
        assert drv.find_element(By.ID, "rtf").text not in ("", "–")
        # blend: two installed voices, then play it
        Select(drv.find_element(By.ID, "blend-voice-0")).select_by_value("jf_alpha")
        Select(drv.find_element(By.ID, "blend-voice-1")).select_by_value("jm_kumo")
        expr = drv.find_element(By.ID, "blend-expr").get_attribute("value")
        assert expr == "jf_alpha:0.7+jm_kumo:0.3"
        drv.execute_script("document.getElementById('player').removeAttribute('src')")
        drv.find_element(By.ID, "blend-play").click()
        wait.until(lambda d: (d.execute_script(duration) or 0) > 0
                   and d.find_element(By.ID, "status").text.startswith(("Playing", "Ready")))
        assert "Error" not in drv.find_element(By.ID, "status").text
        shot = artifacts / "http_page.png"
        drv.save_screenshot(str(shot))
        print(f"screenshot: {shot}")
    finally:
        drv.quit()
    # the expression the page shows is one the API (and Home Assistant, via Wyoming) accepts
    assert len(client(port).audio.speech.create(model="tts-1", voice=expr, input="Hello.",
                                                response_format="pcm").read()) > RATE // 2


def test_page_highlights_words_as_they_play(http) -> None:
    """The page asks for the word timings (server-sent events) and, while the audio plays in the
    browser, marks the word whose span holds the player's current time; once it has ended, every word
    is marked spoken."""
    pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    port, _, _ = http
    drv = _chrome()
    snapshot = """const p = document.getElementById('player'), c = document.querySelector('#caption .current');
        return c ? [p.currentTime, +c.dataset.start, +c.dataset.end, +c.dataset.index] : null;"""
    try:
        wait = WebDriverWait(drv, 240, poll_frequency=0.02)
        drv.get(f"http://127.0.0.1:{port}/")
        key = drv.find_element(By.ID, "api-key")
        wait.until(lambda d: key.is_displayed())
        key.send_keys(KEY)
        drv.execute_script("document.getElementById('api-key').dispatchEvent(new Event('change'))")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "input[name=voice][value=jm_kumo]"))
        drv.find_element(By.CSS_SELECTOR, "input[name=voice][value=jm_kumo]").click()
        text = drv.find_element(By.ID, "text")
        text.clear()
        text.send_keys("Turn on the kitchen lights, please. The front door is locked.")
        drv.find_element(By.ID, "play").click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#caption span"))
        spans = drv.find_elements(By.CSS_SELECTOR, "#caption span")
        assert [s.text for s in spans] == ["Turn", "on", "the", "kitchen", "lights", "please", "The", "front",
                                           "door", "is", "locked"]
        seen = []
        while len(seen) < 3:  # three different words highlighted, each while the audio was inside it
            current = wait.until(lambda d: (s := d.execute_script(snapshot)) and
                                 (not seen or s[3] > seen[-1][3]) and s)
            time_now, start, end, _index = current
            assert start - 0.1 <= time_now < end + 0.1, current  # one animation frame of slack
            seen.append(current)
        wait.until(lambda d: d.execute_script("return document.getElementById('player').ended"))
        assert len(drv.find_elements(By.CSS_SELECTOR, "#caption .spoken")) == len(spans)
        assert not drv.find_elements(By.CSS_SELECTOR, "#caption .current")
        assert "Error" not in drv.find_element(By.ID, "status").text
    finally:
        drv.quit()


def test_http_and_wyoming_share_one_queue_fairly(http) -> None:
    """A short Wyoming request sent while a long streamed HTTP request runs gets its audio-stop before
    the HTTP response has ended, and describe is answered meanwhile: one worker queue, turns by chunk."""
    import threading

    from wyoming.info import Describe
    from wyoming.tts import Synthesize

    from tests.wyoming_client import audio_samples, exchange, run

    port, wy_port, _ = http
    order: list[str] = []
    text = " ".join(f"Reminder {n}: the garden hose is still running near the back fence." for n in range(1, 17))
    with client(port).audio.speech.with_streaming_response.create(
            model="tts-1", voice="jm_kumo", input=text, response_format="pcm") as resp:
        pieces = resp.iter_bytes()
        assert next(pieces)  # HTTP is synthesizing now

        def drain() -> None:
            sum(len(p) for p in pieces)
            order.append("http-done")

        reader = threading.Thread(target=drain)
        reader.start()
        info = run(exchange(wy_port, [Describe().event()], until="info"))
        order.append("describe")
        events = run(exchange(wy_port, [Synthesize(text="The porch light is on.").event()]))
        order.append("wyoming-audio-stop")
        reader.join(timeout=900)  # a hang guard only: on a loaded 2-core machine this text takes ~300 s
    assert info[-1].type == "info"
    assert len(audio_samples(events)) > RATE // 2  # real speech, not an error exchange
    assert order == ["describe", "wyoming-audio-stop", "http-done"]
