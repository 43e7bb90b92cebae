"""Model configuration in the published `config.json` form (vocab, plbert, istftnet, …)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class KokoroConfig:
    vocab: dict[str, int]
    n_token: int = 178
    hidden_dim: int = 512
    style_dim: int = 128
    n_layer: int = 3
    max_dur: int = 50
    dropout: float = 0.2
    n_mels: int = 80
    text_encoder_kernel_size: int = 5
    plbert: dict[str, Any] = field(default_factory=dict)
    istftnet: dict[str, Any] = field(default_factory=dict)

    @property
    def context_length(self) -> int:
        return int(self.plbert.get("max_position_embeddings", 512))

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> KokoroConfig:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in raw.items() if k in known})


def raw_config(path: str | Path | None = None) -> dict[str, Any]:
    """A Kokoro `config.json` as read; without a path, the v1.0 config shipped in this package."""
    if path is None:
        text = resources.files("kokoro_engine").joinpath("data/config-v1_0.json").read_text("utf-8")
    else:
        text = Path(path).read_text("utf-8")
    return json.loads(text)


def load_config(path: str | Path | None = None) -> KokoroConfig:
    """Read a Kokoro `config.json`; without a path, the v1.0 config shipped in this package."""
    return KokoroConfig.from_dict(raw_config(path))


@lru_cache(maxsize=1)
def phoneme_set() -> frozenset[str]:
    """The characters Kokoro v1.0 has token ids for: what every G2P may hand the model."""
    return frozenset(raw_config()["vocab"])
