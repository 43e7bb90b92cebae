"""`kokoro-engine`: synthesize, phonemize, benchmark, profile, accuracy, import-onnx.

Bad input ends in one line on stderr (`kokoro-engine: error: …`) and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import wave
from pathlib import Path

import numpy as np

from kokoro_engine import __version__
from kokoro_engine.audio import SAMPLE_RATE

PROG = "kokoro-engine"


def _add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="weights file (.safetensors or .pth); default: first found in the data folders")
    p.add_argument("--voices-dir", action="append", default=[], help="extra folder with voice packs (repeatable)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, npu or mps")
    p.add_argument("--dtype", default=None, help="auto (default: bf16 on CPUs with native bf16, else fp32), "
                   "fp32, bf16 or fp16")
    p.add_argument("--stft", default="auto", choices=["auto", "torch", "conv"],
                   help="STFT form; conv avoids complex tensors (default on NPU)")
    p.add_argument("--quantize", default="auto", choices=["auto", "none", "int8"],
                   help="int8 generator convolutions (default auto: x86-64 CPUs with AVX2, except bf16 on AMX)")


def _add_lexicon_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lexicon", action="append", default=[], type=Path, metavar="FILE",
                   help="household lexicon, YAML or TSV (repeatable)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Kokoro-82M text to speech")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--debug", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("synthesize", help="speak text into a WAV file")
    text = p.add_mutually_exclusive_group(required=True)
    text.add_argument("--text")
    text.add_argument("--text-file", type=Path)
    p.add_argument("--voice", default="af_heart", help="name, blend (a:0.7+b:0.3) or voice file")
    p.add_argument("--output", "-o", type=Path, required=True)
    p.add_argument("--speed", type=float, default=1.0)
    p.add_argument("--lang", default=None, help="language (a, b, j, z, e, f, h, i, p or en_US…); default: the voice's")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--ssml", action="store_true", help="the text is SSML (also when it starts with <speak>)")
    p.add_argument("--sentence-silence", type=float, default=0.0, metavar="SECONDS", help="silence between sentences")
    p.add_argument("--trailing-silence", type=float, default=0.0, metavar="SECONDS", help="silence at the end")
    _add_lexicon_option(p)
    _add_model_options(p)

    p = sub.add_parser("phonemize", help="print the phonemes of each chunk")
    p.add_argument("--text", required=True)
    p.add_argument("--lang", default="a")
    p.add_argument("--json", action="store_true")
    _add_lexicon_option(p)

    p = sub.add_parser("benchmark", help="speed per text length, optionally against the reference and ONNX")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--lengths", default=None, help="comma list of short, medium, long, verylong")
    p.add_argument("--compare-reference", action="store_true", help="also run hexgrad's kokoro on the same input")
    p.add_argument("--compare-onnx", action="store_true", help="also run the int8 export on ONNX Runtime")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--voice", default=None)
    _add_model_options(p)

    p = sub.add_parser("profile", help="where a one-line reply's time and the process's memory go")
    p.add_argument("--voice", default=None, help="default: af_heart, else jf_alpha (the pip-installed packs)")
    p.add_argument("--replies", type=int, default=8, help="new one-line replies per view (default 8)")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--seed", type=int, default=5, help="seed of the text generator")
    p.add_argument("--every-language", action="store_true", help="also load every other language's G2P (memory)")
    _add_model_options(p)

    p = sub.add_parser("accuracy", help="compare a device/dtype against CPU fp32")
    p.add_argument("--voice", default=None)
    _add_model_options(p)

    p = sub.add_parser("import-onnx", help="convert kokoro-onnx's export into our safetensors")
    p.add_argument("--onnx", type=Path, required=True)
    p.add_argument("--output", "-o", type=Path, required=True)
    p.add_argument("--dtype", default="fp32", choices=["fp32", "bf16"])
    return parser


def write_wav(path: Path, audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> None:
    pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.tobytes())


def _load_engine(args: argparse.Namespace):
    from kokoro_engine.pipeline import KokoroEngine

    return KokoroEngine.load(args.model, voices_dirs=args.voices_dir, device=args.device,
                             dtype=args.dtype, stft=args.stft, quantize=args.quantize,
                             lexicon_files=getattr(args, "lexicon", ()))


def _synthesize(args: argparse.Namespace) -> int:
    text = args.text if args.text is not None else args.text_file.read_text("utf-8")
    engine = _load_engine(args)
    voice = args.voice
    if voice == "af_heart" and "af_heart" not in engine.voices:
        voice = "jf_alpha"  # the packs pip installs; say so rather than fail on the default
        logging.getLogger(PROG).warning("af_heart is not installed; using jf_alpha")
    pack = engine.voices.load(voice)  # the command line may name a voice file; a request never does
    chunks = [c.audio for c in engine.synthesize(text, pack, speed=args.speed, lang=args.lang, seed=args.seed,
                                                 text_format="ssml" if args.ssml else None,
                                                 sentence_silence=args.sentence_silence,
                                                 trailing_silence=args.trailing_silence)]
    audio = np.concatenate(chunks)
    write_wav(args.output, audio)
    print(f"{args.output}: {len(audio) / SAMPLE_RATE:.2f} s, {len(chunks)} chunk(s)")
    return 0


def _phonemize(args: argparse.Namespace) -> int:
    from kokoro_engine.config import load_config
    from kokoro_engine.text.chunking import text_to_chunks
    from kokoro_engine.text.g2p import get_g2p, resolve_lang
    from kokoro_engine.text.lexicon import Lexicon, phonemizer

    if not args.text.strip():
        raise ValueError("text is empty")
    lang = resolve_lang(args.lang)
    vocab = load_config().vocab
    lexicon = Lexicon(args.lexicon, vocab) if args.lexicon else None
    speak = phonemizer(get_g2p(lang).phonemize, lang, vocab, lexicon)
    chunks = [ph for _, ph in text_to_chunks(args.text, lang, speak, vocab)]
    if args.json:
        from kokoro_engine.text.chunking import count_tokens

        print(json.dumps({"chunks": [{"phonemes": ph, "tokens": count_tokens(ph, vocab)} for ph in chunks]},
                         ensure_ascii=False))
    else:
        print("\n".join(chunks))
    return 0


def _import_onnx(args: argparse.Namespace) -> int:
    import torch

    from kokoro_engine.io.onnx_import import import_onnx

    summary = import_onnx(args.onnx, args.output, dtype=torch.bfloat16 if args.dtype == "bf16" else torch.float32)
    print(f"{args.output}: {summary.pop('total')} tensors ({', '.join(f'{k} {v}' for k, v in summary.items())})")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    from kokoro_engine.memory import tune_allocator

    tune_allocator()  # before any thread: long chunks stop page-faulting (kokoro_engine.memory)
    commands = {"synthesize": _synthesize, "phonemize": _phonemize, "import-onnx": _import_onnx}
    try:
        if args.command == "benchmark":
            from kokoro_engine.tools.benchmark import main as run
        elif args.command == "profile":
            from kokoro_engine.tools.profile import main as run
        elif args.command == "accuracy":
            from kokoro_engine.tools.accuracy import main as run
        else:
            run = commands[args.command]
        return run(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # every failure a user can cause ends in one readable line
        if args.debug:
            raise
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if isinstance(exc, KeyError) and message.startswith(("'", '"')):
            message = message.strip("'\"")
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
