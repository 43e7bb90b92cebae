"""Weights on disk ↔ `KokoroModel`.

The canonical layout is the reference's flat `state_dict()` naming (`bert.…`, `bert_encoder.…`,
`predictor.…`, `text_encoder.…`, `decoder.…`) with weight-normed convolutions as `weight_g`/`weight_v`
pairs, exactly as in `kokoro-v1_0.pth`. Files: the original `.pth` (a dict of sub-module state dicts,
possibly with DataParallel's `module.` prefixes), flat `.safetensors` (fp32 or bf16). Loading is
strict: a missing, unexpected or misshapen tensor is an error naming it, never a partial model.
"""

from __future__ import annotations

import logging
import pickle
import zipfile
from collections.abc import Mapping
from pathlib import Path

import torch

from kokoro_engine.config import KokoroConfig, load_config
from kokoro_engine.device import channels_last_pays
from kokoro_engine.errors import EngineError, ErrorCode
from kokoro_engine.model import KokoroModel

_LOGGER = logging.getLogger(__name__)

SUBMODULES = ("bert", "bert_encoder", "predictor", "text_encoder", "decoder")
# Present in published files, unused for inference: position ids are recomputed, and PL-BERT's
# pooler head was never part of the TTS graph.
IGNORED_PREFIXES = ("bert.embeddings.position_ids", "bert.pooler.")


class WeightsError(EngineError):
    """A weights file that cannot become a complete, correct model."""

    code = ErrorCode.BAD_WEIGHTS


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read `.pth` or `.safetensors` into the canonical flat layout (tensors as stored)."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file not found: {path}")
    if path.suffix == ".onnx":
        raise WeightsError(f"{path} is an ONNX export; convert it first: kokoro-engine import-onnx --onnx {path} "
                           "--output kokoro-v1_0.safetensors")
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        if path.suffix == ".safetensors":
            raw: Mapping[str, object] = load_file(str(path))
        else:
            raw = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise WeightsError(f"cannot read weights from {path}: not a PyTorch state dict") from exc
    except (OSError, RuntimeError, ValueError, EOFError, zipfile.BadZipFile, SafetensorError) as exc:
        raise WeightsError(f"cannot read weights from {path}: {exc}") from exc
    if not isinstance(raw, Mapping):
        raise WeightsError(f"{path} does not hold a state dict")
    flat: dict[str, torch.Tensor] = {}
    for key, value in raw.items():
        if isinstance(value, Mapping):  # the original .pth: {"bert": {...}, "decoder": {...}, ...}
            for sub_key, tensor in value.items():
                flat[f"{key}.{_strip_module(sub_key)}"] = tensor
        elif isinstance(value, torch.Tensor):
            flat[_strip_module(key)] = value
        else:
            raise WeightsError(f"{path}: entry {key!r} is not a tensor")
    return flat


def _strip_module(key: str) -> str:
    return key[len("module."):] if key.startswith("module.") else key


def save_state_dict(state_dict: Mapping[str, torch.Tensor], path: str | Path,
                    dtype: torch.dtype = torch.float32) -> None:
    """Write a canonical flat `.safetensors` (atomically: temporary file, then rename)."""
    from safetensors.torch import save_file

    from kokoro_engine.io.atomic import atomic_path

    tensors = {k: (v.to(dtype) if v.is_floating_point() else v).contiguous() for k, v in state_dict.items()}
    with atomic_path(path) as tmp:  # a name of its own: replicas may import into one volume at once
        save_file(tensors, str(tmp), metadata={"format": "pt", "layout": "kokoro-canonical"})


def fold_weight_norm(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Replace each `weight_g`/`weight_v` pair by `weight = g · v / ‖v‖` (norm over all dims but 0).

    Done once at load so inference never recomputes the norm. Dim 0 matches torch's weight_norm
    default for both Conv1d ([out, in, k]) and ConvTranspose1d ([in, out, k]) as trained upstream.
    """
    out: dict[str, torch.Tensor] = {}
    for key, tensor in state_dict.items():
        if key.endswith(".weight_g"):
            continue
        if key.endswith(".weight_v"):
            base = key[: -len("_v")]
            g_key = base + "_g"
            if g_key not in state_dict:
                raise WeightsError(f"missing tensor: {g_key} (pair of {key})")
            v = tensor.float()
            g = state_dict[g_key].float()
            norm = v.flatten(1).norm(dim=1).view(-1, *([1] * (v.dim() - 1)))
            # An all-zero v (possible after int8 quantization) would divide 0 by 0: keep it zero.
            out[base] = torch.where(norm > 0, g * v / norm.clamp_min(torch.finfo(torch.float32).tiny),
                                    torch.zeros_like(v))
        else:
            out[key] = tensor
    for key in state_dict:
        if key.endswith(".weight_g") and key[:-2] + "_v" not in state_dict:
            raise WeightsError(f"missing tensor: {key[:-2]}_v (pair of {key})")
    return out


def load_model(path: str | Path, *, config: KokoroConfig | str | Path | None = None,
               device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32,
               stft: str = "torch", quantize: bool = False, channels_last: bool | None = None,
               fft: bool | None = False) -> KokoroModel:
    """Build a `KokoroModel` and load `path` into it strictly; returns it in eval mode on `device`.
    `quantize`: int8 residual-block convolutions in the generator (x86-64 CPU with AVX2; model/int8.py).
    `channels_last`: the generator's convolutions in oneDNN's layout (`ChannelsLastConv1d`);
    None: where `device.channels_last_pays` (the same numbers in fp32; faster, most in bf16).
    `fft`: the fp32 generator's long-kernel convolutions by FFT (model/fftconv.py) on a CPU without
    int8: None where a one-time probe per shape finds it faster, True for every such shape, False never."""
    if not isinstance(config, KokoroConfig):
        config = load_config(config)
    raw = read_state_dict(path)
    state = fold_weight_norm({k: v for k, v in raw.items() if not k.startswith(IGNORED_PREFIXES)})
    model = KokoroModel(config, stft=stft)
    load_state_dict_strict(model, state, source=str(path))
    model.to(device=torch.device(device))
    model.set_compute_dtype(dtype)
    if quantize:
        model.quantize_generator()
    if channels_last if channels_last is not None else channels_last_pays(model.device):
        model.use_channels_last()
    if fft is not False and dtype == torch.float32 and not quantize and model.device.type == "cpu":
        chosen = model.decoder.generator.use_fft_convs(measure=fft is None)
        _LOGGER.info("FFT convolutions (channels, kernel, dilation → FFT size): %s",
                     ", ".join(f"{shape} → {n or 'direct'}" for shape, n in chosen.items()))
    return model.eval()


def load_state_dict_strict(model: KokoroModel, state: Mapping[str, torch.Tensor], source: str) -> None:
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    problems = []
    if missing:
        problems.append(f"missing {len(missing)} tensor(s): {', '.join(missing[:5])}"
                        + (" …" if len(missing) > 5 else ""))
    if unexpected:
        problems.append(f"unexpected {len(unexpected)} tensor(s): {', '.join(unexpected[:5])}"
                        + (" …" if len(unexpected) > 5 else ""))
    for key in sorted(set(expected) & set(state)):
        if tuple(expected[key].shape) != tuple(state[key].shape):
            problems.append(f"{key} has shape {tuple(state[key].shape)}, expected {tuple(expected[key].shape)}")
    if problems:
        raise WeightsError(f"{source}: " + "; ".join(problems))
    model.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
