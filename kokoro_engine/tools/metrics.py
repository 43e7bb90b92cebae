"""Audio comparison: how far two renderings of the same utterance are, in decibels.

Used by the real-weights tests, `kokoro-engine accuracy` and the speed work's quality budget.
"""

from __future__ import annotations

import numpy as np
import torch

from kokoro_engine.audio import SAMPLE_RATE


def mel_filterbank(sr: int, n_fft: int, n_mels: int, fmin: float = 0.0, fmax: float | None = None) -> np.ndarray:
    """Triangular filters on the HTK mel scale, [n_mels, n_fft // 2 + 1]."""
    fmax = fmax or sr / 2

    def to_mel(f: np.ndarray | float) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    def to_hz(m: np.ndarray) -> np.ndarray:
        return 700.0 * (10 ** (m / 2595.0) - 1.0)

    edges = to_hz(np.linspace(to_mel(fmin), to_mel(fmax), n_mels + 2))
    freqs = np.linspace(0, sr / 2, n_fft // 2 + 1)
    lower, center, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs - lower) / np.maximum(center - lower, 1e-9)
    falling = (upper - freqs) / np.maximum(upper - center, 1e-9)
    return np.maximum(0.0, np.minimum(rising, falling)).astype(np.float32)


def log_mel_db(audio: np.ndarray, sr: int = SAMPLE_RATE, n_fft: int = 1024, hop: int = 256, n_mels: int = 80) -> np.ndarray:
    """Log-mel power spectrogram in dB, [frames, n_mels]."""
    x = torch.as_tensor(np.asarray(audio, dtype=np.float32))
    spec = torch.stft(x, n_fft, hop, window=torch.hann_window(n_fft), return_complex=True).abs() ** 2
    mel = torch.as_tensor(mel_filterbank(sr, n_fft, n_mels)) @ spec
    return (10 * torch.log10(mel.clamp_min(1e-10))).T.numpy()


def _dtw_path(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Monotonic alignment of two frame sequences minimizing the summed frame cost."""
    n, m = cost.shape
    acc = np.full((n + 1, m + 1), np.inf)
    acc[0, 0] = 0.0
    for i in range(1, n + 1):
        # Diagonal and vertical steps come from the previous row; the horizontal step is a running
        # minimum along this row, resolved element by element.
        from_above = np.minimum(acc[i - 1, 1:], acc[i - 1, :-1])
        row = acc[i]
        ci = cost[i - 1]
        for j in range(1, m + 1):
            row[j] = ci[j - 1] + min(from_above[j - 1], row[j - 1])
    i, j, path_a, path_b = n, m, [], []
    while i > 0 and j > 0:
        path_a.append(i - 1)
        path_b.append(j - 1)
        step = np.argmin((acc[i - 1, j - 1], acc[i - 1, j], acc[i, j - 1]))
        i, j = (i - 1, j - 1) if step == 0 else ((i - 1, j) if step == 1 else (i, j - 1))
    return np.array(path_a[::-1]), np.array(path_b[::-1])


def log_mel_distance_db(a: np.ndarray, b: np.ndarray, sr: int = SAMPLE_RATE, align: bool = True,
                        match_gain: bool = True, floor_db: float = 80.0) -> float:
    """Mean absolute log-mel difference in dB between two renderings of the same utterance.

    `align` matches frames by dynamic time warping, so a phoneme rendered a frame longer shifts only
    itself, not everything after it (durations are aligned, not compared); `match_gain` removes a
    constant level offset (e.g. the ONNX export's fixed iSTFT gain). Bins more than `floor_db` below
    the loudest bin are clipped, so near-silence does not dominate.
    """
    ma, mb = log_mel_db(a, sr), log_mel_db(b, sr)
    top = max(ma.max(), mb.max())
    ma, mb = np.maximum(ma, top - floor_db), np.maximum(mb, top - floor_db)
    if match_gain:
        mb = np.maximum(mb + (ma.mean() - mb.mean()), top - floor_db)
    if align:
        cost = np.abs(ma[:, None, :] - mb[None, :, :]).mean(axis=2)
        ia, ib = _dtw_path(cost)
        ma, mb = ma[ia], mb[ib]
    else:
        n = min(len(ma), len(mb))
        ma, mb = ma[:n], mb[:n]
    if match_gain:  # refine the level offset on aligned frames
        mb = np.maximum(mb + np.median(ma - mb), top - floor_db)
    return float(np.abs(ma - mb).mean())


def duration_agreement(d1: np.ndarray | torch.Tensor, d2: np.ndarray | torch.Tensor) -> float:
    """Fraction of tokens with the same predicted duration."""
    a, b = np.asarray(d1).ravel(), np.asarray(d2).ravel()
    if a.shape != b.shape:
        return 0.0
    return float((a == b).mean()) if a.size else 1.0
