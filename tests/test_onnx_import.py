"""Importing kokoro-onnx's int8 export: every tensor recovered, placed and dequantized correctly."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import helper

from kokoro_engine.io.assets import IMPORTED_NAME
from kokoro_engine.io.onnx_import import canonical_layout, import_onnx
from kokoro_engine.io.weights import IGNORED_PREFIXES, WeightsError, load_model, read_state_dict
from tests.oracle import reference_model
from tests.realweights import onnx_path, real_model_path


def test_layout_matches_the_reference_state_dict():
    # Our weight-norm rule must name exactly the reference's weight_g/weight_v pairs.
    ref_keys = {k for k in reference_model(0, scale_durations=False).state_dict()
                if not k.startswith(IGNORED_PREFIXES)}
    assert set(canonical_layout()) == ref_keys


def test_every_tensor_recovered_finite_and_loadable():
    state = read_state_dict(real_model_path())
    layout = canonical_layout()
    assert set(state) == set(layout)
    for key, tensor in state.items():
        assert tuple(tensor.shape) == layout[key], key
        assert torch.isfinite(tensor).all(), key
    # Identity-filled InstanceNorm affine params aside, real weights are not all zero or constant.
    convs = [k for k in state if k.endswith("weight_v")]
    assert all(state[k].std() > 0 for k in convs)
    load_model(real_model_path())  # the strict loader accepts it


def _lstm_node_model(node: onnx.NodeProto, graph: onnx.GraphProto) -> tuple[onnx.ModelProto, int]:
    """A one-node ONNX model holding the export's quantized LSTM with its own constants."""
    inits = {i.name: i for i in graph.initializer}
    used = [inits[n] for n in node.input if n in inits]
    w = next(i for i in used if i.name == node.input[1])
    in_size = w.dims[1]
    x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["T", 1, in_size])
    y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)
    # Initial states are computed zeros in the export; an empty optional input means the same.
    inputs = ["x", *(n if n in inits else "" for n in node.input[1:])]
    lstm = helper.make_node(node.op_type, inputs, ["y"], domain=node.domain, **{
        a.name: helper.get_attribute_value(a) for a in node.attribute})
    model = helper.make_model(helper.make_graph([lstm], "lstm", [x], [y], initializer=used),
                              opset_imports=list(onnx.load(str(onnx_path())).opset_import))
    return model, in_size


def test_quantized_lstm_gates_and_scales_match_onnx_runtime():
    import onnxruntime as ort

    graph = onnx.load(str(onnx_path())).graph
    node = next(n for n in graph.node if n.op_type == "DynamicQuantizeLSTM" and "/predictor/lstm/" in n.name)
    model, in_size = _lstm_node_model(node, graph)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((17, 1, in_size)).astype(np.float32)
    y = session.run(None, {"x": x})[0]  # [T, dirs, 1, H]
    ours = load_model(real_model_path()).predictor.lstm
    with torch.inference_mode():
        out, _ = ours(torch.from_numpy(x[:, 0])[None])  # [1, T, 2H]
    expected = np.concatenate([y[:, 0, 0], y[:, 1, 0]], axis=-1)
    # ONNX Runtime also quantizes the activations, so agreement is close, not exact; a wrong gate
    # order or zero point gives errors of the order of the outputs themselves.
    error = out[0].numpy() - expected
    relative = np.sqrt((error**2).mean() / (expected**2).mean())
    assert relative < 0.05, relative
    assert np.abs(expected).max() > 0.1


def test_garbage_and_truncated_files_are_clear_errors(tmp_path):
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"this is not a protobuf" * 100)
    with pytest.raises(WeightsError):
        import_onnx(garbage, tmp_path / "out.safetensors")
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(onnx_path().read_bytes()[: 5_000_000])
    with pytest.raises(WeightsError):
        import_onnx(truncated, tmp_path / "out.safetensors")
    with pytest.raises(WeightsError, match="not found"):
        import_onnx(tmp_path / "missing.onnx", tmp_path / "out.safetensors")
    assert not (tmp_path / "out.safetensors").exists()


def test_two_processes_import_into_one_folder_at_once(tmp_path):
    # Replicas sharing one /data volume start together: each must write its own temporary file and
    # rename it into place (a name by process id would be "1" in every container; a fixed name is
    # shared outright). Real processes, the real import of the pip-shipped weights, released together.
    root = Path(__file__).resolve().parent.parent
    folder, go = tmp_path / "data", tmp_path / "go"
    script = ("import pathlib, sys, time\n"
              "from kokoro_engine.io.assets import ensure_pip_model\n"
              "while not pathlib.Path(sys.argv[2]).exists(): time.sleep(0.01)\n"
              "print(ensure_pip_model(sys.argv[1], onnx_cache=pathlib.Path(sys.argv[1])))\n")
    env = {**os.environ, "PYTHONPATH": str(root)}
    # As in containers, each process is PID 1 of its own namespace where unshare(1) allows it.
    prefix = ["unshare", "--pid", "--fork", "--kill-child"] if shutil.which("unshare") else []
    if prefix and os.geteuid() != 0:
        prefix[1:1] = ["--user", "--map-root-user"]
    if prefix and subprocess.run([*prefix, "true"], capture_output=True).returncode != 0:
        prefix = []
    procs = [subprocess.Popen([*prefix, sys.executable, "-c", script, str(folder), str(go)], env=env, cwd=root,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    time.sleep(2.0)  # both have imported torch and wait at the gate
    go.touch()
    results = [p.communicate(timeout=600) for p in procs]
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err[-2000:]
        assert out.strip() == str(folder / IMPORTED_NAME)
    assert sorted(p.name for p in folder.iterdir()) == sorted([IMPORTED_NAME, "kokoro-v1.0.int8.onnx"])
    imported, reference = read_state_dict(folder / IMPORTED_NAME), read_state_dict(real_model_path())
    assert set(imported) == set(reference)
    assert all(torch.equal(imported[k], reference[k]) for k in reference)
