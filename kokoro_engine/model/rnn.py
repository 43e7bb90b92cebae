"""LSTM calls that stay in fp32 under autocast.

oneDNN has no bf16 LSTM primitive for these shapes on CPU, and the LSTMs are a few percent of the
compute, so they always run in full precision whatever the rest of the model does.
"""

from __future__ import annotations

import torch
from torch import nn


def run_lstm(lstm: nn.LSTM, x: torch.Tensor) -> torch.Tensor:
    with torch.autocast(x.device.type, enabled=False):
        out, _ = lstm(x.float())
    return out
