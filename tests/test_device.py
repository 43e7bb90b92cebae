"""Device and dtype choices fail clearly instead of silently doing something slow or wrong."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from kokoro_engine.device import cpu_has_fast, default_stft, resolve_device, resolve_dtype


def test_auto_picks_an_available_device():
    device = resolve_device("auto")
    if torch.cuda.is_available():
        assert device.type == "cuda"
    elif importlib.util.find_spec("torch_npu") is None:
        assert device.type == ("mps" if torch.backends.mps.is_available() else "cpu")
    # resolve_device names what it picked as the explicit choice, which must then work too
    assert resolve_device(device.type) == device


def test_unknown_device_lists_choices():
    with pytest.raises(ValueError, match="unknown device 'tpu'.*cpu.*cuda.*npu"):
        resolve_device("tpu")


@pytest.mark.skipif(importlib.util.find_spec("torch_npu") is not None, reason="torch_npu is installed")
def test_npu_without_torch_npu_says_what_to_install():
    with pytest.raises(ValueError, match="torch_npu is not installed"):
        resolve_device("npu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")
def test_cuda_without_gpu_is_an_error():
    with pytest.raises(ValueError, match="no usable CUDA"):
        resolve_device("cuda")


def test_dtypes():
    cpu = torch.device("cpu")
    fast_bf16 = cpu_has_fast(torch.bfloat16)
    # auto: bf16 exactly where oneDNN has native bf16 kernels, fp32 elsewhere
    assert resolve_dtype(None, cpu) is (torch.bfloat16 if fast_bf16 else torch.float32)
    assert resolve_dtype("auto", cpu) is resolve_dtype(None, cpu)
    assert resolve_dtype("fp32", cpu) is torch.float32
    assert resolve_dtype("float32", cpu) is torch.float32
    with pytest.raises(ValueError, match="unknown dtype"):
        resolve_dtype("int4", cpu)
    if cpu_has_fast(torch.bfloat16):
        assert resolve_dtype("bf16", cpu) is torch.bfloat16
    else:
        with pytest.raises(ValueError, match="no fast kernels"):
            resolve_dtype("bf16", cpu)


def test_npu_gets_the_complex_free_stft():
    assert default_stft("npu") == "conv"  # torch.device("npu") needs torch_npu loaded
    assert default_stft(torch.device("cpu")) == "torch"


def test_quantize_choices():
    from kokoro_engine.device import int8_available, resolve_quantize

    cpu = torch.device("cpu")
    assert resolve_quantize("none", cpu) is False
    # auto: int8 exactly where oneDNN's int8 convolution can run (x86-64, AVX2 or better), never off the CPU
    assert resolve_quantize(None, cpu) is int8_available()
    assert resolve_quantize("auto", torch.device("meta")) is False
    with pytest.raises(ValueError, match="unknown quantization"):
        resolve_quantize("int4", cpu)
    with pytest.raises(ValueError, match="int8 needs the CPU"):
        resolve_quantize("int8", torch.device("meta"))
    if int8_available():
        assert resolve_quantize("int8", cpu) is True


def test_auto_quantize_keeps_a_bf16_decoder_in_bf16_on_amx(monkeypatch):
    # With AMX tiles oneDNN's bf16 convolution runs at the int8 rate, so int8's quantization passes
    # would cost time and quality for nothing; without AMX, int8 is the faster path on VNNI CPUs.
    import kokoro_engine.device as device

    cpu = torch.device("cpu")
    monkeypatch.setattr(device, "int8_available", lambda: True)
    monkeypatch.setattr(device, "cpu_flags", lambda: frozenset({"avx512_vnni", "avx512_bf16"}))
    assert device.resolve_quantize(None, cpu, torch.bfloat16) is True
    monkeypatch.setattr(device, "cpu_flags", lambda: frozenset({"avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8"}))
    assert device.resolve_quantize(None, cpu, torch.bfloat16) is False
    assert device.resolve_quantize("auto", cpu, torch.float32) is True  # no tiles for fp32: int8 still pays
    assert device.resolve_quantize("int8", cpu, torch.bfloat16) is True  # asked for: given


def test_a_onednn_cap_hides_the_flags_above_it(monkeypatch):
    # Our choices must follow what a capped oneDNN can run, not what /proc/cpuinfo lists.
    import kokoro_engine.device as device

    real = device.cpu_flags
    monkeypatch.setattr(device.platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(device.Path, "read_text", lambda _self: "fma avx2 avx_vnni avx512f avx512_vnni "
                                                                "avx512_bf16 amx_bf16 amx_int8 amx_tile")
    expected = {None: "amx", "AVX2": "avx2", "AVX2_VNNI": "avx2-vnni", "AVX512_CORE": "avx512",
                "avx512_core_vnni": "avx512-vnni", "AVX512_CORE_AMX": "amx"}
    for cap, cls in expected.items():
        if cap is None:
            monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
        else:
            monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", cap)
        real.cache_clear()
        assert device.cpu_class() == cls, cap
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    real.cache_clear()
    assert "avx2" in real() and not real() & {"avx_vnni", "avx512_vnni", "amx_bf16"}
    real.cache_clear()


def test_bf16_only_where_the_cpu_has_it_in_hardware(monkeypatch):
    # AVX-512 without BF16 (Ice Lake, Cascade Lake) passes PyTorch's bf16 check, but oneDNN then
    # converts in software, slower than fp32: auto must pick fp32 there, and bf16 asked for is refused.
    import kokoro_engine.device as device

    cpu = torch.device("cpu")
    monkeypatch.setattr(device, "is_x86_64", lambda: True)
    monkeypatch.setattr(device, "cpu_flags", lambda: frozenset({"avx2", "avx512f", "avx512_vnni"}))
    assert device.resolve_dtype(None, cpu) is torch.float32
    with pytest.raises(ValueError, match="no fast kernels"):
        device.resolve_dtype("bf16", cpu)
    for native in ("avx512_bf16", "amx_bf16"):
        monkeypatch.setattr(device, "cpu_flags", lambda native=native: frozenset({"avx512f", native}))
        assert device.resolve_dtype(None, cpu) is torch.bfloat16


def test_no_x86_flags_off_x86(monkeypatch):
    # Under qemu an aarch64 process reads the x86 host's /proc/cpuinfo: no int8 or AMX path from it.
    import kokoro_engine.device as device
    from kokoro_engine.device import int8_available

    monkeypatch.setattr(device.platform, "machine", lambda: "aarch64")
    device.cpu_flags.cache_clear()
    try:
        assert device.cpu_flags() == frozenset() and device.cpu_class() == "arm"
        assert not int8_available()
        assert device.resolve_quantize(None, torch.device("cpu"), torch.float32) is False
    finally:
        device.cpu_flags.cache_clear()
