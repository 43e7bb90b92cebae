"""Device and dtype selection: cpu, cuda, npu (Huawei Ascend, via torch_npu), mps; `auto` picks the best."""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
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

    `auto` (or None): yes on an x86-64 CPU with AVX2 and oneDNN's int8 convolution, VNNI or not
    (without VNNI the weights keep 7 bits, `int8.operand_levels`), within the quality budget
    (tests/test_precision.py; figures per CPU class in docs/PERFORMANCE.md); no elsewhere, and no for
    a bf16 decoder on a CPU with AMX-BF16, whose tiles run bf16 convolutions nearly as fast, so int8
    would buy little speed for most of the quality budget there. `int8` where it cannot run is an
    error, not a slow path. All of it as oneDNN is capped (`cpu_flags`).
    """
    mode = (name or "auto").lower()
    if mode not in QUANTIZE_MODES:
        raise ValueError(f"unknown quantization {name!r}; choose one of {', '.join(QUANTIZE_MODES)}")
    if mode == "none":
        return False
    usable = device.type == "cpu" and int8_available()
    if mode == "int8" and not usable:
        raise ValueError("int8 needs the CPU device on x86-64 with AVX2 or better and oneDNN")
    if mode == "auto" and dtype == torch.bfloat16 and "amx_bf16" in cpu_flags():
        return False
    return usable


def channels_last_pays(device: torch.device) -> bool:
    """Whether the generator should run channels-last (`ChannelsLastConv1d`): on x86-64 CPUs with
    oneDNN, where it was measured (AMX, AVX-512 and AVX2; bf16, fp32 and int8, whose convolutions
    read and write that layout themselves). Other CPUs and accelerators keep PyTorch's layout until
    measured there."""
    return device.type == "cpu" and torch.backends.mkldnn.is_available() and is_x86_64()


# oneDNN's ISA levels, lowest first, as `ONEDNN_MAX_CPU_ISA` names them, with the CPU flags (Linux
# names) each level adds that our choices depend on. A cap hides the flags of every level above it.
_ONEDNN_ISA_LEVELS: tuple[tuple[str, frozenset[str]], ...] = (
    ("SSE41", frozenset()),
    ("AVX", frozenset({"avx"})),
    ("AVX2", frozenset({"avx2", "fma"})),
    ("AVX2_VNNI", frozenset({"avx_vnni"})),
    ("AVX2_VNNI_2", frozenset()),
    ("AVX512_CORE", frozenset({"avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"})),
    ("AVX512_CORE_VNNI", frozenset({"avx512_vnni"})),
    ("AVX512_CORE_BF16", frozenset({"avx512_bf16"})),
    ("AVX10_1_512", frozenset({"avx512_fp16"})),
    ("AVX10_1_512_AMX", frozenset({"amx_tile", "amx_int8", "amx_bf16"})),
    ("AVX10_1_512_AMX_FP16", frozenset({"amx_fp16"})),
)
_ONEDNN_ISA_ALIASES = {"AVX512_CORE_FP16": "AVX10_1_512", "AVX512_CORE_AMX": "AVX10_1_512_AMX",
                       "AVX512_CORE_AMX_FP16": "AVX10_1_512_AMX_FP16"}


def onednn_isa_cap() -> str | None:
    """The ISA oneDNN is capped at by `ONEDNN_MAX_CPU_ISA` (or its old name `DNNL_MAX_CPU_ISA`), or
    None when it may use all the CPU has."""
    value = (os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA") or "").strip().upper()
    value = _ONEDNN_ISA_ALIASES.get(value, value)
    return value if value in dict(_ONEDNN_ISA_LEVELS) else None


def is_x86_64() -> bool:
    """Whether this process runs as x86-64 (under qemu: the emulated architecture, not the host's)."""
    return platform.machine().lower() in ("x86_64", "amd64")


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags as Linux names them (`avx512_vnni`, `amx_bf16`, …), less those that
    oneDNN is capped below (`ONEDNN_MAX_CPU_ISA=AVX2` hides VNNI, AVX-512 and AMX): the kernels our
    choices rely on run in oneDNN, and a capped oneDNN runs the rest through slow reference loops.
    Empty off x86-64 and where /proc/cpuinfo is missing."""
    if not is_x86_64():
        return frozenset()  # the flags named here are x86's (and under qemu /proc/cpuinfo is the host's)
    try:
        flags = frozenset(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return frozenset()
    cap = onednn_isa_cap()
    if cap is None:
        return flags
    names = [name for name, _ in _ONEDNN_ISA_LEVELS]
    hidden = frozenset().union(*(added for _, added in _ONEDNN_ISA_LEVELS[names.index(cap) + 1:]))
    return flags - hidden


@functools.cache
def cpu_has_vnni() -> bool:
    """AVX512-VNNI, AVX-VNNI or AMX (as oneDNN is capped): u8×s8 dot products accumulated in int32."""
    return bool(cpu_flags() & {"avx512_vnni", "avx_vnni", "amx_int8"})


def int8_available() -> bool:
    """oneDNN's int8 convolution on an x86-64 CPU with AVX2 or better (VNNI or not; see
    `model.int8.operand_levels`)."""
    return (torch.backends.mkldnn.is_available() and "avx2" in cpu_flags()
            and hasattr(torch.ops.onednn, "qconv1d_pointwise"))


def cpu_class() -> str:
    """The CPU class our run-time choices distinguish (as capped): `amx`, `avx512-vnni`, `avx512`,
    `avx2-vnni`, `avx2`, `arm` or `other` (docs/PERFORMANCE.md has figures per class)."""
    flags = cpu_flags()
    if platform.machine().lower() in ("aarch64", "arm64"):
        return "arm"
    for name, needs in (("amx", "amx_bf16"), ("avx512-vnni", "avx512_vnni"), ("avx512", "avx512f"),
                        ("avx2-vnni", "avx_vnni"), ("avx2", "avx2")):
        if needs in flags:
            return name
    return "other"


def kernels_in_use(model: torch.nn.Module) -> dict[str, str]:
    """What runs a loaded model's arithmetic, as labels for a server's status: the CPU class (as
    capped), oneDNN's cap, ATen's vector ISA, the decoder's compute dtype, how many generator
    convolutions are oneDNN int8 ones and the generator's layout (its `channels_last` flag: read as
    an attribute, so this module stays below `model/`, which asks it for CPU features)."""
    compute = getattr(model, "compute_dtype", torch.float32)
    device = next(model.parameters()).device
    on_cpu = device.type == "cpu"
    return {
        "device": str(device), "cpu_class": cpu_class() if on_cpu else "",
        "onednn_isa_cap": (onednn_isa_cap() or "") if on_cpu else "",
        "aten_isa": torch.backends.cpu.get_cpu_capability() if on_cpu else "",
        "decoder_dtype": dtype_name(compute), "int8_convolutions": str(getattr(model, "int8_convs", 0)),
        "layout": "channels-last" if any(getattr(m, "channels_last", False) is True for m in model.modules())
        else "pytorch",
    }


# The x86 flags with which oneDNN runs each reduced dtype in hardware rather than by conversion.
_NATIVE_FLAGS = {torch.bfloat16: frozenset({"avx512_bf16", "amx_bf16"}),
                 torch.float16: frozenset({"avx512_fp16", "amx_fp16"})}


def cpu_has_fast(dtype: torch.dtype) -> bool:
    """Whether oneDNN can run `dtype` convolutions natively on this CPU (as capped, `cpu_flags`).

    On x86-64, PyTorch's own check says yes to bf16 on any AVX-512 CPU, where oneDNN then emulates
    bf16 by conversion: slower than fp32 (an Ice Lake or Cascade Lake, AVX512-VNNI without BF16).
    So there the flags decide; elsewhere (aarch64 with BF16) PyTorch's check does."""
    if dtype == torch.float32:
        return True
    if is_x86_64() and dtype in _NATIVE_FLAGS:
        return bool(cpu_flags() & _NATIVE_FLAGS[dtype])
    if dtype == torch.bfloat16:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    if dtype == torch.float16:
        return bool(torch.ops.mkldnn._is_mkldnn_fp16_supported())
    return True


def default_stft(device: torch.device | str) -> str:
    """The NPU cannot run complex tensors, so it gets the convolutional STFT."""
    kind = device.type if isinstance(device, torch.device) else str(device).split(":")[0]
    return "conv" if kind == "npu" else "torch"
