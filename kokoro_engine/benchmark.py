"""`kokoro-engine benchmark`: speed per text length, side by side with the reference and ONNX Runtime.

Every runtime gets the same phonemes, the same weights and the same voice row, in one process, so the
ratios compare implementations rather than machines or moods of the machine.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import SAMPLE_RATE

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


@dataclass
class Timing:
    latency: float
    audio_seconds: float
    first_chunk: float | None = None

    @property
    def rtf(self) -> float:
        return self.latency / self.audio_seconds if self.audio_seconds else float("nan")


def _time(fn: Callable[[], np.ndarray], warmup: int, repeat: int) -> tuple[float, np.ndarray]:
    for _ in range(warmup):
        fn()
    times, audio = [], np.zeros(0, dtype=np.float32)
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        audio = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), audio


def _reference_model(state_dict: dict[str, torch.Tensor]):
    """hexgrad's KModel holding our weights (test/benchmark only; never a runtime dependency)."""
    import json
    import tempfile

    try:
        from kokoro import KModel
    except ImportError as exc:
        raise SystemExit("kokoro-engine: error: --compare-reference needs `pip install kokoro==0.9.4`") from exc
    from importlib import resources

    config = json.loads(resources.files("kokoro_engine").joinpath("data/config-v1_0.json").read_text("utf-8"))
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
    from .assets import pip_int8_onnx_path

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
    from .assets import model_or_default
    from .device import default_stft, resolve_device, resolve_dtype
    from .g2p import get_g2p
    from .pipeline import KokoroEngine
    from .voices import VoiceLibrary
    from .weights import load_model, read_state_dict

    threads = args.threads or min(2, torch.get_num_threads())
    torch.set_num_threads(threads)
    device = resolve_device(args.device)
    dtype = resolve_dtype(args.dtype, device)
    model_path = model_or_default(args.model)
    stft = default_stft(device)
    model = load_model(model_path, device=device, dtype=dtype, stft=stft)
    library = VoiceLibrary()
    voice = library.get(args.voice or "jf_alpha")
    engine = KokoroEngine(model, library, device)
    g2p = get_g2p("a")
    lengths = [name.strip() for name in (args.lengths or ",".join(TEXTS)).split(",") if name.strip()]
    unknown = [name for name in lengths if name not in TEXTS]
    if unknown:
        raise SystemExit(f"kokoro-engine: error: unknown length(s) {unknown}; choose from {list(TEXTS)}")

    # Quality budget of a reduced-precision run: the same phonemes and seed through our fp32 path.
    fp32 = load_model(model_path, device=device, dtype=torch.float32, stft=stft) if dtype != torch.float32 else None
    reference = _reference_model(read_state_dict(model_path)) if args.compare_reference else None
    onnx = _onnx_session(threads) if args.compare_onnx else None

    print(f"# {time.strftime('%Y-%m-%d')}, {_cpu_name()}, torch {torch.__version__}")
    print(f"# kokoro-engine benchmark: model {model_path.name}, voice {voice.name}, device {device}, "
          f"dtype {str(dtype).replace('torch.', '')}, stft {stft}, threads {threads}, "
          f"warmup {args.warmup}, repeat {args.repeat}")
    header = f"{'length':<9} {'phon':>5} {'audio s':>8} {'ours s':>8} {'RTF':>6} {'phon/s':>7} {'1st chunk':>9}"
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
        line = (f"{name:<9} {len(ids):>5} {seconds:>8.2f} {latency:>8.3f} {latency / seconds:>6.3f} "
                f"{len(ids) / latency:>7.0f} {first:>9.3f}")
        if fp32 is not None:
            from .metrics import duration_agreement, log_mel_distance_db

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
            feed = {"tokens": np.array([[0, *ids, 0]], dtype=np.int64),
                    "style": style.cpu().numpy().astype(np.float32),
                    "speed": np.array([1.0], dtype=np.float32)}
            onnx_latency, onnx_audio = _time(lambda feed=feed: onnx.run(None, feed)[0], args.warmup, args.repeat)
            onnx_rtf = onnx_latency / (len(onnx_audio) / SAMPLE_RATE)
            line += f" {onnx_latency:>7.3f} {onnx_rtf:>8.3f} {latency / onnx_latency:>9.2f}"
        print(line, flush=True)
    return 0
