"""Resident memory: languages are built when asked for and unloaded when idle, and the model holds
each weight once, in the dtype that runs (docs/PERFORMANCE.md, "Resident memory")."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

import kokoro_engine.text.g2p as registry
from kokoro_engine.text.g2p import get_g2p, language_last_use, unload_languages
from wyoming_kokoro.memory_policy import IdleRelease
from wyoming_kokoro.worker import Worker

ROOT = Path(__file__).resolve().parent.parent


def test_a_language_is_built_when_asked_for_and_built_again_after_unloading():
    unload_languages(["f"])
    assert "f" not in language_last_use()
    first = get_g2p("f")
    assert "f" in language_last_use()
    assert unload_languages(["f", "f"]) == ["f"]
    assert "f" not in language_last_use() and unload_languages(["f"]) == []
    again = get_g2p("f")
    assert again is not first and again.phonemize("Bonjour") == first.phonemize("Bonjour")


def test_the_policy_unloads_idle_languages_but_keeps_the_servers_own():
    get_g2p("a"), get_g2p("f")
    policy = IdleRelease(retain=0, language_idle=3600, keep_languages={"a"})
    assert 0 < policy.wake_in() <= 3600  # French is due in an hour, English never
    policy()
    assert {"a", "f"} <= set(language_last_use())  # not idle long enough
    policy.language_idle = 0
    assert policy.wake_in() == 0
    policy()
    assert "a" in language_last_use() and "f" not in language_last_use()
    assert policy.wake_in() is None  # nothing left that may go
    assert IdleRelease(retain=0, language_idle=None).wake_in() is None  # --unload-languages-after 0


def test_an_idle_worker_wakes_to_unload_a_language():
    """Nothing is submitted after the language was used: the worker wakes by itself when it is due."""
    worker = Worker(chunk_timeout=0, memory_policy=IdleRelease(retain=0, language_idle=0.5, keep_languages={"a"}))
    try:
        worker.call(lambda: get_g2p("f").phonemize("Bonjour"))
        assert "f" in language_last_use()
        deadline = time.monotonic() + 60
        while "f" in language_last_use() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "f" not in language_last_use()
    finally:
        worker.stop()


UNLOAD_CHILD = """
import gc, weakref
from kokoro_engine.memory import release_free_memory, resident_bytes, tune_allocator
tune_allocator()
import spacy, misaki.en  # the imports stay whatever happens: count them in the base
from kokoro_engine.text.g2p import get_g2p, unload_languages
from kokoro_engine.text.g2p import english
def level():
    gc.collect(); release_free_memory(); return resident_bytes() >> 20
base = level()
get_g2p("a").phonemize("Turned on the kitchen light."); get_g2p("b").phonemize("Good morning.")
pipeline = weakref.ref(english._load_spacy())
loaded = level()
print(unload_languages(["a"]) == ["a"], pipeline() is not None)  # British still holds the pipeline
unload_languages(["b"])
print(pipeline() is None, base, loaded, level())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc allocator and /proc")
def test_unloading_english_hands_its_lexicon_and_spacy_pipeline_back():
    out = subprocess.run([sys.executable, "-c", UNLOAD_CHILD], cwd=ROOT, capture_output=True, text=True,
                         timeout=300, check=True).stdout.split()
    assert out[:3] == ["True", "True", "True"]
    base, loaded, after = map(int, out[3:])
    assert loaded - base > 100  # two packed lexicons, the pipeline, two espeak fallbacks
    # What the G2Ps held is back with the OS. Not all that loading took: spaCy keeps its string
    # tables once a pipeline was loaded (45 of its 64 MB stayed after the pipeline went, measured on
    # its own), and espeak stays mapped (123 MB loaded, 26 MB back when measured).
    assert loaded - after > 15


def test_registry_holds_what_it_reports():
    assert set(language_last_use()) == set(registry._cache)


def test_server_options_for_the_kept_heap_and_language_unloading():
    from wyoming_kokoro.__main__ import StartupError, parse_args

    args = parse_args([])
    assert (args.keep_heap_mb, args.unload_languages_after) == (96.0, 600.0)
    assert parse_args(["--keep-heap-mb", "0", "--unload-languages-after", "0"]).keep_heap_mb == 0
    for option in ("--keep-heap-mb", "--unload-languages-after"):
        with pytest.raises(StartupError):
            parse_args([option, "-1"])


WEIGHTS_CHILD = """
import gc, sys, torch
from kokoro_engine.memory import release_free_memory, resident_bytes, tune_allocator
tune_allocator()
from kokoro_engine.io.weights import load_model
from kokoro_engine.device import int8_available
from kokoro_engine.model.int8 import Int8Conv1d
def level():
    gc.collect(); release_free_memory(); return resident_bytes()
dtype, quantize = getattr(torch, sys.argv[2]), sys.argv[3] == "int8" and int8_available()
base = level()
model = load_model(sys.argv[1], dtype=dtype, quantize=quantize)
held = level() - base
def nbytes(module):
    return sum(t.numel() * t.element_size() for t in [*module.parameters(), *module.buffers()] if t.layout == torch.strided
               and not t.is_mkldnn)
from torch import nn
from kokoro_engine.model.generator import ChannelsLastConv1d
generator = model.decoder.generator
kept_fp32 = {generator.conv_post, *generator.m_source.modules()}  # run in fp32 on purpose
decoder_float = {str(m.weight.dtype) for m in model.decoder.modules() if m not in kept_fp32
                 and isinstance(m, (nn.Conv1d, nn.ConvTranspose1d, nn.Linear, ChannelsLastConv1d))}
int8 = [m for m in model.modules() if isinstance(m, Int8Conv1d)]
float_in_int8 = sum(t.numel() for m in int8 for t in m.buffers() if t.is_floating_point() and t.dim() > 1)
print(int(quantize), len(int8), float_in_int8, ",".join(sorted(decoder_float)), nbytes(model.decoder),
      nbytes(model) - nbytes(model.decoder), held)
"""


def _weights(dtype: str, quantize: str) -> tuple[int, int, int, set[str], int, int, int]:
    from tests.realweights import real_model_path

    out = subprocess.run([sys.executable, "-c", WEIGHTS_CHILD, str(real_model_path()), dtype, quantize], cwd=ROOT,
                         capture_output=True, text=True, timeout=600, check=True).stdout.split()
    return int(out[0]), int(out[1]), int(out[2]), set(out[3].split(",")), int(out[4]), int(out[5]), int(out[6])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc allocator and /proc")
def test_the_model_holds_each_weight_once_in_the_dtype_that_runs():
    """fp32: every weight once. bf16: the decoder's convolutions and linears in bf16 only, at half the
    bytes. int8 (x86-64 with AVX2): the residual-block convolutions as int8 packs with per-channel
    scales only, no float copy. And resident memory grows by what the tensors hold, not by copies
    (state dicts, originals) left behind by loading."""
    _, _, _, fp32_dtypes, fp32_decoder, text_side, fp32_held = _weights("float32", "none")
    assert fp32_dtypes == {"torch.float32"}
    assert fp32_held < (fp32_decoder + text_side) * 1.1 + (16 << 20)
    _, _, _, bf16_dtypes, bf16_decoder, bf16_text_side, bf16_held = _weights("bfloat16", "none")
    assert bf16_dtypes == {"torch.bfloat16"} and bf16_text_side == text_side  # the text side stays fp32
    assert bf16_decoder < fp32_decoder * 0.51
    assert bf16_held < (bf16_decoder + text_side) * 1.1 + (16 << 20)
    quantized, convs, float_weights, _, int8_decoder, _, int8_held = _weights("bfloat16", "int8")
    if not quantized:
        pytest.skip("no int8 convolutions on this CPU")
    assert convs == 48 and float_weights == 0
    assert int8_decoder < bf16_decoder * 0.8  # the packs (opaque, not counted) replace the bf16 weights
    # The packs replace the bf16 weights (`float_weights == 0` above says no float copy sits in the
    # quantized convolutions). Resident growth is compared with the allocator's few MB of slack: a
    # state dict or float original left behind by loading would add 100 MB or more.
    assert int8_held < bf16_held + (16 << 20)
