"""`GET /metrics` of a real server process, scraped over a real socket and read with prometheus_client's
own parser: requests by protocol and outcome from real traffic (the `wyoming` client and the `openai`
client), first audio and RTF, audio seconds equal to the audio the clients received, the cache, memory,
the engine's kernels; behind --api-key. The alert docs/SERVER.md shows fires on the scrapes of real
errors (`promtool test rules`, where Debian's prometheus package is installed) and not on clean traffic."""

from __future__ import annotations

import re
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import openai
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from wyoming.tts import Synthesize, SynthesizeVoice

from tests.server_process import ROOT, free_port, spawn_server
from tests.wyoming_client import audio_samples, exchange, run

pytestmark = pytest.mark.slow
KEY = "metrics-key"
RATE = 24000
TEXT = "キッチンの電気をつけました。"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    port = free_port()
    with spawn_server(tmp_path_factory, "--http", f"tcp://127.0.0.1:{port}", "--api-key", KEY,
                      wait_ports=(port,)) as (wy_port, log):
        yield wy_port, port


def scrape_text(port: int, key: str | None = KEY) -> str:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/metrics",
                                 headers={"Authorization": f"Bearer {key}"} if key else {})
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return r.read().decode()


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of a scrape: (name, labels) → value."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(scrape: dict, name: str, **labels: str) -> float:
    return scrape.get((name, frozenset(labels.items())), 0.0)


def wyoming_speak(port: int, text: str, voice: str | None = None) -> tuple[np.ndarray, list]:
    events = run(exchange(port, [Synthesize(text=text, voice=SynthesizeVoice(name=voice) if voice else None)
                                 .event()]))
    return audio_samples(events), [e for e in events if e.type == "error"]


def http_client(port: int) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=KEY, max_retries=0, timeout=280)


def test_metrics_need_the_api_key(server) -> None:
    _, port = server
    for key in (None, "wrong"):
        with pytest.raises(urllib.error.HTTPError) as err:
            scrape_text(port, key)
        assert err.value.code == 401


def test_metrics_count_real_traffic(server) -> None:
    wy_port, port = server
    before = samples(scrape_text(port))
    assert value(before, "kokoro_ready") == 1.0
    wy_audio, errors = wyoming_speak(wy_port, TEXT)
    assert not errors and len(wy_audio)
    http_audio = np.frombuffer(http_client(port).audio.speech.create(
        model="kokoro", voice="jf_alpha", input=TEXT + "テレビも消しました。", response_format="pcm").read(), "<i2")
    _, errors = wyoming_speak(wy_port, TEXT, voice="xx_nobody")
    assert [e.data["code"] for e in errors] == ["voice-not-found"]
    with pytest.raises(openai.BadRequestError):
        http_client(port).audio.speech.create(model="kokoro", voice="jf_alpha", input="  ")
    after = samples(scrape_text(port))

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("kokoro_requests_total", protocol="wyoming", outcome="ok") == 1
    assert delta("kokoro_requests_total", protocol="http", outcome="ok") == 1
    assert delta("kokoro_requests_total", protocol="wyoming", outcome="voice-not-found") == 1
    assert delta("kokoro_requests_total", protocol="http", outcome="empty-text") == 1
    # the audio the clients received, to the sample
    assert delta("kokoro_audio_seconds_total", protocol="wyoming") == pytest.approx(len(wy_audio) / RATE)
    assert delta("kokoro_audio_seconds_total", protocol="http") == pytest.approx(len(http_audio) / RATE)
    for protocol in ("wyoming", "http"):
        assert delta("kokoro_first_audio_seconds_count", protocol=protocol) == 1
        assert delta("kokoro_real_time_factor_count", protocol=protocol) == 1
        assert delta("kokoro_first_audio_seconds_sum", protocol=protocol) > 0
    # the same text again is the audio cache's hit (the first time was its miss)
    assert delta("kokoro_audio_cache_misses_total") >= 2
    hits = value(after, "kokoro_audio_cache_hits_total")
    wyoming_speak(wy_port, TEXT)
    assert value(samples(scrape_text(port)), "kokoro_audio_cache_hits_total") == hits + 1
    assert value(after, "kokoro_jobs_in_flight") == value(after, "kokoro_jobs_queued") == 0
    assert value(after, "kokoro_abandoned_threads") == 0
    assert value(after, "process_resident_memory_bytes") > 100 * 2**20  # the model is in memory


def test_engine_info_names_the_kernels(server) -> None:
    from kokoro_engine import cpu_class

    _, port = server
    (info,) = [s for s in text_string_to_metric_families(scrape_text(port)) if s.name == "kokoro_engine_info"]
    labels = info.samples[0].labels
    assert labels["device"] == "cpu" and labels["cpu_class"] == cpu_class()
    assert labels["decoder_dtype"] in ("float32", "bfloat16", "float16") and labels["int8_convolutions"].isdigit()
    assert labels["model"] == "kokoro-v1_0-int8.safetensors"


def doc_rules() -> dict:
    """The alerting rules file shown in docs/SERVER.md."""
    doc = (ROOT / "docs" / "SERVER.md").read_text()
    block = re.search(r"```yaml\n# kokoro-alerts\.yml\n(.*?)```", doc, re.S)
    assert block, "docs/SERVER.md shows kokoro-alerts.yml"
    return yaml.safe_load(block.group(1))


def series_from_scrapes(first: dict, second: dict, minutes: int) -> list[dict]:
    """promtool input series: each request counter starts at its first scrape's value and grows by
    what the real traffic between the two scrapes added, every minute (that traffic, sustained)."""
    out = []
    for (name, labels), start in first.items():
        if name != "kokoro_requests_total":
            continue
        step = second.get((name, labels), start) - start
        tags = ",".join(f'{k}="{v}"' for k, v in sorted({**dict(labels), "instance": "kokoro:10201"}.items()))
        out.append({"series": f"{name}{{{tags}}}", "values": f"{start:g}+{step:g}x{minutes}"})
    for (name, labels), end in second.items():  # an outcome first seen in the second scrape
        if name == "kokoro_requests_total" and (name, labels) not in first:
            tags = ",".join(f'{k}="{v}"' for k, v in sorted({**dict(labels), "instance": "kokoro:10201"}.items()))
            out.append({"series": f"{name}{{{tags}}}", "values": f"0+{end:g}x{minutes}"})
    return out


def test_documented_alert_fires_on_real_errors(server, tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool missing (Debian: apt-get install prometheus)")
    wy_port, port = server
    rules = doc_rules()
    (alert,) = [r for g in rules["groups"] for r in g["rules"] if "alert" in r]
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules))

    start = samples(scrape_text(port))
    assert not wyoming_speak(wy_port, TEXT)[1]
    clean = samples(scrape_text(port))
    for voice in ("xx_nobody", "yy_nobody"):
        assert wyoming_speak(wy_port, TEXT, voice=voice)[1]
    failing = samples(scrape_text(port))

    minutes = 20
    cases = [
        {"name": "errors", "interval": "1m", "input_series": series_from_scrapes(clean, failing, minutes),
         "alert_rule_test": [{"eval_time": f"{minutes}m", "alertname": alert["alert"],
                              "exp_alerts": [{"exp_labels": {"severity": alert["labels"]["severity"],
                                                             "instance": "kokoro:10201"},
                                              "exp_annotations": alert.get("annotations", {})}]}]},
        {"name": "clean", "interval": "1m", "input_series": series_from_scrapes(start, clean, minutes),
         "alert_rule_test": [{"eval_time": f"{minutes}m", "alertname": alert["alert"], "exp_alerts": []}]},
    ]
    tests = {"rule_files": ["rules.yml"], "evaluation_interval": "1m", "tests": cases}
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(tests))
    done = subprocess.run([promtool, "test", "rules", "tests.yml"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
