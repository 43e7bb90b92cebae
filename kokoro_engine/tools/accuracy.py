"""`kokoro-engine accuracy`: the same phonemes on a device/dtype and on CPU fp32, compared.

Pass/fail thresholds are the quality budget every speed-up must keep: predicted durations equal on at
least 95 % of tokens and a log-mel distance to the fp32 output of at most 1.0 dB (after duration
alignment). Noise is seeded identically, so CPU fp32 against itself is exact.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

MIN_DURATION_AGREEMENT = 0.95
MAX_LOG_MEL_DB = 1.0

CASES: dict[str, str] = {
    "greeting": "Hello! How can I help you today?",
    "numbers": "It is twenty one degrees inside and fourteen degrees outside.",
    "question": "Would you like me to turn off the lights in the bedroom?",
    "long": (
        "The washing machine has finished. The dryer will be done in about forty minutes, and the "
        "dishwasher is still running its eco program, which takes a little longer than usual."
    ),
}


def main(args: argparse.Namespace) -> int:
    from kokoro_engine.device import default_stft, dtype_name, resolve_device, resolve_dtype, resolve_quantize
    from kokoro_engine.io.assets import model_or_default
    from kokoro_engine.io.voices import VoiceLibrary
    from kokoro_engine.io.weights import load_model
    from kokoro_engine.text.g2p import get_g2p
    from kokoro_engine.tools.metrics import duration_agreement, log_mel_distance_db

    device = resolve_device(args.device)
    dtype = resolve_dtype(args.dtype, device)
    model_path = model_or_default(args.model)
    baseline = load_model(model_path)
    quantize = resolve_quantize(args.quantize, device, dtype)
    candidate = load_model(model_path, device=device, dtype=dtype, stft=default_stft(device), quantize=quantize)
    voice = VoiceLibrary().load(args.voice or "jf_alpha")
    g2p = get_g2p("a")

    precision = dtype_name(dtype) + (" + int8" if quantize else "")
    print(f"# accuracy: {device} {precision} against cpu float32, model {model_path.name}; "
          f"pass: durations ≥ {MIN_DURATION_AGREEMENT:.0%} equal, log-mel ≤ {MAX_LOG_MEL_DB} dB")
    print(f"{'case':<10} {'tokens':>6} {'dur agree':>9} {'max rel diff':>12} {'log-mel dB':>10}  result")
    failed = 0
    for name, text in CASES.items():
        phonemes = g2p.phonemize(text)
        ids = torch.tensor([[0, *baseline.tokenize(phonemes), 0]])
        style = voice.style_for(len(phonemes))
        with torch.inference_mode():
            ref_audio, ref_dur = baseline(ids, style, 1.0, torch.Generator().manual_seed(0))
            audio, dur = candidate(ids.to(device), style.to(device), 1.0, torch.Generator().manual_seed(0))
        a, b = ref_audio.numpy(), audio.cpu().numpy()
        agreement = duration_agreement(ref_dur.cpu().numpy(), dur.cpu().numpy())
        n = min(len(a), len(b))
        max_rel = float(np.abs(a[:n] - b[:n]).max() / max(np.abs(a).max(), 1e-9))
        distance = log_mel_distance_db(a, b)
        ok = agreement >= MIN_DURATION_AGREEMENT and distance <= MAX_LOG_MEL_DB
        failed += not ok
        print(f"{name:<10} {ids.shape[1] - 2:>6} {agreement:>9.1%} {max_rel:>12.2e} {distance:>10.3f}  "
              f"{'PASS' if ok else 'FAIL'}", flush=True)
    print(f"{len(CASES) - failed} passed, {failed} failed")
    return 1 if failed else 0
