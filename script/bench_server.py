"""The headline benchmark: what a Home Assistant client gets through the server, on a new text each
request, next to ONNX Runtime int8 and the reference (hexgrad kokoro) on the same phonemes, in one run.

For each length a fresh text is made for every round (real replies never repeat, and a new text is
a new input length). Each text goes to the server as a plain `synthesize` over Wyoming: time to the
first audio chunk and to `audio-stop`. Then, in this process and while the server is idle, the same
phoneme chunks the engine makes for that text are rendered by ONNX Runtime int8 and by the
reference, and once by our engine in-process (the second view, on this process's main thread).
The quality figures compare our configured model with our fp32 path on the same phonemes and seed.
Streaming rows time Home Assistant's LLM path: first audio after the first sentence is complete.
The busy-box row times short replies again beside another process that keeps one core busy (Home
Assistant or another add-on at work), against the idle rounds of the same run.

Run through `script/bench-server` (which starts a server with the audio cache off).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kokoro_engine.tools.benchmark import make_text  # noqa: E402  (after the path is set)


async def plain(port: int, text: str, voice: str) -> tuple[float, float, float]:
    """(time to first audio, total time, audio seconds) of one plain request."""
    from wyoming.audio import AudioChunk
    from wyoming.client import AsyncTcpClient
    from wyoming.tts import Synthesize, SynthesizeVoice

    async with AsyncTcpClient("127.0.0.1", port) as client:
        start = time.perf_counter()
        await client.write_event(Synthesize(text=text, voice=SynthesizeVoice(name=voice)).event())
        first, samples = None, 0
        while True:
            event = await client.read_event()
            if event is None:
                raise RuntimeError("connection closed before audio-stop")
            if AudioChunk.is_type(event.type):
                first = first or time.perf_counter()
                samples += len(AudioChunk.from_event(event).audio) // 2
            elif event.type == "audio-stop":
                end = time.perf_counter()
                break
            elif event.type == "error":
                raise RuntimeError(f"server error: {event.data}")
    return (first or end) - start, end - start, samples / 24000


async def streaming(port: int, first_sentence: str, rest: str, voice: str) -> float:
    """Seconds from sending a complete first sentence (and the start of the next, as an LLM would)
    to its first audio, in a synthesize-start/chunk/stop stream."""
    from wyoming.client import AsyncTcpClient
    from wyoming.tts import SynthesizeChunk, SynthesizeStart, SynthesizeStop, SynthesizeVoice

    async with AsyncTcpClient("127.0.0.1", port) as client:
        await client.write_event(SynthesizeStart(voice=SynthesizeVoice(name=voice)).event())
        head, _, tail = rest.partition(" ")
        start = time.perf_counter()
        await client.write_event(SynthesizeChunk(text=f"{first_sentence} {head}").event())
        first = None
        sent_rest = False
        while True:
            event = await client.read_event()
            if event is None:
                raise RuntimeError("connection closed before synthesize-stopped")
            if event.type == "audio-chunk" and first is None:
                first = time.perf_counter() - start
            if first is not None and not sent_rest:
                await client.write_event(SynthesizeChunk(text=" " + tail).event())
                await client.write_event(SynthesizeStop().event())
                sent_rest = True
            if event.type == "synthesize-stopped":
                return first if first is not None else float("nan")


async def under_load(port: int, voice: str, long_text: str, shorts: list[str], together: bool) -> list[float]:
    """First audio of three short replies while one long reply is being synthesized (fair
    scheduling: a short one's first chunk goes before the long one's next). `together`: the three
    clients send at the same moment, so they also queue behind each other; otherwise one after the
    other, each while the long one is still running."""
    long_request = asyncio.create_task(plain(port, long_text, voice))
    await asyncio.sleep(2.0)  # the long one holds the worker
    if together:
        replies = await asyncio.gather(*(plain(port, text, voice) for text in shorts))
    else:
        replies = [await plain(port, text, voice) for text in shorts]
    await long_request
    return [first for first, _total, _audio in replies]


def resident_mb(pid: int | None) -> str:
    """The server's resident memory (VmRSS of /proc/PID/status), or "?" without a pid or /proc."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return f"{int(line.split()[1]) / 1024:.0f} MB"
    except (OSError, ValueError):
        pass
    return "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True, help="a running server (audio cache off)")
    parser.add_argument("--voice", default="jf_alpha")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--lengths", default="short,medium,long")
    parser.add_argument("--seed", type=int, default=1, help="seed of the text generator")
    parser.add_argument("--no-compare", action="store_true", help="server figures only")
    parser.add_argument("--pid", type=int, default=None, help="the server's process id: print its resident memory")
    args = parser.parse_args()

    import torch

    from kokoro_engine.device import onednn_isa_cap, resolve_device, resolve_dtype, resolve_quantize
    from kokoro_engine.io.assets import model_or_default
    from kokoro_engine.io.voices import VoiceLibrary
    from kokoro_engine.io.weights import load_model, read_state_dict
    from kokoro_engine.memory import tune_allocator
    from kokoro_engine.pipeline import KokoroEngine
    from kokoro_engine.tools.benchmark import _cpu_name, _onnx_session, _reference_model, isa_summary
    from kokoro_engine.tools.metrics import duration_agreement, log_mel_distance_db

    tune_allocator()
    torch.set_num_threads(2)
    rng = random.Random(args.seed)
    device = resolve_device("cpu")
    dtype = resolve_dtype(None, device)
    quantize = resolve_quantize(None, device, dtype)
    path = model_or_default(None)
    library = VoiceLibrary()
    pack = library.get(args.voice)
    engine = KokoroEngine(load_model(path, device=device, dtype=dtype, quantize=quantize), library, device)
    fp32 = load_model(path, device=device, dtype=torch.float32)
    onnx = reference = None
    if not args.no_compare:
        onnx = _onnx_session(2)
        reference = _reference_model(read_state_dict(path))
    print(f"# {time.strftime('%Y-%m-%d')}, {_cpu_name()}, torch {torch.__version__}; server on port {args.port}, "
          f"voice {args.voice}, a new text every request, {args.rounds} rounds per length")
    print(f"# {isa_summary()}")
    print(f"# server resident memory after warm-up: {resident_mb(args.pid)}", flush=True)
    if onednn_isa_cap() and onnx is not None:
        print("# ONNX Runtime cannot be capped: its columns are this CPU's native speed; compare with the reference")
    print(f"# ours: dtype {str(dtype).replace('torch.', '')}, int8 convolutions {quantize}; quality = log-mel dB and "
          "equal durations against our fp32 path on the same phonemes and seed (budget <= 1.0 dB, >= 95 %)")
    print(f"{'length':<8} {'audio s':>7} {'1st audio':>9} {'server RTF':>10} {'engine RTF':>10} {'onnx RTF':>8} "
          f"{'ref RTF':>7} {'srv/onnx':>8} {'srv/ref':>7} {'srv/eng':>7} {'1st/onnx':>8} {'1st/ref':>7} {'mel dB':>6} "
          f"{'dur %':>5}")

    def render(fn, chunks):  # (seconds, audio seconds) over the engine's chunks of one text
        start, samples = time.perf_counter(), 0
        for ph in chunks:
            samples += len(fn(ph))
        return time.perf_counter() - start, samples / 24000

    def ours_eng(text: str) -> tuple[float, float]:
        start = time.perf_counter()
        samples = sum(len(c.audio) for c in engine.synthesize(text, pack, seed=0))
        return time.perf_counter() - start, samples / 24000

    def ids_style(ph: str):
        return torch.tensor([[0, *engine.model.tokenize(ph), 0]]), pack.style_for(len(ph))

    def onnx_run(ph: str) -> np.ndarray:
        ids, style = ids_style(ph)
        return onnx.run(None, {"tokens": ids.numpy(), "style": style.numpy().astype(np.float32),
                               "speed": np.array([1.0], dtype=np.float32)})[0]

    def ref_run(ph: str) -> np.ndarray:
        ids, style = ids_style(ph)
        torch.manual_seed(0)
        with torch.inference_mode():
            return reference.forward_with_tokens(ids, style, 1.0)[0].numpy()

    # One untimed pass of each runtime, so none pays its first-call costs inside the table.
    warm = engine.phonemize(make_text("short", random.Random(0)), pack.lang)
    ours_eng(make_text("short", random.Random(0)))
    if onnx is not None:
        render(onnx_run, warm)
        render(ref_run, warm)
    short_firsts: list[float] = []
    short_totals: list[float] = []
    for length in [name.strip() for name in args.lengths.split(",") if name.strip()]:
        rows: dict[str, list[float]] = {k: [] for k in ("audio", "first", "srv", "eng", "onnx", "ref", "mel", "dur",
                                                        "1st/onnx", "1st/ref")}
        for _ in range(args.rounds):
            text = make_text(length, rng)
            first, total, audio = asyncio.run(plain(args.port, text, args.voice))
            rows["audio"].append(audio)
            rows["first"].append(first)
            if length == "short":
                short_totals.append(total)
            rows["srv"].append(total / audio)
            seconds, eng_audio = ours_eng(text)
            rows["eng"].append(seconds / eng_audio)
            chunks = engine.phonemize(text, pack.lang)
            if onnx is not None:
                # First audio against each runtime's time to render the first chunk: what its
                # listener would wait for.
                for name, fn in (("onnx", onnx_run), ("ref", ref_run)):
                    rows[f"1st/{name}"].append(first / render(fn, chunks[:1])[0])
                    rows[name].append(np.divide(*render(fn, chunks)))
            ph = chunks[0]
            ids, style = ids_style(ph)
            with torch.inference_mode():
                a, d = engine.model(ids, style, 1.0, torch.Generator().manual_seed(0))
                b, e = fp32(ids, style, 1.0, torch.Generator().manual_seed(0))
            rows["mel"].append(log_mel_distance_db(b.numpy(), a.numpy()))
            rows["dur"].append(100 * duration_agreement(e, d))
        med = {k: statistics.median(v) if v else float("nan") for k, v in rows.items()}
        if length == "short":
            short_firsts = rows["first"]
        print(f"{length:<8} {med['audio']:>7.2f} {med['first']:>9.3f} {med['srv']:>10.3f} {med['eng']:>10.3f} "
              f"{med['onnx']:>8.3f} {med['ref']:>7.3f} {med['srv'] / med['onnx']:>8.2f} {med['srv'] / med['ref']:>7.2f} "
              f"{med['srv'] / med['eng']:>7.2f} {med['1st/onnx']:>8.2f} {med['1st/ref']:>7.2f} {med['mel']:>6.2f} "
              f"{med['dur']:>5.1f}", flush=True)
        print(f"#   first audio per round: {' '.join(f'{x:.2f}' for x in rows['first'])} s; "
              f"server RTF {min(rows['srv']):.3f}-{max(rows['srv']):.3f}; server resident after these replies "
              f"{resident_mb(args.pid)}", flush=True)
    idle_short = statistics.median(short_firsts) if short_firsts else float("nan")
    for together in (False, True):
        loaded: list[float] = []
        for _ in range(max(1, args.rounds // 2)):
            long_text = " ".join(make_text("long", rng) for _ in range(4))  # ~90 s of audio
            shorts = [make_text("short", rng) for _ in range(3)]
            loaded += asyncio.run(under_load(args.port, args.voice, long_text, shorts, together))
        print(f"under load ({'3 clients at once' if together else '3 clients one after another'}, a ~90-s reply "
              f"in flight): short first audio {statistics.median(loaded):.3f} s (median), "
              f"{statistics.median(loaded) / idle_short:.2f}x the idle median {idle_short:.3f} s (target <= 2x); "
              f"each {' '.join(f'{x:.2f}' for x in loaded)}", flush=True)
    if short_totals:
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            time.sleep(0.5)
            beside = [asyncio.run(plain(args.port, make_text("short", rng), args.voice))[1] for _ in range(args.rounds)]
        finally:
            busy.kill()
            busy.wait()
        idle = statistics.median(short_totals)
        print(f"a busy box (another process spinning on one core): a short reply takes {statistics.median(beside):.3f} s "
              f"(median), {statistics.median(beside) / idle:.2f}x the idle median {idle:.3f} s; "
              f"each {' '.join(f'{x:.2f}' for x in beside)}", flush=True)
    firsts = []
    for _ in range(args.rounds):
        first_sentence = make_text("short", rng)
        firsts.append(asyncio.run(streaming(args.port, first_sentence, make_text("medium", rng), args.voice)))
    print(f"streaming: first audio {statistics.median(firsts):.3f} s (median) after a complete first sentence of "
          f"~2.5 s audio; rounds {' '.join(f'{x:.2f}' for x in firsts)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
