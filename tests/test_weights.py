"""Weight files: every supported layout gives the same state dict; broken files fail loudly."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from kokoro_engine.io.weights import (
    WeightsError,
    fold_weight_norm,
    load_model,
    read_state_dict,
    save_state_dict,
)
from tests.oracle import nested_state_dict, reference_model


@pytest.fixture(scope="module")
def reference_files(tmp_path_factory):
    ref = reference_model(seed=1, scale_durations=False)
    folder = tmp_path_factory.mktemp("weights")
    nested = nested_state_dict(ref)
    paths = {"pth": folder / "nested.pth", "module_pth": folder / "module.pth", "flat_pth": folder / "flat.pth"}
    torch.save(nested, paths["pth"])
    # DataParallel-trained checkpoints carry a `module.` prefix on every key.
    torch.save({name: {f"module.{k}": v for k, v in sd.items()} for name, sd in nested.items()},
               paths["module_pth"])
    flat = {f"{name}.{k}": v for name, sd in nested.items() for k, v in sd.items()}
    torch.save(flat, paths["flat_pth"])
    paths["fp32"] = folder / "fp32.safetensors"
    save_state_dict(flat, paths["fp32"])
    paths["bf16"] = folder / "bf16.safetensors"
    save_state_dict(flat, paths["bf16"], dtype=torch.bfloat16)
    return flat, paths


def test_all_layouts_give_identical_state_dicts(reference_files):
    flat, paths = reference_files
    for kind in ("pth", "module_pth", "flat_pth", "fp32"):
        sd = read_state_dict(paths[kind])
        assert sd.keys() == flat.keys(), kind
        for key, value in flat.items():
            assert torch.equal(sd[key], value), (kind, key)


def test_bf16_file_matches_up_to_bf16_rounding(reference_files):
    flat, paths = reference_files
    sd = read_state_dict(paths["bf16"])
    assert sd.keys() == flat.keys()
    for key, value in flat.items():
        assert sd[key].dtype == torch.bfloat16
        assert torch.equal(sd[key], value.to(torch.bfloat16)), key


def test_loaded_models_are_identical(reference_files):
    _, paths = reference_files
    a = load_model(paths["pth"]).state_dict()
    b = load_model(paths["fp32"]).state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)


def _write_variant(flat, path, change):
    variant = dict(flat)
    change(variant)
    save_state_dict(variant, path)
    return path


def test_missing_tensor_is_named(reference_files, tmp_path):
    flat, _ = reference_files
    path = _write_variant(flat, tmp_path / "m.safetensors", lambda sd: sd.pop("decoder.generator.conv_post.bias"))
    with pytest.raises(WeightsError, match=r"missing .*decoder\.generator\.conv_post\.bias"):
        load_model(path)


def test_unexpected_tensor_is_named(reference_files, tmp_path):
    flat, _ = reference_files
    path = _write_variant(flat, tmp_path / "u.safetensors", lambda sd: sd.update({"decoder.extra.weight": torch.ones(2)}))
    with pytest.raises(WeightsError, match=r"unexpected .*decoder\.extra\.weight"):
        load_model(path)


def test_wrong_shape_is_named(reference_files, tmp_path):
    flat, _ = reference_files

    def shrink(sd):
        sd["bert_encoder.weight"] = torch.zeros(512, 700)

    path = _write_variant(flat, tmp_path / "s.safetensors", shrink)
    with pytest.raises(WeightsError, match=r"bert_encoder\.weight has shape \(512, 700\), expected \(512, 768\)"):
        load_model(path)


def test_truncated_files_give_clear_errors(reference_files, tmp_path):
    _, paths = reference_files
    for kind in ("pth", "fp32"):
        data = paths[kind].read_bytes()
        broken = tmp_path / f"broken{paths[kind].suffix}"
        broken.write_bytes(data[: len(data) // 3])
        with pytest.raises(WeightsError, match="cannot read weights"):
            read_state_dict(broken)
    with pytest.raises(WeightsError, match="not found"):
        read_state_dict(tmp_path / "nope.pth")


@pytest.mark.parametrize("make", [
    lambda: nn.Conv1d(6, 4, 3),
    lambda: nn.ConvTranspose1d(6, 4, 5, stride=2),
    lambda: nn.ConvTranspose1d(6, 6, 3, stride=2, groups=6),
])
def test_weight_norm_folding_matches_torch(make):
    torch.manual_seed(0)
    module = nn.utils.weight_norm(make())
    with torch.no_grad():
        module.weight_g.mul_(torch.rand_like(module.weight_g) + 0.5)
    sd = {f"m.{k}": v for k, v in module.state_dict().items()}
    folded = fold_weight_norm(sd)
    assert "m.weight_g" not in folded and "m.weight_v" not in folded
    module(torch.randn(1, 6, 8))  # the hook recomputes .weight from g and v
    assert torch.allclose(folded["m.weight"], module.weight, atol=1e-6)


def test_all_zero_channel_stays_zero():
    v = torch.randn(3, 2, 4)
    v[1] = 0  # an output channel quantized entirely to zero
    g = torch.ones(3, 1, 1)
    w = fold_weight_norm({"c.weight_v": v, "c.weight_g": g})["c.weight"]
    assert torch.isfinite(w).all() and torch.equal(w[1], torch.zeros(2, 4))
