"""Recover Kokoro-82M weights from kokoro-onnx's export (fp32 `kokoro-v1.0.onnx` or int8 `…int8.onnx`).

The export is a graph, not a state dict: many weights are anonymous constants, weight norm is folded
into plain tensors, and the int8 variant stores them quantized. We walk the graph by the node that
*consumes* each weight, because that node's scope name (`/encoder/F0.1/pool/ConvTranspose`) says
which module it belongs to, and its own inputs carry the right zero point: ONNX Runtime shares one
zero-point initializer between many layers, so looking zero points up by name gives wrong weights.
Dequantization is (q − zero_point) × scale with per-channel scales found on the `Mul` that rescales
the integer op's output. The result is our canonical layout (weight-normed convs as g/v pairs).
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from kokoro_engine.config import load_config
from kokoro_engine.io.weights import WeightsError, save_state_dict
from kokoro_engine.model import KokoroModel

_LOGGER = logging.getLogger(__name__)

# Convolutions trained with weight norm upstream (stored as weight_g/weight_v in the canonical layout).
_WEIGHT_NORMED = re.compile(
    r"(^text_encoder\.cnn\.\d+\.0$)|(\.(conv1|conv2|conv1x1|pool)$)|(^decoder\.(F0_conv|N_conv|asr_res\.0)$)"
    r"|(\.(convs1|convs2|ups)\.\d+$)|(\.conv_post$)"
)
# The InstanceNorm affine parameters of AdaIN are not in the export (they are identity at inference).
_INSTANCE_NORM = re.compile(r"\.norm\.(weight|bias)$")


def is_weight_normed(module: str) -> bool:
    return bool(_WEIGHT_NORMED.search(module))


def canonical_layout() -> dict[str, tuple[int, ...]]:
    """Every canonical key and its shape, derived from our model and the weight-norm rule."""
    layout: dict[str, tuple[int, ...]] = {}
    for key, tensor in KokoroModel(load_config()).state_dict().items():
        module, _, attr = key.rpartition(".")
        if attr == "weight" and is_weight_normed(module):
            layout[f"{module}.weight_g"] = (tensor.shape[0],) + (1,) * (tensor.dim() - 1)
            layout[f"{module}.weight_v"] = tuple(tensor.shape)
        else:
            layout[key] = tuple(tensor.shape)
    return layout


class _Graph:
    def __init__(self, path: Path):
        import onnx
        from onnx import numpy_helper

        try:
            model = onnx.load(str(path))
        except Exception as exc:  # protobuf raises DecodeError and friends
            raise WeightsError(f"cannot read ONNX model {path}: {exc}") from exc
        self.nodes = list(model.graph.node)
        if not self.nodes:
            raise WeightsError(f"{path} holds no graph")
        self.inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
        self.producer = {out: n for n in self.nodes for out in n.output}
        self.consumers: dict[str, list[Any]] = defaultdict(list)
        for node in self.nodes:
            for name in node.input:
                self.consumers[name].append(node)

    def init(self, name: str) -> np.ndarray | None:
        return self.inits.get(name) if name else None

    def weight_scale(self, node: Any) -> np.ndarray:
        """The per-channel weight scale of an integer op: on the Mul that rescales its output,
        whose other operand is (activation scale × weight scale)."""
        frontier, seen = list(node.output), set()
        for _ in range(4):
            next_frontier = []
            for out in frontier:
                for user in self.consumers[out]:
                    if user.name in seen:
                        continue
                    seen.add(user.name)
                    if user.op_type == "Mul":
                        for other in user.input:
                            if other == out:
                                continue
                            source = self.producer.get(other)
                            if source is not None and source.op_type == "Mul":
                                for candidate in source.input:
                                    value = self.init(candidate)
                                    if value is not None and value.dtype == np.float32:
                                        return value
                    next_frontier += list(user.output)
            frontier = next_frontier
        raise WeightsError(f"no weight scale found for {node.name}")


def _dequantize(q: np.ndarray, zero_point: np.ndarray | None, scale: np.ndarray, axis: int) -> np.ndarray:
    shape = [1] * q.ndim
    shape[axis] = -1
    zp = np.zeros(1) if zero_point is None else zero_point.astype(np.float64)
    zp = zp.reshape(shape) if zp.size > 1 else zp.reshape(())
    sc = scale.astype(np.float64)
    sc = sc.reshape(shape) if sc.size > 1 else sc.reshape(())
    return ((q.astype(np.float64) - zp) * sc).astype(np.float32)


def _scope(node_name: str) -> list[str]:
    """`/encoder/bert/…/query_3/MatMul_quant` → ['encoder', 'bert', …, 'query'] (repeat suffix dropped)."""
    pieces = [p for p in node_name.split("/") if p][:-1]
    return [re.sub(r"_\d+$", "", p) for p in pieces]


def _resolve(scope: list[str], modules: list[str]) -> list[str]:
    """Modules whose dotted name ends with the scope's last piece, best matches of earlier pieces first."""
    if not scope:
        return []
    last = scope[-1]
    best, best_score = [], -1
    for module in modules:
        if module != last and not module.endswith("." + last):
            continue
        head, score = module[: len(module) - len(last)].rstrip("."), 1
        for piece in reversed(scope[:-1]):
            if head == piece or head.endswith("." + piece):
                head, score = head[: len(head) - len(piece)].rstrip("."), score + 1
        if score > best_score:
            best, best_score = [module], score
        elif score == best_score:
            best.append(module)
    return best


# ONNX LSTM gate blocks are (input, output, forget, cell); torch's are (input, forget, cell, output).
_GATES_ONNX_TO_TORCH = (0, 2, 3, 1)


def _lstm_gates(w: np.ndarray) -> np.ndarray:
    blocks = np.split(w, 4, axis=0)
    return np.concatenate([blocks[i] for i in _GATES_ONNX_TO_TORCH], axis=0)


def import_onnx(onnx_path: str | Path, output_path: str | Path, dtype: torch.dtype = torch.float32) -> dict:
    """Convert kokoro-onnx's export into our canonical safetensors; returns a summary."""
    onnx_path = Path(onnx_path)
    if not onnx_path.is_file():
        raise WeightsError(f"ONNX model not found: {onnx_path}")
    graph = _Graph(onnx_path)
    layout = canonical_layout()
    modules = sorted({k.rpartition(".")[0] for k in layout})
    found: dict[str, np.ndarray] = {}
    how: dict[str, str] = {}

    def put(key: str, value: np.ndarray, source: str) -> None:
        value = np.asarray(value, dtype=np.float32)
        expected = layout.get(key)
        if expected is None or tuple(value.shape) != expected:
            raise WeightsError(f"{source}: {key} has shape {tuple(value.shape)}, expected {expected}")
        found.setdefault(key, value)
        how.setdefault(key, source)

    def put_weight(module: str, weight: np.ndarray, source: str) -> None:
        if f"{module}.weight_v" in layout:
            # The export folded weight norm into the weight: keep v = w and g = ‖w‖, which re-folds
            # to exactly w (and to zero, not NaN, for a channel quantized entirely to zero).
            norm = np.sqrt((weight.astype(np.float64) ** 2).reshape(weight.shape[0], -1).sum(axis=1))
            put(f"{module}.weight_v", weight, source)
            put(f"{module}.weight_g", norm.reshape(layout[f"{module}.weight_g"]), source)
        else:
            put(f"{module}.weight", weight, source)

    def module_for(node: Any, want: tuple[int, ...] | None, attr: str = "weight") -> str | None:
        candidates = _resolve(_scope(node.name), modules)
        if not candidates:
            # Fixed machinery of the export (its iSTFT bases, shape helpers) belongs to no module;
            # anything a module really needs is caught by the final missing-tensor check.
            _LOGGER.debug("skipping %s: no module of ours", node.name)
            return None
        if want is not None:
            def fits(m: str) -> bool:
                shape = layout.get(f"{m}.{attr}") or layout.get(f"{m}.{attr}_v")
                return shape == want
            candidates = [m for m in candidates if fits(m)]
        if len(candidates) != 1:
            raise WeightsError(f"cannot place the weight of node {node.name}: candidates {candidates}")
        return candidates[0]

    # 1. Tensors the export kept under their module names (biases, norms, Snake alphas, embeddings).
    for name, value in graph.inits.items():
        if value.dtype != np.float32:
            continue
        key = name[len("encoder."):] if name.startswith("encoder.") else (
            "decoder." + name[len("decoder.decoder."):] if name.startswith("decoder.decoder.") else None)
        if key in layout and tuple(value.shape) == layout[key]:
            put(key, value, "name")

    # 2. Everything else, placed by the node that consumes it.
    for node in graph.nodes:
        op = node.op_type
        if op in ("MatMulInteger", "ConvInteger"):
            q = graph.init(node.input[1])
            if q is None:
                continue
            zero_point = graph.init(node.input[3]) if len(node.input) > 3 else None
            scale = graph.weight_scale(node)
            if op == "MatMulInteger":  # [in, out], per-output-channel scale
                weight = _dequantize(q, zero_point, scale, axis=1).T
            else:  # [out, in, k]
                weight = _dequantize(q, zero_point, scale, axis=0)
            module = module_for(node, tuple(weight.shape))
            if module:
                put_weight(module, weight, op)
        elif op in ("Conv", "ConvTranspose", "MatMul"):
            float_weight = graph.init(node.input[1])
            if float_weight is None or float_weight.dtype != np.float32:
                continue
            weight = float_weight.T if op == "MatMul" else float_weight
            module = module_for(node, tuple(weight.shape))
            if module is None:
                continue
            put_weight(module, weight, op)
            bias = graph.init(node.input[2]) if len(node.input) > 2 else None
            if bias is not None:
                put(f"{module}.bias", bias, op)
        elif op == "Gather":
            q = graph.init(node.input[0])
            if q is None or q.ndim != 2:
                continue
            if q.dtype == np.float32:
                weight = q
            else:
                dq = next((u for u in graph.consumers[node.output[0]] if u.op_type == "DequantizeLinear"), None)
                if dq is None:
                    continue
                dq_scale = graph.init(dq.input[1])
                if dq_scale is None:
                    raise WeightsError(f"{dq.name}: DequantizeLinear scale is not a constant")
                weight = _dequantize(q, graph.init(dq.input[2]), dq_scale, axis=0)
            module = module_for(node, tuple(weight.shape))
            if module:
                put(f"{module}.weight", weight, op)
        elif op in ("DynamicQuantizeLSTM", "LSTM"):
            module = module_for(node, None, "weight_ih_l0")
            if module:
                _import_lstm(graph, node, module, put)

    # 3. Identity InstanceNorm affine parameters, absent from the export.
    for key, shape in layout.items():
        if key not in found and _INSTANCE_NORM.search(key):
            found[key] = (np.ones if key.endswith("weight") else np.zeros)(shape, dtype=np.float32)
            how[key] = "identity"

    missing = sorted(set(layout) - set(found))
    if missing:
        raise WeightsError(f"{onnx_path}: could not recover {len(missing)} tensor(s): {', '.join(missing[:8])}")
    bad = [k for k, v in found.items() if not np.isfinite(v).all()]
    if bad:
        raise WeightsError(f"{onnx_path}: non-finite values in {', '.join(bad[:8])}")
    save_state_dict({k: torch.from_numpy(np.array(v)) for k, v in found.items()}, output_path, dtype=dtype)
    summary: dict[str, int] = defaultdict(int)
    for source in how.values():
        summary[source] += 1
    summary["total"] = len(found)
    return dict(summary)


def _import_lstm(graph: _Graph, node: Any, module: str, put: Any) -> None:
    """ONNX LSTM: W [dirs, in, 4H] (quantized: per-direction scale/zero point), R [dirs, H, 4H], B [dirs, 8H]."""
    quantized = node.op_type == "DynamicQuantizeLSTM"

    def matrix(index: int, scale_index: int) -> np.ndarray:
        value = graph.init(node.input[index])
        if value is None:
            raise WeightsError(f"{node.name}: LSTM input {index} is not a constant")
        if quantized:
            scale = graph.init(node.input[scale_index])
            if scale is None:
                raise WeightsError(f"{node.name}: LSTM input {scale_index} (weight scale) is not a constant")
            zero = graph.init(node.input[scale_index + 1])
            value = np.stack([_dequantize(value[d], zero[d] if zero is not None else None, scale[d:d + 1], 0)
                              for d in range(value.shape[0])])
            return value.transpose(0, 2, 1)  # quantized layout is [dirs, in, 4H]
        return value  # plain ONNX LSTM: [dirs, 4H, in]

    w = matrix(1, 8)
    r = matrix(2, 10)
    b = graph.init(node.input[3]) if len(node.input) > 3 else None
    if b is None:
        raise WeightsError(f"{node.name}: LSTM bias (input 3) is missing or not a constant")
    for d, suffix in enumerate(("", "_reverse")):
        hidden4 = w.shape[1]
        put(f"{module}.weight_ih_l0{suffix}", _lstm_gates(w[d]), node.op_type)
        put(f"{module}.weight_hh_l0{suffix}", _lstm_gates(r[d]), node.op_type)
        put(f"{module}.bias_ih_l0{suffix}", _lstm_gates(b[d, :hidden4]), node.op_type)
        put(f"{module}.bias_hh_l0{suffix}", _lstm_gates(b[d, hidden4:]), node.op_type)
