"""Device and dtype selection: cpu, cuda, npu (Huawei Ascend, via torch_npu), mps; `auto` picks the best."""

from __future__ import annotations

import functools
import importlib
import importlib.util
import platform
from pathlib import Path

import torch

DEVICES = ("auto", "cpu", "cuda", "npu", "mps")
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16,
          "float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def dtype_name(dtype: torch.dtype) -> str:
    """The long name of a dtype in DTYPES ("bfloat16"), as logs, `/health` and reports print it."""
    return str(dtype).removeprefix("torch.")


def _npu_available() -> bool:
    try:
        importlib.import_module("torch_npu")  # registers the "npu" device with torch
    except ImportError:
        return False
    # torch.npu exists only once torch_npu is imported, so torch's stubs do not declare it.
    npu = getattr(torch, "npu", None)
    return bool(npu and npu.is_available())


def resolve_device(name: str = "auto") -> torch.device:
    """`auto` → cuda, then npu, then mps, then cpu. An unavailable explicit choice is an error."""
    name = (name or "auto").lower()
    if name not in DEVICES:
        raise ValueError(f"unknown device {name!r}; choose one of {', '.join(DEVICES)}")
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        # Only probe torch_npu when it is installed: importing it is slow and it prints warnings.
        if importlib.util.find_spec("torch_npu") is not None and _npu_available():
            return torch.device("npu")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but torch has no usable CUDA device")
    if name == "npu":
        if importlib.util.find_spec("torch_npu") is None:
            raise ValueError("device 'npu' requested but torch_npu is not installed (pip install torch-npu "
                             "matching your CANN toolkit)")
        if not _npu_available():
            raise ValueError("device 'npu' requested but no Ascend NPU is available")
    if name == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device 'mps' requested but MPS is not available")
    return torch.device(name)


def resolve_dtype(name: str | None, device: torch.device) -> torch.dtype:
    """`auto` (or None): bf16 on a CPU with native bf16 kernels (AVX512-BF16/AMX), else fp32.

    bf16 runs only the decoder's convolutions in reduced precision (see KokoroModel): on such a CPU
    it is markedly faster within the quality budget, with identical durations (tests/test_precision.py
    checks the budget; docs/PERFORMANCE.md has the figures). CUDA and NPU stay fp32 by default until measured there; ask for
    bf16/fp16 explicitly.
    """
    if name is None or name == "auto":
        if device.type == "cpu" and cpu_has_fast(torch.bfloat16):
            return torch.bfloat16
        return torch.float32
    try:
        dtype = DTYPES[name.lower()]
    except KeyError:
        raise ValueError(f"unknown dtype {name!r}; choose one of {', '.join(DTYPES)}") from None
    if device.type == "cpu" and dtype != torch.float32 and not cpu_has_fast(dtype):
        # Without AVX512-BF16/AMX (or AVX512-FP16) oneDNN has no kernels and PyTorch falls back to a
        # reference convolution loop about 100x slower than fp32: refuse rather than crawl.
        raise ValueError(f"{name} on this CPU has no fast kernels (needs AVX512-BF16/AMX or AVX512-FP16); "
                         "use fp32")
    return dtype


QUANTIZE_MODES = ("auto", "none", "int8")


def resolve_quantize(name: str | None, device: torch.device, dtype: torch.dtype | None = None) -> bool:
    """Whether the generator's residual-block convolutions run in int8 (see model/int8.py).

    `auto` (or None): yes on a CPU with VNNI (u8×s8 dot products) and oneDNN's int8 convolution,
    which speeds up short and medium replies most (the longest chunks are memory-bound) within the
    quality budget (tests/test_precision.py; figures in docs/PERFORMANCE.md); no elsewhere, and no
    for a bf16 decoder on a CPU with AMX-BF16: its tiles run bf16 convolutions as fast as int8 ones,
    so the quantization passes only cost time and quality there. `int8` where it cannot run is an
    error, not a slow path.
    """
    from kokoro_engine.model.int8 import int8_available

    mode = (name or "auto").lower()
    if mode not in QUANTIZE_MODES:
        raise ValueError(f"unknown quantization {name!r}; choose one of {', '.join(QUANTIZE_MODES)}")
    if mode == "none":
        return False
    usable = device.type == "cpu" and int8_available()
    if mode == "int8" and not usable:
        raise ValueError("int8 needs the CPU device with VNNI (AVX512-VNNI, AVX-VNNI or AMX) and oneDNN")
    if mode == "auto" and dtype == torch.bfloat16 and "amx_bf16" in cpu_flags():
        return False
    return usable


def channels_last_pays(device: torch.device, quantize: bool) -> bool:
    """Whether the generator should run channels-last (`ChannelsLastConv1d`): on x86-64 CPUs with
    oneDNN, where it was measured (AMX and AVX-512, bf16 and fp32), and not with int8 convolutions,
    which block their input themselves. Other CPUs and accelerators keep PyTorch's layout until
    measured there."""
    return (device.type == "cpu" and not quantize and torch.backends.mkldnn.is_available()
            and platform.machine().lower() in ("x86_64", "amd64"))


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags as Linux names them (`avx512_vnni`, `amx_bf16`, …); empty elsewhere."""
    try:
        return frozenset(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return frozenset()


def cpu_has_fast(dtype: torch.dtype) -> bool:
    """Whether oneDNN can run `dtype` convolutions natively on this CPU."""
    if dtype == torch.bfloat16:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    if dtype == torch.float16:
        return bool(torch.ops.mkldnn._is_mkldnn_fp16_supported())
    return True


def default_stft(device: torch.device | str) -> str:
    """The NPU cannot run complex tensors, so it gets the convolutional STFT."""
    kind = device.type if isinstance(device, torch.device) else str(device).split(":")[0]
    return "conv" if kind == "npu" else "torch"
