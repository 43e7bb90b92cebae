"""`kokoro-engine profile`: why a reply takes the time it does, and what the process holds.

`kokoro-engine benchmark` and `script/bench-server` say how fast; this says where it goes, for the
same kind of input (a new one-line household reply each time, in the voice's language, as the
server reads it), so a target that is not met comes with the profile of what remains:
- resident memory by component, in the order a server builds them (runtime, weights, the G2Ps, the
  warm-up, then new replies: oneDNN's kernels for new widths), each after `gc` and `malloc_trim`;
- a reply's time by part of the model (forward hooks on the modules named as in the paper), and
  what is outside the model (text to phonemes, chunking, the audio copy);
- the same replies' CPU time by operator family (`torch.profiler`), and ATen calls per reply.

Run it with the server's dtype and quantization flags and under the same CPU caps as the server
(`script/bench-server` does both).
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterable

import torch
from torch import nn

from kokoro_engine.memory import release_free_memory, resident_bytes
from kokoro_engine.model.kokoro import KokoroModel
from kokoro_engine.tools.benchmark import make_text

# Width of the name column in the printed tables.
NAME_WIDTH = 58

# Operator families by the first pattern an ATen (or quantized) operator's name contains.
FAMILIES: list[tuple[str, tuple[str, ...]]] = [
    ("int8 convolutions", ("quantized::", "qconv", "int8")),
    ("convolutions", ("conv",)),
    ("matrix products (PL-BERT, style projections)", ("addmm", "::mm", "bmm", "matmul", "::linear")),
    ("LSTMs", ("lstm", "rnn")),
    ("STFT and iSTFT", ("fft", "stft")),
    ("excitation noise", ("normal_", "rand")),
    ("copies and casts", ("copy_", "_to_copy", "::to", "clone", "contiguous")),
]


# A line in each language, to load its G2P as a request in it would (Mandarin's dictionaries load on
# the first Chinese text, not on import).
GREETINGS = {"a": "Hello.", "b": "Good evening.", "j": "こんにちは。", "z": "你好，客厅的灯已经打开了。",
             "e": "Hola.", "f": "Bonjour.", "h": "नमस्ते।", "i": "Ciao.", "p": "Olá."}


def operator_family(name: str) -> str:
    """The family of an operator by its profiler name; "elementwise and other" if none matches."""
    lowered = name.lower()
    for family, patterns in FAMILIES:
        if any(p in lowered for p in patterns):
            return family
    return "elementwise and other"


def model_parts(model: KokoroModel) -> list[tuple[str, list[nn.Module]]]:
    """The parts a reply's time is split into, each the modules that make it up, in the order they
    run; the generator's parts are its harmonic source and its upsampling stages (the upsampler, the
    source's convolution and residual block, the stage's multi-receptive-field fusion)."""
    decoder = model.decoder
    generator = decoder.generator
    parts: list[tuple[str, list[nn.Module]]] = [
        ("PL-BERT and its projection", [model.bert, model.bert_encoder]),
        ("prosody predictor (durations, F0, energy)", list(model.predictor.children())),
        ("text encoder", [model.text_encoder]),
        ("decoder: AdaIN residual blocks", [decoder.F0_conv, decoder.N_conv, decoder.encode, decoder.asr_res,
                                            *decoder.decode]),
        ("generator: harmonic source", [generator.m_source]),
    ]
    for stage, rate in enumerate(generator.stage_frame_rates()):
        blocks = generator.stage_resblocks(stage)
        channels = blocks[0].alpha1[0].shape[1]
        parts.append((f"generator: stage {stage + 1} ({channels} channels, {rate:,.0f} frames/s)",
                      [generator.ups[stage], generator.noise_convs[stage], generator.noise_res[stage], *blocks]))
    return parts


class PartTimer:
    """Wall time spent in each part's modules (forward pre- and post-hooks), and in the model."""

    def __init__(self, model: KokoroModel) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._handles: list[torch.utils.hooks.RemovableHandle] = []
        self._watch("model", [model])
        self._watch("generator", [model.decoder.generator])
        for name, modules in model_parts(model):
            self._watch(name, modules)

    def _watch(self, name: str, modules: Iterable[nn.Module]) -> None:
        for module in modules:
            started: list[float] = []  # a stack: a module may run inside another of the same part

            def pre(*_: object, started: list[float] = started) -> None:
                started.append(time.perf_counter())

            def post(*_: object, started: list[float] = started, name: str = name) -> None:
                self.seconds[name] += time.perf_counter() - started.pop()

            self._handles += [module.register_forward_pre_hook(pre), module.register_forward_hook(post)]

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()


def _settled_mb() -> float:
    gc.collect()
    release_free_memory()
    return (resident_bytes() or 0) / 2**20


def main(args: argparse.Namespace) -> int:
    from kokoro_engine.pipeline import KokoroEngine

    if args.threads:
        torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    memory: list[tuple[str, float]] = [("runtime: Python, torch, kokoro_engine", _settled_mb())]
    engine = KokoroEngine.load(args.model, voices_dirs=args.voices_dir, device=args.device, dtype=args.dtype,
                               stft=args.stft, quantize=args.quantize)
    memory.append(("weights, in the dtype that runs", _settled_mb()))
    voice = args.voice or ("af_heart" if "af_heart" in engine.voices else "jf_alpha")
    pack = engine.voices.load(voice)
    engine.phonemize(make_text("short", random.Random(0)), "a")
    memory.append(("English G2P (spaCy's tagger, the lexicon, espeak)", _settled_mb()))
    if pack.lang != "a":
        engine.phonemize(GREETINGS[pack.lang], pack.lang)
        memory.append((f"G2P of the voice's language ({pack.lang})", _settled_mb()))

    def reply() -> tuple[float, float]:  # (seconds, audio seconds) of a new one-line reply
        text = make_text("short", rng)
        start = time.perf_counter()
        # Seeded, as the benchmark's engine column: a seed runs on every thread (kokoro_engine.threads).
        samples = sum(len(chunk.audio) for chunk in engine.synthesize(text, pack, seed=0))
        return time.perf_counter() - start, samples / engine.sample_rate

    reply()
    memory.append(("warm-up reply (oneDNN kernels for its widths)", _settled_mb()))

    timer = PartTimer(engine.model)
    walls, audio = [], []
    for _ in range(args.replies):
        seconds, length = reply()
        walls.append(seconds)
        audio.append(length)
    timer.remove()
    memory.append((f"{args.replies} new one-line replies (kernels for new widths)", _settled_mb()))
    if args.every_language:
        for code, greeting in GREETINGS.items():
            engine.phonemize(greeting, code)
        memory.append(("every other language's G2P", _settled_mb()))

    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(args.replies):
            reply()
    families: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))  # family → operator → ms
    calls = 0
    for event in prof.key_averages():
        if event.key.startswith(("aten::", "quantized::", "mkldnn::", "onednn::")):
            families[operator_family(event.key)][event.key] += event.self_cpu_time_total / 1e3 / args.replies
            calls += event.count

    _print(args, engine, voice, memory, timer.seconds, walls, audio, families, calls / args.replies)
    _print_floor(engine, reply, sum(walls) / sum(audio))
    return 0


def _print(args: argparse.Namespace, engine, voice: str, memory: list[tuple[str, float]],
           seconds: dict[str, float], walls: list[float], audio: list[float],
           families: dict[str, dict[str, float]], calls: float) -> None:
    from kokoro_engine.device import dtype_name
    from kokoro_engine.tools.benchmark import isa_summary

    model = engine.model
    n = args.replies
    per_reply = statistics.mean(walls) * 1e3
    print(f"# {isa_summary()}")
    print(f"# dtype {dtype_name(model.compute_dtype)}, int8 convolutions {'on' if model.int8_convs else 'off'}, "
          f"{torch.get_num_threads()} threads; voice {voice}; {n} new one-line replies of "
          f"{statistics.mean(audio):.2f} s of audio")
    print("\n# resident memory by component (VmRSS after gc and malloc_trim; a server keeps --keep-heap-mb on top)")
    previous = 0.0
    for name, mb in memory:
        step = f"+{mb - previous:.0f}" if previous else f"{mb:.0f}"
        print(f"{name:<{NAME_WIDTH}} {step:>7} MB")
        previous = mb
    print(f"{'total':<{NAME_WIDTH}} {previous:7.0f} MB")

    print(f"\n# a one-line reply's time by part: {per_reply:.0f} ms per reply (RTF "
          f"{sum(walls) / sum(audio):.3f}), mean of {n}")
    parts: list[tuple[str, float]] = [(name, seconds[name]) for name, _ in model_parts(model)]
    generator_parts = sum(t for name, t in parts if name.startswith("generator"))
    parts.append(("generator: conv_post, STFT and iSTFT, glue", seconds["generator"] - generator_parts))
    parts.append(("model: alignment, glue", seconds["model"] - sum(t for _, t in parts)))
    parts.append(("outside the model: text to phonemes, chunking, audio", sum(walls) - seconds["model"]))
    for name, total in parts:
        ms = total / n * 1e3
        print(f"{name:<{NAME_WIDTH}} {ms:7.1f} ms {100 * ms / per_reply:5.1f} %")

    print(f"\n# the same kind of reply by operator family (torch.profiler, self CPU time of the calling thread), "
          f"{calls:,.0f} ATen calls per reply")
    for family, operators in sorted(families.items(), key=lambda item: -sum(item[1].values())):
        top = sorted(operators.items(), key=lambda item: -item[1])[:4]
        print(f"{family:<{NAME_WIDTH}} {sum(operators.values()):7.1f} ms  "
              + ", ".join(f"{name.split('::')[-1]} {ms:.0f}" for name, ms in top))


def _print_floor(engine, reply: Callable[[], tuple[float, float]], rtf: float) -> None:
    """What no implementation in these dtypes beats here: one reply's counted work (convolutions and
    matrix products at their true widths) at this CPU's measured peaks, against the measured RTF."""
    from kokoro_engine.tools.benchmark import Peaks, count_flops

    model = engine.model
    audio: list[float] = []
    flops = count_flops(lambda: audio.append(reply()[1]))
    peaks = Peaks.measure(engine.device, model.compute_dtype, int8=model.int8_convs)
    floor_rtf = peaks.floor(flops) / audio[0]
    print(f"\n# the floor: {flops['total'] / 1e9 / audio[0]:.1f} GFLOP per second of audio at this CPU's dense "
          f"peaks ({peaks}) is RTF {floor_rtf:.3f}, {100 * floor_rtf / rtf:.0f} % of the measured {rtf:.3f}")
