"""The reference implementation (`kokoro==0.9.4`) as a test oracle, built offline with random weights."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch

CONFIG_PATH = Path(__file__).resolve().parent.parent / "kokoro_engine" / "data" / "config-v1_0.json"


def reference_model(seed: int = 0, scale_durations: bool = True):
    """A reference KModel with reproducible random weights, never touching the network.

    Random init leaves the duration head near sigmoid(0) = 0.5 per bin, i.e. ~25 frames for every
    phoneme; shifting its bias and scaling its weights spreads durations so the tests see varied, non-trivial alignments.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from kokoro import KModel

    config = json.loads(CONFIG_PATH.read_text("utf-8"))
    empty = Path(tempfile.mkdtemp()) / "empty.pth"
    torch.save({}, empty)  # nothing to load: the random init stays
    torch.manual_seed(seed)
    model = KModel(repo_id="hexgrad/Kokoro-82M", config=config, model=str(empty)).eval()
    if scale_durations:
        with torch.no_grad():
            proj = model.predictor.duration_proj.linear_layer
            proj.bias.copy_(torch.linspace(-8.0, -2.0, proj.bias.numel()))
            proj.weight.mul_(4.0)
    return model


def nested_state_dict(model) -> dict[str, dict[str, torch.Tensor]]:
    """The original `.pth` layout: one state dict per sub-module."""
    return {name: getattr(model, name).state_dict()
            for name in ("bert", "bert_encoder", "predictor", "text_encoder", "decoder")}


def reference_forward(model, input_ids: torch.Tensor, ref_s: torch.Tensor, speed: float, seed: int):
    torch.manual_seed(seed)
    with torch.inference_mode():
        return model.forward_with_tokens(input_ids, ref_s, speed)
