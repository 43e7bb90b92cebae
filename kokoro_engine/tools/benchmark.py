"""`kokoro-engine benchmark`: speed per text length, side by side with the reference and ONNX Runtime.

Every runtime gets the same phonemes, the same weights and the same voice row, in one process, so the
ratios compare implementations rather than machines or moods of the machine.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch

from kokoro_engine.audio import SAMPLE_RATE

T = TypeVar("T")

# The seed's lengths: a one-line Home Assistant reply up to a long LLM answer (one ≤ 510-token chunk).
TEXTS: dict[str, str] = {
    "short": "The kitchen lights are now on.",
    "medium": "The temperature in the living room is twenty one degrees, and the front door is locked.",
    "long": (
        "Good morning. Today will be mostly sunny with a high of twenty four degrees and a light breeze "
        "from the west. Your first meeting starts at nine thirty, and traffic on the way to the office "
        "is lighter than usual. The dishwasher finished its cycle overnight, and the washing machine is "
        "ready to be emptied. Remember to water the plants on the balcony this evening."
    ),
    "verylong": (
        "Here is a summary of your home for today. The heating ran for three hours overnight and kept "
        "the bedrooms at nineteen degrees, which used a little less energy than yesterday. The solar "
        "panels produced eleven kilowatt hours so far, and the battery is charged to eighty percent. "
        "All windows are closed, the garage door is shut, and the alarm is armed in away mode. The "
        "robot vacuum cleaned the kitchen and the hallway and is now back on its dock. Your package was "
        "delivered at two in the afternoon and is waiting by the front door. Tomorrow looks rainy, so "
        "the garden irrigation has been skipped, and the next collection day is Thursday."
    ),
}


# New household replies for benchmarks that must not repeat an input (a new text is a new length).
ROOMS = ["kitchen", "living room", "bedroom", "hallway", "garage", "office", "bathroom", "garden", "attic"]
THINGS = ["lights", "heater", "fan", "blinds", "speaker", "lamp", "radiator", "dehumidifier", "sprinkler"]
STATES = ["on", "off", "open", "closed", "dimmed to forty percent", "set to twenty one degrees"]
EVENTS = ["The washing machine has finished", "Someone rang the front door bell", "The dishwasher is done",
          "A parcel was delivered", "The car is fully charged", "The back door was left open"]


def make_text(length: str, rng: random.Random) -> str:
    """A new household reply of about 2.5 s (short), 6 s (medium) or 20 s (long) of audio."""
    def sentence() -> str:
        return f"The {rng.choice(ROOMS)} {rng.choice(THINGS)} {'are' if rng.random() < 0.5 else 'is'} {rng.choice(STATES)}."

    if length == "short":
        return f"Turned {rng.choice(['on', 'off'])} the {rng.choice(ROOMS)} {rng.choice(THINGS)}."
    if length == "medium":
        return f"{rng.choice(EVENTS)} at {rng.randint(1, 12)} {rng.choice(['thirty', 'fifteen', 'forty five'])}, " \
               f"and the {rng.choice(ROOMS)} is {rng.randint(15, 25)} degrees."
    return " ".join([f"{rng.choice(EVENTS)} {rng.randint(2, 50)} minutes ago."] + [sentence() for _ in range(5)]
                    + [f"Tomorrow will be {rng.choice(['sunny', 'cloudy', 'rainy'])} with a high of "
                       f"{rng.randint(10, 30)} degrees."])


def _time(fn: Callable[[], T], warmup: int, repeat: int) -> tuple[float, T]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def matmul_peak(device: torch.device, dtype: torch.dtype, size: int = 2048, repeat: int = 5) -> float:
    """GFLOP/s of a large square matmul in `dtype` on `device`: the rate dense kernels reach here.

    The model's work is almost all convolutions and linear layers, which run as GEMM-like kernels,
    so its FLOPs over this rate bound how fast any implementation can be on this device and dtype.
    """
    a = torch.randn(size, size, device=device).to(dtype)
    b = torch.randn(size, size, device=device).to(dtype)

    def product() -> None:
        with torch.inference_mode():
            a @ b
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        elif device.type == "npu":
            # torch.npu exists only once torch_npu is imported, so torch's stubs do not declare it.
            npu = getattr(torch, "npu", None)
            if npu is None:
                raise RuntimeError("device 'npu' but torch_npu is not loaded")
            npu.synchronize(device)

    seconds, _ = _time(product, 2, repeat)
    return 2 * size**3 / seconds / 1e9


def int8_conv_peak(repeat: int = 5) -> float | None:
    """GOP/s of oneDNN's int8 convolution as the engine calls it (model/int8.py: u8 activations
    time-major, s8 weights at this CPU's `operand_levels`, a kernel-7 256-channel block batch), or None
    where it cannot run: the ceiling for the int8 convolutions, for the floor beside the compute dtype's."""
    from kokoro_engine.device import int8_available
    from kokoro_engine.model.int8 import block_conv, operand_levels, prepack

    if not int8_available():
        return None
    act_levels, weight_levels = operand_levels()
    channels, kernel, width, batch = 256, 7, 2048, 4
    weight = torch.randint(-weight_levels, weight_levels + 1, (channels, channels, kernel), dtype=torch.int8)
    scale = torch.full((channels,), 0.01)
    packed = prepack(weight, scale, [1])
    units = torch.randint(0, act_levels + 1, (batch, width + kernel - 1, channels), dtype=torch.uint8)
    zero = torch.zeros(channels, dtype=torch.int64)

    def conv() -> torch.Tensor:
        return block_conv(units, packed, scale, zero, [1])

    seconds, _ = _time(conv, 2, repeat)
    return 2 * batch * width * channels * channels * kernel / seconds / 1e9


_KERNEL_PROBE = """
import torch
from torch import nn
from kokoro_engine.device import int8_available
from kokoro_engine.model.int8 import Int8Conv1d
conv = nn.Conv1d(64, 64, 7, padding=3)
x = torch.randn(1, 64, 512)
with torch.inference_mode():
    conv(x)
    if int8_available():
        Int8Conv1d(conv, block=256)(x)
"""


def onednn_kernels(env: dict[str, str] | None = None) -> dict[str, str]:
    """Which oneDNN convolution kernels this process's settings run (`ONEDNN_MAX_CPU_ISA` and all;
    `env` adds or overrides variables), by data type ("f32", "u8"), read from ONEDNN_VERBOSE in a
    child process: what a benchmark says it measured, beside the caps it was asked for."""
    import os
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _KERNEL_PROBE],
                          env={**os.environ, **(env or {}), "ONEDNN_VERBOSE": "1"},
                          capture_output=True, text=True, timeout=300)
    kernels: dict[str, str] = {}
    for line in done.stdout.splitlines():
        if ",exec,cpu,convolution," in line:
            implementation, *rest = line.split(",exec,cpu,convolution,")[1].split(",")
            source = next((f for f in rest if f.startswith("src:")), "src:?").split(":")[1]
            kernels.setdefault(source, implementation)
    return kernels


def isa_summary() -> str:
    """One line: the CPU class our choices saw, PyTorch's own vector ISA and oneDNN's kernels."""
    from kokoro_engine.device import cpu_class, onednn_isa_cap

    cap = onednn_isa_cap()
    kernels = ", ".join(f"{dtype} {name}" for dtype, name in onednn_kernels().items()) or "none seen"
    return (f"CPU class {cpu_class()}{f' (ONEDNN_MAX_CPU_ISA={cap})' if cap else ''}, "
            f"ATen {torch.backends.cpu.get_cpu_capability()}, oneDNN convolutions: {kernels}")


@dataclass(frozen=True)
class Peaks:
    """This device's dense rates, the floor's divisors: a 2,048² matrix product in the compute dtype
    and in fp32 (GFLOP/s), and the engine's int8 convolution (GOP/s; None where not measured)."""

    dtype: torch.dtype
    compute: float
    fp32: float
    int8: float | None

    @classmethod
    def measure(cls, device: torch.device, dtype: torch.dtype, int8: bool) -> Peaks:
        compute = matmul_peak(device, dtype)
        fp32 = matmul_peak(device, torch.float32) if dtype != torch.float32 else compute
        return cls(dtype, compute, fp32, int8_conv_peak() if int8 else None)

    def floor(self, flops: dict[str, float]) -> float:
        """Seconds the counted work needs at these rates (`floor_seconds`)."""
        return floor_seconds(flops, self.compute, self.fp32, self.int8)

    def __str__(self) -> str:
        return (f"{str(self.dtype).replace('torch.', '')} {self.compute:.0f} GFLOP/s"
                + (f", fp32 {self.fp32:.0f} GFLOP/s" if self.dtype != torch.float32 else "")
                + (f", int8 convolution {self.int8:.0f} GOP/s" if self.int8 else ""))


def _qconv1d_flops(x_shape, _x_scale, _x_zp, _w, _w_scale, _w_zp, _bias, _stride, padding, dilation, *_args,
                   out_shape=None, **_kwargs) -> int:
    """oneDNN's int8 Conv1d (model/int8.py), which torch's counter does not know: 2·N·C_out·C_in·k·L."""
    batch, channels_in, width = x_shape
    length = out_shape[-1]
    kernel = (width + 2 * padding[0] - length) // dilation[0] + 1
    return 2 * batch * out_shape[1] * channels_in * kernel * length


def count_flops(fn: Callable[[], object]) -> dict[str, float]:
    """FLOPs of one call by PyTorch's own counter (matmuls, convolutions, attention, and our int8
    convolutions), per module name ("KokoroModel.decoder.generator", …) plus "total" and "int8".
    The architecture's work: convolutions are counted at their true widths, not at the bucketed
    widths they run at (model/generator.py)."""
    from torch.utils.flop_counter import FlopCounterMode

    from kokoro_engine.model.generator import exact_widths

    mapping = {}
    if hasattr(torch.ops.onednn, "qconv1d_pointwise"):
        mapping[torch.ops.onednn.qconv1d_pointwise] = _qconv1d_flops
    counter = FlopCounterMode(display=False, custom_mapping=mapping)
    with counter, torch.inference_mode(), exact_widths():
        fn()
    counts = counter.get_flop_counts()
    flops = {name: float(sum(ops.values())) for name, ops in counts.items()}
    flops["total"] = float(counter.get_total_flops())
    flops["int8"] = float(sum(n for op, n in counts.get("Global", {}).items() if "qconv" in str(op)))
    return flops


def floor_seconds(flops: dict[str, float], peak: float, peak_fp32: float, peak_int8: float | None = None) -> float:
    """Seconds the counted work needs at the measured peaks: int8 convolutions at the int8 rate, the
    rest of the decoder at the compute dtype's, the fp32 text side (PL-BERT, predictor, text
    encoder) at fp32's."""
    int8 = flops.get("int8", 0.0)
    decoder = flops.get("KokoroModel.decoder", 0.0) - int8
    text = flops["total"] - decoder - int8
    return (decoder / peak + text / peak_fp32 + int8 / (peak_int8 or peak)) / 1e9


def _reference_model(state_dict: dict[str, torch.Tensor]):
    """hexgrad's KModel holding our weights (test/benchmark only; never a runtime dependency)."""
    import tempfile

    try:
        from kokoro import KModel
    except ImportError as exc:
        raise SystemExit("kokoro-engine: error: --compare-reference needs `pip install kokoro==0.9.4`") from exc
    from kokoro_engine.config import raw_config

    config = raw_config()
    empty = Path(tempfile.mkdtemp()) / "empty.pth"
    torch.save({}, empty)
    model = KModel(repo_id="hexgrad/Kokoro-82M", config=config, model=str(empty)).eval()
    for name in ("bert", "bert_encoder", "predictor", "text_encoder", "decoder"):
        part = {k[len(name) + 1:]: v.float() for k, v in state_dict.items() if k.startswith(name + ".")}
        missing, unexpected = getattr(model, name).load_state_dict(part, strict=False)
        # Only PL-BERT's unused pooler may be absent (the ONNX export does not carry it).
        if [k for k in missing if not k.startswith("pooler.")] or unexpected:
            raise SystemExit(f"kokoro-engine: error: reference cannot take these weights: {missing} {unexpected}")
    return model


def _onnx_session(threads: int):
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise SystemExit("kokoro-engine: error: --compare-onnx needs `pip install onnxruntime`") from exc
    from kokoro_engine.io.assets import pip_int8_onnx_path

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(pip_int8_onnx_path()), options, providers=["CPUExecutionProvider"])


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()} ({torch.get_num_threads()} threads)"
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def main(args: argparse.Namespace) -> int:
    from kokoro_engine.device import default_stft, resolve_device, resolve_dtype, resolve_quantize
    from kokoro_engine.io.assets import model_or_default
    from kokoro_engine.io.voices import VoiceLibrary
    from kokoro_engine.io.weights import load_model, read_state_dict
    from kokoro_engine.pipeline import KokoroEngine
    from kokoro_engine.text.g2p import get_g2p

    threads = args.threads or min(2, torch.get_num_threads())
    torch.set_num_threads(threads)
    device = resolve_device(args.device)
    dtype = resolve_dtype(args.dtype, device)
    model_path = model_or_default(args.model)
    stft = default_stft(device)
    quantize = resolve_quantize(args.quantize, device, dtype)
    model = load_model(model_path, device=device, dtype=dtype, stft=stft, quantize=quantize)
    library = VoiceLibrary()
    voice = library.load(args.voice or "jf_alpha")
    engine = KokoroEngine(model, library, device)
    g2p = get_g2p("a")
    lengths = [name.strip() for name in (args.lengths or ",".join(TEXTS)).split(",") if name.strip()]
    unknown = [name for name in lengths if name not in TEXTS]
    if unknown:
        raise SystemExit(f"kokoro-engine: error: unknown length(s) {unknown}; choose from {list(TEXTS)}")

    # Quality budget of a reduced-precision run: the same phonemes and seed through our fp32 path.
    fp32 = (load_model(model_path, device=device, dtype=torch.float32, stft=stft)
            if dtype != torch.float32 or quantize else None)
    reference = _reference_model(read_state_dict(model_path)) if args.compare_reference else None
    onnx = _onnx_session(threads) if args.compare_onnx else None

    peaks = Peaks.measure(device, dtype, int8=device.type == "cpu")
    print(f"# {time.strftime('%Y-%m-%d')}, {_cpu_name()}, torch {torch.__version__}")
    if device.type == "cpu":
        print(f"# {isa_summary()}")
    print(f"# kokoro-engine benchmark: model {model_path.name}, voice {voice.name}, device {device}, "
          f"dtype {str(dtype).replace('torch.', '')}, int8 convolutions {model.int8_convs}, stft {stft}, "
          f"threads {threads}, "
          f"warmup {args.warmup}, repeat {args.repeat}")
    print(f"# dense peak (2048² matmul): {peaks}")
    print("# floor: the counted FLOPs at those peaks (int8 convolutions at int8's, the rest of the decoder in the"
          " compute dtype, the text side in fp32),"
          " a time no implementation in these dtypes beats here; % peak = floor / ours")
    header = (f"{'length':<9} {'phon':>5} {'audio s':>8} {'ours s':>8} {'RTF':>6} {'phon/s':>7} {'1st chunk':>9}"
              f" {'GFLOP':>6} {'floor RTF':>9} {'floor 1st':>9} {'% peak':>6}")
    if fp32 is not None:
        header += f" {'mel dB':>6} {'dur %':>5}"
    if reference is not None:
        header += f" {'ref s':>7} {'ref RTF':>7} {'ours/ref':>8}"
    if onnx is not None:
        header += f" {'onnx s':>7} {'onnx RTF':>8} {'ours/onnx':>9}"
    print(header)
    for name in lengths:
        phonemes = g2p.phonemize(TEXTS[name])
        ids = model.tokenize(phonemes)[: model.context_length - 2]
        input_ids = torch.tensor([[0, *ids, 0]], device=device)
        style = voice.style_for(len(phonemes)).to(device)

        last: dict[str, torch.Tensor] = {}  # the timed run's durations, for the quality figures

        def ours(input_ids: torch.Tensor = input_ids, style: torch.Tensor = style,
                 last: dict[str, torch.Tensor] = last) -> np.ndarray:
            with torch.inference_mode():
                audio, last["durations"] = model(input_ids, style, 1.0, torch.Generator().manual_seed(0))
            return audio.cpu().numpy()

        latency, audio = _time(ours, args.warmup, args.repeat)
        seconds = len(audio) / SAMPLE_RATE
        # Time to first audio through the text pipeline: what a listener waits for.
        start = time.perf_counter()
        next(iter(engine.synthesize(TEXTS[name], voice, lang="a", seed=0)))
        first = time.perf_counter() - start
        # The same two runs again under the FLOP counter (untimed: counting slows them down).
        flops = count_flops(ours)
        floor = peaks.floor(flops)
        text = TEXTS[name]

        def first_chunk(text: str = text) -> object:
            return next(iter(engine.synthesize(text, voice, lang="a", seed=0)))

        first_floor = peaks.floor(count_flops(first_chunk))
        line = (f"{name:<9} {len(ids):>5} {seconds:>8.2f} {latency:>8.3f} {latency / seconds:>6.3f} "
                f"{len(ids) / latency:>7.0f} {first:>9.3f} {flops['total'] / 1e9:>6.1f} {floor / seconds:>9.3f}"
                f" {first_floor:>9.3f} {100 * floor / latency:>6.0f}")
        if fp32 is not None:
            from kokoro_engine.tools.metrics import duration_agreement, log_mel_distance_db

            with torch.inference_mode():
                base, base_durations = fp32(input_ids, style, 1.0, torch.Generator().manual_seed(0))
            line += (f" {log_mel_distance_db(base.cpu().numpy(), audio):>6.2f}"
                     f" {100 * duration_agreement(base_durations.cpu(), last['durations'].cpu()):>5.1f}")
        if reference is not None:
            def ref(input_ids: torch.Tensor = input_ids, style: torch.Tensor = style) -> np.ndarray:
                torch.manual_seed(0)
                with torch.inference_mode():
                    audio, _ = reference.forward_with_tokens(input_ids.cpu(), style.cpu(), 1.0)
                return audio.numpy()

            ref_latency, ref_audio = _time(ref, args.warmup, args.repeat)
            ref_rtf = ref_latency / (len(ref_audio) / SAMPLE_RATE)
            line += f" {ref_latency:>7.3f} {ref_rtf:>7.3f} {latency / ref_latency:>8.2f}"
        if onnx is not None:
            feed: dict[str, np.ndarray] = {"tokens": np.array([[0, *ids, 0]], dtype=np.int64),
                                           "style": style.cpu().numpy().astype(np.float32),
                                           "speed": np.array([1.0], dtype=np.float32)}

            def onnx_run(feed: dict[str, np.ndarray] = feed) -> np.ndarray:
                return onnx.run(None, feed)[0]

            onnx_latency, onnx_audio = _time(onnx_run, args.warmup, args.repeat)
            onnx_rtf = onnx_latency / (len(onnx_audio) / SAMPLE_RATE)
            line += f" {onnx_latency:>7.3f} {onnx_rtf:>8.3f} {latency / onnx_latency:>9.2f}"
        print(line, flush=True)
    return 0
