"""The kokoro-engine command line, run as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from tests.realweights import real_model_path

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "2"}
    return subprocess.run([sys.executable, "-m", "kokoro_engine", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=ROOT)


def test_synthesize_writes_a_wav(tmp_path):
    out = tmp_path / "out.wav"
    result = run("synthesize", "--text", "The kitchen lights are now on.", "--voice", "jf_alpha", "--lang", "a",
                 "--model", str(real_model_path()), "-o", str(out), "--seed", "1")
    assert result.returncode == 0, result.stderr
    with wave.open(str(out)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (24000, 1, 2)
        assert 1.0 < w.getnframes() / 24000 < 5.0


def test_phonemize_json():
    result = run("phonemize", "--text", "Hello world. How are you?", "--lang", "en_US", "--json")
    assert result.returncode == 0, result.stderr
    chunks = json.loads(result.stdout)["chunks"]
    assert len(chunks) == 2
    assert all(c["tokens"] > 0 and c["phonemes"] for c in chunks)


@pytest.mark.parametrize(("args", "message"), [
    (["synthesize", "--text", "", "--voice", "jf_alpha"], "text is empty"),
    (["synthesize", "--text", "hi", "--voice", "nobody", "--lang", "a"], "unknown voice"),
    (["synthesize", "--text", "hi", "--device", "tpu"], "unknown device"),
    (["phonemize", "--text", "hi", "--lang", "xx"], "unknown language"),
])
def test_bad_input_is_one_line_and_nonzero(tmp_path, args, message):
    result = run(*args, "--model", str(real_model_path()), "-o", str(tmp_path / "x.wav")) if args[0] == "synthesize" \
        else run(*args)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kokoro-engine: error:") and message in lines[0], result.stderr


def test_missing_and_corrupt_model(tmp_path):
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"\x00" * 100)
    for model, message in ((tmp_path / "none.pth", "not found"), (broken, "cannot read weights")):
        result = run("synthesize", "--text", "hi", "--model", str(model), "-o", str(tmp_path / "x.wav"))
        assert result.returncode != 0 and message in result.stderr and "Traceback" not in result.stderr


def test_import_onnx_command(tmp_path):
    from tests.realweights import onnx_path

    out = tmp_path / "imported.safetensors"
    result = run("import-onnx", "--onnx", str(onnx_path()), "--output", str(out))
    assert result.returncode == 0, result.stderr
    assert "686 tensors" in result.stdout and out.stat().st_size > 300_000_000


@pytest.mark.parametrize(("lang", "text"), [
    ("en_US", "Hello there."), ("en_GB", "Hello there."), ("ja_JP", "こんにちは。"), ("zh_CN", "你好。"),
    ("es_ES", "Hola."), ("fr_FR", "Bonjour."), ("hi_IN", "नमस्ते।"), ("it_IT", "Ciao."), ("pt_BR", "Olá."),
])
def test_phonemize_every_language(lang, text, capsys):
    from kokoro_engine.cli import main

    assert main(["phonemize", "--text", text, "--lang", lang, "--json"]) == 0
    chunks = json.loads(capsys.readouterr().out)["chunks"]
    assert chunks and all(c["tokens"] > 0 for c in chunks)


def test_every_catalog_voice_has_an_installed_g2p():
    from importlib import resources

    from kokoro_engine.text.g2p import language_status

    catalog = json.loads(resources.files("kokoro_voices").joinpath("catalog.json").read_text("utf-8"))
    names = [voice["name"] for voice in catalog["voices"]]
    assert len(names) == 54
    status = language_status()
    assert {name: status[name[0]] for name in names if status[name[0]] is not None} == {}


def test_benchmark_against_reference_and_accuracy():
    result = run("benchmark", "--lengths", "short", "--warmup", "0", "--repeat", "1", "--compare-reference",
                 "--model", str(real_model_path()), "--voice", "jf_alpha")
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    row = next(line for line in lines if line.startswith("short"))
    # Timings are the benchmark's output, not something to assert on a shared machine: every column
    # must be printed and be a positive number.
    header = next(line for line in lines if line.startswith("length"))
    for two_words in ("audio s", "ours s", "1st chunk", "floor RTF", "floor 1st", "% peak", "mel dB", "dur %",
                      "ref s", "ref RTF"):
        header = header.replace(two_words, two_words.replace(" ", "_"))
    values = dict(zip(header.split(), row.split(), strict=True))
    for column in ("RTF", "floor_RTF", "1st_chunk", "floor_1st", "%_peak", "ref_RTF", "ours/ref"):
        assert float(values[column]) > 0, column
    result = run("accuracy", "--device", "cpu", "--model", str(real_model_path()), "--voice", "jf_alpha")
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    assert "4 passed, 0 failed" in result.stdout


def test_profile_prints_memory_parts_and_operators():
    """`kokoro-engine profile` (which `script/bench-server` runs): memory by component, a one-line
    reply's time by part of the model, and by operator family; figures, not asserted on."""
    from kokoro_engine.tools.profile import FAMILIES, NAME_WIDTH

    result = run("profile", "--replies", "1", "--model", str(real_model_path()), "--voice", "jf_alpha",
                 "--every-language")
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    mb = {line[:NAME_WIDTH].strip(): float(line[NAME_WIDTH:].split()[0].lstrip("+")) for line in lines if line.endswith(" MB")}
    assert set(mb) == {"runtime: Python, torch, kokoro_engine", "weights, in the dtype that runs",
                       "English G2P (spaCy's tagger, the lexicon, espeak)", "G2P of the voice's language (j)",
                       "warm-up reply (oneDNN kernels for its widths)",
                       "1 new one-line replies (kernels for new widths)", "every other language's G2P", "total"}
    assert mb["weights, in the dtype that runs"] > 100 and mb["English G2P (spaCy's tagger, the lexicon, espeak)"] > 20
    assert mb["every other language's G2P"] > 20  # Mandarin's dictionaries alone are more
    parts = [line[:NAME_WIDTH].strip() for line in lines if line.endswith(" %")]
    assert parts[:2] == ["PL-BERT and its projection", "prosody predictor (durations, F0, energy)"]
    assert "generator: stage 2 (128 channels, 4,800 frames/s)" in parts
    assert parts[-1] == "outside the model: text to phonemes, chunking, audio"
    families = {line[:NAME_WIDTH].strip() for line in lines if " ms  " in line}
    assert {"convolutions", FAMILIES[2][0], "LSTMs"} <= families
    floor = next(line for line in lines if line.startswith("# the floor:"))
    assert 0 < float(floor.split("RTF ")[1].split(",")[0]) and floor.endswith(tuple("0123456789"))


def test_phonemize_with_lexicon_and_inline_phonemes(tmp_path):
    lexicon = tmp_path / "lexicon.yaml"
    lexicon.write_text("Nguyen: /wˈɪn/\n", encoding="utf-8")
    result = run("phonemize", "--text", "Ask Nguyen and [Tran](/ʧˈæn/).", "--lang", "a", "--lexicon", str(lexicon))
    assert result.returncode == 0, result.stderr
    assert "wˈɪn" in result.stdout and "ʧˈæn" in result.stdout
    lexicon.write_text("Nguyen: /wˈɪ#n/\n", encoding="utf-8")
    result = run("phonemize", "--text", "Ask Nguyen.", "--lexicon", str(lexicon))
    assert result.returncode == 1 and f"{lexicon}:1" in result.stderr and "vocabulary" in result.stderr


def test_synthesize_ssml_with_silences(tmp_path):
    frames = {}
    for name, extra in (("plain", []), ("ssml", ["--ssml", "--trailing-silence", "0.5"])):
        out = tmp_path / f"{name}.wav"
        text = "Lights on. Door locked." if name == "plain" else 'Lights on. <break time="1s"/> Door locked.'
        result = run("synthesize", "--text", text, "--voice", "jf_alpha", "--lang", "a", *extra,
                     "--model", str(real_model_path()), "-o", str(out), "--seed", "1")
        assert result.returncode == 0, result.stderr
        with wave.open(str(out)) as w:
            frames[name] = w.getnframes()
    assert abs((frames["ssml"] - frames["plain"]) / 24000 - 1.5) <= 0.05
